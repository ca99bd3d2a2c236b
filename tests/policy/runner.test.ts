// The pack as the Pulumi CLI runs it: the SDK's policy runner loads policy/ (TypeScript, dependencies
// from the repository root) and serves the analyzer gRPC API; we call it like the engine does, with
// secret-wrapped and unknown values, and read back the diagnostics.
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { expect } from "chai";
import { REPO_ROOT } from "../../automation/shared/paths";

// The engine's wire types, from the SDK's own generated code (and its gRPC library).
const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [sdkDir] }));
const services = require("@pulumi/pulumi/proto/analyzer_grpc_pb.js");
const messages = require("@pulumi/pulumi/proto/analyzer_pb.js");
const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb.js", { paths: [sdkDir] }));
const { Empty } = require(require.resolve("google-protobuf/google/protobuf/empty_pb.js", { paths: [sdkDir] }));
const { specialSigKey, specialSecretSig } = require("@pulumi/pulumi/runtime/rpc") as { specialSigKey: string; specialSecretSig: string };
const { unknownStringValue } = require("@pulumi/policy/proxy") as { unknownStringValue: string };

const MANDATORY = 1; // pulumirpc.EnforcementLevel.MANDATORY
const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });

interface Diagnostic {
  policy: string;
  message: string;
  level: number;
}

describe("policy pack under the Pulumi policy runner", function () {
  this.timeout(180000); // the runner type-checks the pack with ts-node before it serves
  let child: ChildProcess | undefined;
  let client: any;
  let stderr = "";

  before(async () => {
    child = spawn(process.execPath, [path.join(sdkDir, "cmd", "run-policy-pack"), "127.0.0.1:1", "."], { cwd: path.join(REPO_ROOT, "policy"), stdio: ["ignore", "pipe", "pipe"] });
    child.stderr!.on("data", (d) => (stderr += d));
    const port = await new Promise<string>((resolve, reject) => {
      child!.stdout!.once("data", (d) => resolve(String(d).trim()));
      child!.once("exit", (code) => reject(new Error(`the policy runner exited (${code}): ${stderr.slice(0, 2000)}`)));
    });
    expect(port).to.match(/^\d+$/);
    client = new services.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  after(() => {
    client?.close();
    child?.kill();
  });

  function analyze(type: string, props: Record<string, unknown>): Promise<Diagnostic[]> {
    const req = new messages.AnalyzeRequest();
    req.setType(type);
    req.setUrn(`urn:pulumi:prod::people-register::${type}::r`);
    req.setName("r");
    req.setOptions(new messages.AnalyzerResourceOptions());
    req.setProperties(Struct.fromJavaScript(props));
    return new Promise((resolve, reject) =>
      client.analyze(req, (err: Error | null, res: any) =>
        err ? reject(err) : resolve(res.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), message: d.getMessage(), level: d.getEnforcementlevel() }))),
      ),
    );
  }

  it("registers every policy as mandatory under the pack's name and version", async () => {
    const info: any = await new Promise((resolve, reject) => client.getAnalyzerInfo(new Empty(), (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res))));
    expect(info.getName()).to.equal("people-register-guardrails");
    expect(info.getVersion()).to.equal("0.1.0");
    const policies = info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()]);
    expect(policies).to.deep.include.members([
      ["s3-no-public-bucket", MANDATORY],
      ["s3-bucket-has-public-access-block", MANDATORY],
      ["dynamodb-pitr-and-encryption", MANDATORY],
      ["log-retention-set", MANDATORY],
      ["iam-no-dynamodb-on-wildcard", MANDATORY],
      ["cloudfront-https-only", MANDATORY],
      ["lambda-no-plaintext-secrets", MANDATORY],
    ]);
  });

  it("sees Pulumi secrets decrypted and skips unknown values in a Lambda environment", async () => {
    const diagnostics = await analyze("aws:lambda/function:Function", {
      environment: { variables: { JWT_SECRET: secret("too-short"), CSRF_SECRET: secret("c".repeat(48)), STRIPE_TOKEN: secret("t".repeat(48)), FRONTEND_URL: unknownStringValue } },
    });
    expect(diagnostics.map((d) => d.policy)).to.deep.equal(["lambda-no-plaintext-secrets", "lambda-no-plaintext-secrets", "lambda-no-plaintext-secrets"]);
    expect(diagnostics.every((d) => d.level === MANDATORY)).to.equal(true);
    expect(diagnostics.map((d) => /\b(CSRF_SECRET|JWT_SECRET|STRIPE_TOKEN) looks like a secret/.exec(d.message)?.[1])).to.deep.equal(["CSRF_SECRET", "JWT_SECRET", "STRIPE_TOKEN"]);
    for (const d of diagnostics) expect(d.message).to.contain("looks like a secret").and.not.contain("too-short");
  });

  it("reports a half-open public access block and passes a compliant table", async () => {
    const block = await analyze("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", { bucket: "b", blockPublicAcls: true, blockPublicPolicy: false, ignorePublicAcls: true, restrictPublicBuckets: true });
    expect(block).to.have.length(1);
    expect(block[0]).to.include({ policy: "s3-no-public-bucket", level: MANDATORY });
    expect(block[0].message).to.contain("blockPublicPolicy");
    expect(await analyze("aws:dynamodb/table:Table", { pointInTimeRecovery: { enabled: true }, serverSideEncryption: { enabled: true } })).to.deep.equal([]);
  });

  it("runs the stack check: a bucket without its own public access block is reported on that bucket", async () => {
    const resource = (type: string, name: string, deps: Record<string, string[]> = {}) => {
      const r = new messages.AnalyzerResource();
      r.setType(type);
      r.setName(name);
      r.setUrn(`urn:pulumi:prod::people-register::${type}::${name}`);
      r.setOptions(new messages.AnalyzerResourceOptions());
      r.setProperties(Struct.fromJavaScript({}));
      for (const [prop, urns] of Object.entries(deps)) {
        const d = new messages.AnalyzerPropertyDependencies();
        d.setUrnsList(urns);
        r.getPropertydependenciesMap().set(prop, d);
      }
      return r;
    };
    const covered = resource("aws:s3/bucket:Bucket", "frontend");
    const naked = resource("aws:s3/bucket:Bucket", "logs");
    const block = resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "frontend", { bucket: [covered.getUrn()] });
    const req = new messages.AnalyzeStackRequest();
    req.setResourcesList([covered, naked, block]);
    const diagnostics: { policy: string; urn: string; level: number }[] = await new Promise((resolve, reject) =>
      client.analyzeStack(req, (err: Error | null, res: any) =>
        err ? reject(err) : resolve(res.getDiagnosticsList().map((d: any) => ({ policy: d.getPolicyname(), urn: d.getUrn(), level: d.getEnforcementlevel() }))),
      ),
    );
    expect(diagnostics).to.deep.equal([{ policy: "s3-bucket-has-public-access-block", urn: naked.getUrn(), level: MANDATORY }]);
  });

  it("turns an unknown bucket policy at preview into a non-blocking note instead of a pass or a failure", async () => {
    const diagnostics = await analyze("aws:s3/bucketPolicy:BucketPolicy", { bucket: "b", policy: unknownStringValue });
    expect(diagnostics).to.have.length(1);
    expect(diagnostics[0].message).to.contain("can't run policy");
    expect(diagnostics[0].level).to.not.equal(MANDATORY);
  });
});
