// Runs the Pulumi program under Pulumi's mocks and records what it registers, including the resource
// options the engine would receive (import id, protect, ignoreChanges) and the raw serialized inputs
// (so a secret is checked the way the engine sees it: wrapped in Pulumi's secret envelope).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { FunctionName } from "../../handlers/contract";
import { childName } from "../../stacks/naming";

export const PROJECT = "people-register";
export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";
/** Pulumi's wire marker for a secret value. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export const GOOD_SECRETS = {
  jwtSecret: "test-jwt-secret-0123456789abcdefghijklmnopqrstuv",
  csrfSecret: "test-csrf-secret-0123456789abcdefghijklmnopqrstu",
};

export interface Registered {
  type: string;
  name: string;
  /** Inputs as the mock provider saw them (secrets unwrapped). */
  inputs: Record<string, any>;
  /** Inputs as serialized for the engine (secrets still wrapped). */
  wire: Record<string, any>;
  importId: string;
  protect: boolean;
  retainOnDelete: boolean;
  /** Old logical names this resource answers to (alias specs by name, or alias URNs). */
  aliases: string[];
  ignoreChanges: string[];
  parentType: string;
  custom: boolean;
  /** Provider reference (`<urn>::<id>`); empty for the default provider. */
  provider: string;
}

export interface RunResult {
  resources: Registered[];
  outputs: Record<string, unknown>;
  secretOutputs: string[];
  logs: { warn: string[]; info: string[] };
}

export interface RunOptions {
  /** Config values without the namespace; `aws:` keys are passed as is. */
  config?: Record<string, string>;
  /** Keys (without namespace) marked secret. Defaults to jwtSecret and csrfSecret. */
  secretKeys?: string[];
  stack?: string;
  preview?: boolean;
  repoRoot: string;
  /** The CloudWatch role API Gateway's account setting already has (undefined: none set). */
  existingApiGatewayRole?: string;
}

let existingApiGatewayRole: string | undefined;

/** Config every valid run needs. */
export function baseConfig(extra: Record<string, string> = {}): Record<string, string> {
  return { sesFromEmail: "noreply@example.org", ...GOOD_SECRETS, ...extra };
}

function computed(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, any> } {
  const id = inputs.name ?? `${name}-id`;
  const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
  switch (type) {
    case "aws:dynamodb/table:Table":
      return { id, state: { ...inputs, arn: arn("dynamodb", `table/${inputs.name}`) } };
    case "aws:lambda/function:Function": {
      const fnArn = arn("lambda", `function:${inputs.name}`);
      // publish: true -> the engine reports the version it published.
      return { id, state: { ...inputs, arn: fnArn, invokeArn: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${fnArn}/invocations`, ...(inputs.publish ? { version: "1" } : {}) } };
    }
    case "aws:lambda/alias:Alias":
      return { id: `${inputs.functionName}:${inputs.name}`, state: { ...inputs, arn: arn("lambda", `function:${inputs.functionName}:${inputs.name}`) } };
    case "aws:iam/role:Role":
      return { id: `${name}-id`, state: { ...inputs, name: `${name}-id`, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` } };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { id, state: { ...inputs, arn: arn("logs", `log-group:${inputs.name}`) } };
    case "aws:apigateway/restApi:RestApi":
      return { id: "a1b2c3d4e5", state: { ...inputs, executionArn: arn("execute-api", "a1b2c3d4e5"), rootResourceId: "root" } };
    case "aws:apigateway/stage:Stage":
      return { id: `${name}-id`, state: { ...inputs, invokeUrl: `https://a1b2c3d4e5.execute-api.${REGION}.amazonaws.com/${inputs.stageName}` } };
    case "aws:s3/bucket:Bucket":
      return { id: "frontend-bucket-123", state: { ...inputs, bucket: "frontend-bucket-123", arn: "arn:aws:s3:::frontend-bucket-123", bucketRegionalDomainName: `frontend-bucket-123.s3.${REGION}.amazonaws.com` } };
    case "aws:cloudfront/distribution:Distribution":
      return { id: "E2EXAMPLE", state: { ...inputs, arn: `arn:aws:cloudfront::${ACCOUNT}:distribution/E2EXAMPLE`, domainName: "d1example.cloudfront.net", hostedZoneId: "Z2FDTNDATAQYW2" } };
    case "aws:apigateway/account:Account":
      // Account.get reads the account-wide setting; a registered Account sets it.
      return { id: "api-gateway-account", state: { ...inputs, cloudwatchRoleArn: inputs.cloudwatchRoleArn ?? existingApiGatewayRole } };
    case "aws:acm/certificate:Certificate":
      return {
        id: `${name}-id`,
        state: {
          ...inputs,
          arn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000`,
          domainValidationOptions: [{ domainName: inputs.domainName, resourceRecordName: `_x.${inputs.domainName}.`, resourceRecordType: "CNAME", resourceRecordValue: "_y.acm-validations.aws." }],
        },
      };
    case "aws:acm/certificateValidation:CertificateValidation":
      return { id: `${name}-id`, state: { ...inputs } };
    case "aws:route53/record:Record":
      return { id: `${name}-id`, state: { ...inputs, fqdn: String(inputs.name).replace(/\.$/, "") } };
    case "aws:apigateway/domainName:DomainName":
      return { id: inputs.domainName, state: { ...inputs, regionalDomainName: `d-abc.execute-api.${REGION}.amazonaws.com`, regionalZoneId: "ZREGIONAL" } };
    case "aws:ssm/parameter:Parameter":
      return { id, state: { ...inputs, arn: arn("ssm", `parameter${inputs.name}`) } };
    case "aws:sns/topic:Topic":
      return { id: `${name}-id`, state: { ...inputs, arn: arn("sns", name) } };
    case "awsx:ecr:Repository":
      return { id: `${name}-id`, state: { ...inputs, url: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${inputs.name}` } };
    case "awsx:ecr:Image":
      return { id: `${name}-id`, state: { ...inputs, imageUri: `${inputs.repositoryUrl}@sha256:${"0".repeat(64)}` } };
    default:
      return { id: `${name}-id`, state: { ...inputs } };
  }
}

const mocks: pulumi.runtime.Mocks = {
  newResource: (args) => computed(args.type, args.name, args.inputs),
  call: (args) => {
    switch (args.token) {
      case "aws:index/getPartition:getPartition":
        return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
      case "aws:index/getRegion:getRegion":
        return { region: REGION, name: REGION, id: REGION };
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: "test", id: ACCOUNT };
      default:
        throw new Error(`unmocked call ${args.token}`);
    }
  },
};

function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));
}

/** Drop the require cache of stacks/** so a program module never keeps state between runs. */
function freshProgram(): typeof import("../../stacks/program") {
  const stacksDir = path.resolve(__dirname, "../../stacks") + path.sep;
  for (const id of Object.keys(require.cache)) if (id.startsWith(stacksDir)) delete require.cache[id];
  return require("../../stacks/program");
}

/** Register the whole program under mocks and wait until every registration has finished. */
export async function runProgram(opts: RunOptions): Promise<RunResult> {
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.config ?? baseConfig())) config[k.includes(":") ? k : `${PROJECT}:${k}`] = v;
  const secretKeys = (opts.secretKeys ?? ["jwtSecret", "csrfSecret"]).map((k) => `${PROJECT}:${k}`);
  pulumi.runtime.setAllConfig(config, secretKeys);
  existingApiGatewayRole = opts.existingApiGatewayRole;
  await pulumi.runtime.setMocks(mocks, PROJECT, opts.stack ?? "test", opts.preview ?? false);

  const resources: Registered[] = [];
  const settings = require("@pulumi/pulumi/runtime/settings");
  const monitor = settings.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: any) => {
    const { deserializeProperties } = require("@pulumi/pulumi/runtime/rpc");
    const wire = req.getObject()?.toJavaScript() ?? {};
    resources.push({
      type: req.getType(),
      name: req.getName(),
      inputs: unwrapSecrets(deserializeProperties(req.getObject())),
      wire,
      importId: req.getImportid(),
      protect: req.getProtect(),
      retainOnDelete: Boolean(req.getRetainondelete()),
      aliases: req.getAliasesList().map((a: any) => a.getSpec()?.getName() || a.getUrn()),
      ignoreChanges: req.getIgnorechangesList(),
      parentType: req.getParent() ? String(req.getParent()).split("::")[2] : "",
      custom: req.getCustom(),
      provider: req.getProvider(),
    });
    return register(req, callback);
  };

  const logs = { warn: [] as string[], info: [] as string[] };
  const { warn, info } = pulumi.log;
  (pulumi.log as any).warn = (msg: string) => { logs.warn.push(msg); return Promise.resolve(); };
  (pulumi.log as any).info = (msg: string) => { logs.info.push(msg); return Promise.resolve(); };
  try {
    const program = freshProgram().peopleRegister({ repoRoot: opts.repoRoot });
    const outputs: Record<string, unknown> = {};
    const secretOutputs: string[] = [];
    for (const [key, output] of Object.entries(program)) {
      outputs[key] = await promiseOf(output as pulumi.Output<unknown>);
      if (await pulumi.isSecret(output as pulumi.Output<unknown>)) secretOutputs.push(key);
    }
    await settings.waitForRPCs();
    return { resources, outputs, secretOutputs, logs };
  } finally {
    (pulumi.log as any).warn = warn;
    (pulumi.log as any).info = info;
  }
}

/** A throwaway repository root: no handlers/ (bundles fall back to the minimal handler), no lambda/. */
export function tempRepo(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "stacks-test-"));
}

export function removeRepo(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Write a synced registry-api app into `<root>/lambda` with a verified manifest. */
export function writeSyncedApp(root: string, sourceCommit = "c0ffee0000000000000000000000000000000000", extraFiles: Record<string, string> = {}): void {
  const lambdaDir = path.join(root, "lambda");
  const files: Record<string, string> = { "main.py": "from src.app import app\n", "src/app.py": "app = object()\n", ...extraFiles };
  const manifest: Record<string, string> = {};
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(lambdaDir, rel)), { recursive: true });
    fs.writeFileSync(path.join(lambdaDir, rel), content);
    manifest[rel] = createHash("sha256").update(content).digest("hex");
  }
  fs.writeFileSync(path.join(lambdaDir, "sync-metadata.json"), JSON.stringify({
    sync_timestamp: "2026-01-01T00:00:00Z", source_repository: "registry-api", source_branch: "main", source_commit: sourceCommit,
    deployment_strategy: "api_sync", coordinated_deployment: false, requirements_source: "requirements.txt", files: manifest,
  }));
}

/** Write a prepared integrated package (what `prepare` produces) with its marker. */
export function writePreparedPackage(root: string, marker: Record<string, unknown>): void {
  const dir = path.join(root, ".build", "integrated");
  fs.mkdirSync(path.join(dir, "mangum"), { recursive: true });
  fs.writeFileSync(path.join(dir, "integrated_api_handler.py"), "def handler(event, context):\n    pass\n");
  fs.writeFileSync(path.join(dir, "main.py"), "from src.app import app\n");
  fs.writeFileSync(path.join(dir, "mangum", "__init__.py"), "");
  fs.writeFileSync(path.join(dir, ".prepared.json"), JSON.stringify(marker));
}

export function byType(result: RunResult, type: string): Registered[] {
  return result.resources.filter((r) => r.type === type);
}

export function one(result: RunResult, type: string, name: string): Registered {
  const found = result.resources.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
  return found[0];
}

/** The parsed inline policy of a function's role. */
export function policyOf(result: RunResult, fn: FunctionName): { Statement: Array<{ Sid: string; Action: string[]; Resource: string[]; Condition?: unknown }> } {
  return JSON.parse(one(result, "aws:iam/rolePolicy:RolePolicy", `${childName("api", fn)}-policy`).inputs.policy);
}

/** The plain view of serialized inputs: secret envelopes replaced by their values. */
function unwrapSecrets(value: any): any {
  if (isWireSecret(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** True when `value` is Pulumi's secret envelope. */
export function isWireSecret(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}
