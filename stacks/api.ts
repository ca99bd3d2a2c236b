// RegistryApi: the two functions (api, auth) and the regional REST API generated from the contract.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ENV, FUNCTION_ENV, SECRET_PARAMETERS, TABLES, gatewayRoutes, tablesFor, type EnvKey, type FunctionName, type TableName } from "../handlers/contract";
import type { HandlerSelection } from "../automation/shared/select";
import { bundledCode, integratedCode } from "./code";
import type { StackConfig } from "./config";
import { ApiFunction, CANDIDATE_ALIAS, LIVE_ALIAS } from "./function";
import { aliasRecords, dnsValidatedCertificate } from "./hosting";
import { childName, physicalName, renamedFrom } from "./naming";
import { ALIAS_STAGE_VARIABLE, aliasIntegrationUri, bodyHash, openApiBody } from "./openapi";
import { sesIdentityArns } from "./policies";
import { appReads, describeUnknownVariables, integratedPlan } from "../automation/shared/integrated";
import { repoPaths } from "../automation/shared/paths";
import { IntegratedAppData } from "./integrated";

export interface RegistryApiArgs {
  /** `<project>-<stack>`: prefix of every physical name. */
  namePrefix: string;
  repoRoot: string;
  /** The handler serving the `api` function, from the one selection rule. */
  selection: HandlerSelection;
  config: StackConfig;
  /** Physical table name and ARN per logical table. */
  tables: Readonly<Record<TableName, { name: pulumi.Output<string>; arn: pulumi.Output<string> }>>;
  frontendUrl: pulumi.Input<string>;
  corsOrigins: pulumi.Input<string[]>;
  /** True in a preview (`pulumi.runtime.isDryRun()`). */
  dryRun: boolean;
}

/**
 * Lambda sizing: auth hashes with bcrypt at cost 12 (CPU-bound, CPU scales with memory). Timeouts stay
 * under API Gateway's 29 s, so a slow call ends in the function's own log, not as a bare gateway 504.
 */
export const SIZING: Record<FunctionName | "integrated", { memorySize: number; timeoutSeconds: number }> = {
  api: { memorySize: 512, timeoutSeconds: 28 },
  integrated: { memorySize: 1024, timeoutSeconds: 28 },
  auth: { memorySize: 1024, timeoutSeconds: 15 },
};

/** The candidate stage serves smoke tests only. */
const CANDIDATE_THROTTLING = { rateLimit: 5, burstLimit: 10 };

/**
 * What each access log line records (JSON, one line per request). Every value is a quoted string, so a
 * line stays valid JSON whatever a variable holds (numbers included, and "-" when absent).
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: "$context.requestId",
  requestTime: "$context.requestTime",
  ip: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  method: "$context.httpMethod",
  path: "$context.resourcePath",
  protocol: "$context.protocol",
  status: "$context.status",
  responseLength: "$context.responseLength",
  latencyMs: "$context.responseLatency",
  integrationStatus: "$context.integration.status",
  integrationLatencyMs: "$context.integration.latency",
  integrationError: "$context.integrationErrorMessage",
  responseType: "$context.error.responseType",
  xrayTraceId: "$context.xrayTraceId",
});

export class RegistryApi extends pulumi.ComponentResource {
  readonly functions: Readonly<Record<FunctionName, ApiFunction>>;
  readonly restApi: aws.apigateway.RestApi;
  readonly stage: aws.apigateway.Stage;
  /** Invoke URL of the stage, without a trailing slash. */
  readonly apiUrl: pulumi.Output<string>;
  /** The same API on the candidate stage: the newest function versions, before they go live. */
  readonly candidateUrl: pulumi.Output<string>;
  /** Version behind each function's `live` alias, and the newest published one. */
  readonly liveVersions: pulumi.Output<Record<FunctionName, string>>;
  readonly candidateVersions: pulumi.Output<Record<FunctionName, string>>;
  readonly handlerKind: pulumi.Output<string>;

  constructor(name: string, args: RegistryApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("people-register:api:RegistryApi", name, {}, opts);
    const { config, namePrefix } = args;
    const parent = { parent: this };
    const integrated = args.selection.kind === "integrated";

    const partition = aws.getPartitionOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    const identity = aws.getCallerIdentityOutput({}, parent);
    const senderIdentities = pulumi
      .all([partition.partition, region.region, identity.accountId])
      .apply(([p, r, accountId]) => sesIdentityArns({ partition: p, region: r, accountId, sesFromEmail: config.sesFromEmail }));

    const tableArns = Object.fromEntries(TABLES.map((t) => [t.name, args.tables[t.name].arn])) as Record<TableName, pulumi.Output<string>>;
    // Secrets live in SSM Parameter Store as SecureStrings (from the Pulumi secrets); a function's
    // environment carries only the parameter's name, which `lambda:GetFunctionConfiguration` may show.
    const secretValues = { jwtSecret: config.jwtSecret, csrfSecret: config.csrfSecret } as const;
    const secretParameters = new Map<EnvKey, aws.ssm.Parameter>(
      SECRET_PARAMETERS.map(({ secret, parameter }) => [
        parameter,
        new aws.ssm.Parameter(childName(name, ENV[secret].toLowerCase().replace(/_/g, "-")), {
          name: `/${namePrefix}/${ENV[secret]}`,
          description: `People Register ${ENV[secret]} (read by the functions at cold start)`,
          type: "SecureString",
          value: secretValues[secret as keyof typeof secretValues],
        }, parent),
      ]),
    );
    const settings: Partial<Record<EnvKey, pulumi.Input<string>>> = {
      ...Object.fromEntries([...secretParameters].map(([key, param]) => [key, param.name])),
      jwtExpirationHours: String(config.jwtExpirationHours),
      sesFromEmail: config.sesFromEmail,
      frontendUrl: args.frontendUrl,
      corsOrigins: pulumi.output(args.corsOrigins).apply((origins) => origins.join(",")),
      logLevel: "INFO",
      handlerKind: args.selection.kind,
    };
    // Each function gets the names of its own tables and its own settings, from the contract (as IAM).
    const environment = (fn: FunctionName): Record<string, pulumi.Input<string>> => ({
      ...Object.fromEntries(tablesFor(fn).map(({ table }) => [table.envVar, args.tables[table.name].name])),
      ...Object.fromEntries(FUNCTION_ENV[fn].flatMap((key) => (settings[key] !== undefined ? [[ENV[key], settings[key] as pulumi.Input<string>]] : []))),
    });
    const secretParameterOf = (secret: "jwtSecret" | "csrfSecret"): aws.ssm.Parameter =>
      secretParameters.get(SECRET_PARAMETERS.find((p) => p.secret === secret)!.parameter)!;
    const secretArns = (fn: FunctionName): pulumi.Output<string>[] =>
      FUNCTION_ENV[fn].flatMap((key) => {
        const param = secretParameters.get(key);
        return param ? [param.arn] : [];
      });
    const common = { tableArns, sesIdentityArns: senderIdentities, sesFromEmail: config.sesFromEmail, logRetentionDays: config.logRetentionDays, tracing: config.tracing };

    // The integrated app gets exactly what its synced code reads (sync-metadata.json), nothing else.
    let appData: IntegratedAppData | undefined;
    if (integrated) {
      const plan = integratedPlan(appReads(repoPaths(args.repoRoot).lambdaDir, args.selection.sync.metadata?.reads));
      if (plan.unknown.length) {
        if (!args.dryRun) throw new Error(describeUnknownVariables(plan.unknown));
        pulumi.log.warn(describeUnknownVariables(plan.unknown));
      }
      appData = new IntegratedAppData(childName(name, "integrated-app"), {
        plan, naming: config.tableNaming, namePrefix, protect: config.protect, existingTables: config.integratedExistingTables,
        tableArn: (table) => pulumi.interpolate`arn:${partition.partition}:dynamodb:${region.region}:${identity.accountId}:table/${table}`,
      }, parent);
    }

    const apiFn = new ApiFunction(childName(name, "api"), {
      ...common,
      fn: "api",
      functionName: physicalName(namePrefix, "api"),
      description: `People Register API (${args.selection.kind} handler)`,
      code: integrated
        ? integratedCode({ repoRoot: args.repoRoot, sync: args.selection.sync, packaging: config.integratedPackaging, dryRun: args.dryRun, namePrefix, parent: this, parentName: name })
        : bundledCode("api", args.repoRoot),
      ...SIZING[integrated ? "integrated" : "api"],
      environment: appData
        ? appData.environment(args.tables, config, {
          frontendUrl: args.frontendUrl,
          corsOrigins: args.corsOrigins,
          secretParameterName: (secret) => secretParameterOf(secret).name,
        })
        : environment("api"),
      ...(appData ? { integratedGrants: appData.grants(args.tables) } : {}),
      // The integrated app may read either secret (its variable names differ by revision); the shim fetches them.
      secretParameterArns: appData ? appData.secretsRead().map((secret) => secretParameterOf(secret).arn) : secretArns("api"),
      liveVersion: config.liveVersions?.api,
    }, parent);
    const authFn = new ApiFunction(childName(name, "auth"), {
      ...common,
      fn: "auth",
      functionName: physicalName(namePrefix, "auth"),
      description: "People Register auth (login, logout, me, refresh)",
      code: bundledCode("auth", args.repoRoot),
      ...SIZING.auth,
      environment: environment("auth"),
      secretParameterArns: secretArns("auth"),
      liveVersion: config.liveVersions?.auth,
    }, { parent: this, ...renamedFrom(name, "api", "auth", childName(name, "auth")) });
    this.functions = { api: apiFn, auth: authFn };

    const body = pulumi
      .all([apiFn.function.invokeArn, authFn.function.invokeArn, pulumi.output(args.corsOrigins)])
      .apply(([api, auth, corsOrigins]) => openApiBody({
        title: physicalName(namePrefix, "api"),
        corsOrigins,
        routes: gatewayRoutes({ greedy: integrated }),
        // Each stage invokes the alias its stage variable names.
        integrationUris: { api: aliasIntegrationUri(api), auth: aliasIntegrationUri(auth) },
      }));
    this.restApi = new aws.apigateway.RestApi(childName(name), {
      name: physicalName(namePrefix, "api"),
      description: "People Register REST API, generated from handlers/contract",
      body,
      // The definition is the whole API: methods not in it are removed.
      putRestApiMode: "overwrite",
      // A definition API Gateway only half understands fails the deploy instead of deploying partly.
      failOnWarnings: true,
      endpointConfiguration: { types: "REGIONAL" },
    }, parent);

    const deployment = new aws.apigateway.Deployment(childName(name), {
      restApi: this.restApi.id,
      description: "Replaced whenever the API definition changes",
      triggers: { definition: body.apply(bodyHash) },
    }, parent);

    const accessLogs = new aws.cloudwatch.LogGroup(childName(name, "access-logs"), {
      name: `/aws/apigateway/${physicalName(namePrefix, "api")}/access`,
      retentionInDays: config.logRetentionDays,
    }, parent);
    const account = config.apiGatewayLogsRole ? apiGatewayAccount(this, childName(name, "apigateway-logs"), physicalName(namePrefix, "apigateway-logs")) : undefined;

    // A stage of the one deployment, invoking the function alias its stage variable names.
    const stage = (logicalName: string, stageName: string, alias: string) => new aws.apigateway.Stage(logicalName, {
      restApi: this.restApi.id,
      deployment: deployment.id,
      stageName,
      accessLogSettings: { destinationArn: accessLogs.arn, format: ACCESS_LOG_FORMAT },
      variables: { [ALIAS_STAGE_VARIABLE]: alias },
      xrayTracingEnabled: config.tracing,
    }, { parent: this, dependsOn: account ?? [] });
    this.stage = stage(childName(name), config.stageName, LIVE_ALIAS);

    // A second stage invoking the `candidate` aliases: the driver smoke-tests a new version here before
    // it moves `live`. Only smoke tests use it, so it is throttled low and has no execution logs (API
    // Gateway would create their log group with infinite retention).
    const candidateStageName = `${config.stageName}-${CANDIDATE_ALIAS}`;
    const candidateStage = stage(childName(name, "candidate"), candidateStageName, CANDIDATE_ALIAS);
    new aws.apigateway.MethodSettings(childName(name, "candidate"), {
      restApi: this.restApi.id,
      stageName: candidateStage.stageName,
      methodPath: "*/*",
      settings: { throttlingRateLimit: CANDIDATE_THROTTLING.rateLimit, throttlingBurstLimit: CANDIDATE_THROTTLING.burstLimit, metricsEnabled: false, loggingLevel: "OFF", dataTraceEnabled: false },
    }, parent);

    // API Gateway would create the execution log group itself, with infinite retention.
    const executionLogs = new aws.cloudwatch.LogGroup(childName(name, "execution-logs"), {
      name: pulumi.interpolate`API-Gateway-Execution-Logs_${this.restApi.id}/${config.stageName}`,
      retentionInDays: config.logRetentionDays,
    }, parent);

    // Throttling lives in method settings, paired with the standalone stage above.
    new aws.apigateway.MethodSettings(childName(name), {
      restApi: this.restApi.id,
      stageName: this.stage.stageName,
      methodPath: "*/*",
      settings: {
        throttlingRateLimit: config.throttlingRateLimit,
        throttlingBurstLimit: config.throttlingBurstLimit,
        // Per-method metrics are billed as custom metrics; the stage-level metrics the alarms use are free.
        metricsEnabled: false,
        loggingLevel: "ERROR",
        dataTraceEnabled: false,
      },
    }, { parent: this, dependsOn: [executionLogs] });

    for (const [fnName, fn] of Object.entries(this.functions)) {
      // The API invokes aliases only (a permission on a qualifier covers that alias, nothing else), and
      // each alias only from the stage that names it (any method, any path).
      const grants = [[LIVE_ALIAS, fn.liveAlias, config.stageName], [CANDIDATE_ALIAS, fn.candidateAlias, candidateStageName]] as const;
      for (const [aliasName, alias, stageName] of grants) {
        const suffix = aliasName === LIVE_ALIAS ? "" : `-${aliasName}`;
        new aws.lambda.Permission(childName(name, `${fnName}-invoke${suffix}`), {
          action: "lambda:InvokeFunction",
          function: fn.function.name,
          qualifier: alias.name,
          principal: "apigateway.amazonaws.com",
          sourceArn: pulumi.interpolate`${this.restApi.executionArn}/${stageName}/*/*`,
        }, parent);
      }
    }

    const invokeUrl = (s: aws.apigateway.Stage) => s.invokeUrl.apply((url) => url.replace(/\/+$/, ""));
    this.apiUrl = config.apiDomainName
      ? customDomain(this, childName(name, "domain"), config, this.restApi.id, this.stage.stageName)
      : invokeUrl(this.stage);
    this.candidateUrl = invokeUrl(candidateStage);
    this.liveVersions = pulumi.output({ api: apiFn.liveAlias.functionVersion, auth: authFn.liveAlias.functionVersion });
    this.candidateVersions = pulumi.output({ api: apiFn.function.version, auth: authFn.function.version });
    this.handlerKind = pulumi.output(args.selection.kind);
    this.registerOutputs({ apiUrl: this.apiUrl, handlerKind: this.handlerKind });
  }
}

/**
 * The API's own host name: a regional custom domain (TLS 1.2) whose root maps to the stage, plus alias
 * records when the hosted zone is ours. Returns the API's URL on that domain.
 */
function customDomain(parent: pulumi.Resource, name: string, config: StackConfig, restApi: pulumi.Input<string>, stageName: pulumi.Input<string>): pulumi.Output<string> {
  const host = config.apiDomainName!;
  const certificate = config.apiCertificateArn ?? dnsValidatedCertificate(parent, name, host, config.hostedZoneId!);
  const domain = new aws.apigateway.DomainName(name, {
    domainName: host,
    regionalCertificateArn: certificate,
    endpointConfiguration: { types: "REGIONAL" },
    securityPolicy: "TLS_1_2",
  }, { parent });
  const mapping = new aws.apigateway.BasePathMapping(name, { restApi, stageName, domainName: domain.domainName }, { parent });
  if (config.hostedZoneId) aliasRecords(parent, name, host, config.hostedZoneId, domain.regionalDomainName, domain.regionalZoneId);
  return pulumi.all([domain.domainName, mapping.id]).apply(([d]) => `https://${d}`);
}

/**
 * The account-level setting API Gateway needs to write logs (one per account and region), done the way
 * SST does it: look the setting up, and create the role only when none is set. The role and the setting
 * are retained on delete, so destroying a dev stack never breaks another stack's logging.
 */
function apiGatewayAccount(parent: pulumi.Resource, name: string, roleName: string): pulumi.Output<aws.apigateway.Account[]> {
  const current = aws.apigateway.Account.get(`${name}-current`, "api-gateway-account", undefined, { parent });
  // Our own role (set by an earlier update of this stack) stays managed, or the next update would drop it.
  const ours = (arn: string) => arn.endsWith(`:role/${roleName}`);
  return current.cloudwatchRoleArn.apply((arn) => (arn && !ours(arn) ? [] : [createApiGatewayAccount(parent, name, roleName)]));
}

function createApiGatewayAccount(parent: pulumi.Resource, name: string, roleName: string): aws.apigateway.Account {
  const role = new aws.iam.Role(name, {
    name: roleName,
    description: "Lets API Gateway write access and execution logs to CloudWatch",
    assumeRolePolicy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }],
    }),
  }, { parent, retainOnDelete: true });
  const partition = aws.getPartitionOutput({}, { parent });
  const attachment = new aws.iam.RolePolicyAttachment(name, {
    role: role.name,
    policyArn: pulumi.interpolate`arn:${partition.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs`,
  }, { parent, retainOnDelete: true });
  return new aws.apigateway.Account(name, { cloudwatchRoleArn: role.arn }, { parent, dependsOn: [attachment], retainOnDelete: true });
}
