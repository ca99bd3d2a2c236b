import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { Logger } from "../../automation/command";
import { type DeployContext, type DeployRunOptions, type DeployRunResult, runDeploy } from "../../automation/commands/deploy";
import { DestructiveChangeError } from "../../automation/engine/guard";
import { frontendFingerprint } from "../../automation/engine/invalidate";
import { FRONTEND_FINGERPRINT_TAG, LAST_DEPLOYED_COMMIT_TAG } from "../../automation/engine/pulumi";
import type { DeploymentSummary } from "../../automation/verify/reports";
import { startProbeServer, type ProbeServer } from "../e2e/support/probe-server";
import { createsOnly, hostingTornDown, mixedChanges } from "../fixtures/engine-events";
import { FakeCloudFront } from "../fixtures/engine-events/fake-cloudfront";
import { FakeStack, sdkError } from "../fixtures/engine-events/fake-stack";

const SHA = "89abcdef0123456789abcdef0123456789abcdef";
const JWT = "jwt-secret-value-that-must-never-appear-0123456789";
const quietLog: Logger = { info() {}, warn() {}, error() {}, step: async (_t, w) => w() };

const context: DeployContext = {
  deployment_type: "infrastructure_only",
  api_sync_detected: false,
  execution_mode: "deployment",
  trigger_type: "push",
  branch: "main",
  commit: SHA,
  handler: "enhanced",
};

describe("deploy: preview → guard → up → outputs → invalidation → smoke → reports", () => {
  let dir: string;
  let reportsDir: string;
  let frontendDir: string;
  let api: ProbeServer;
  let cloudFront: FakeCloudFront;
  let stack: FakeStack;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-test-"));
    reportsDir = path.join(dir, "reports");
    frontendDir = path.join(dir, "frontend");
    fs.mkdirSync(frontendDir);
    fs.writeFileSync(path.join(frontendDir, "index.html"), "<h1>v1</h1>");
    api = await startProbeServer({ allowedOrigin: "https://d111.cloudfront.net" });
    cloudFront = new FakeCloudFront();
    await cloudFront.start();
    stack = new FakeStack("prod");
    stack.config["people-register:frontendDir"] = { value: frontendDir };
    stack.stackOutputs = {
      apiUrl: { value: `${api.url}/`, secret: false },
      frontendUrl: { value: "https://d111.cloudfront.net", secret: false },
      frontendBucket: { value: "people-register-prod-frontend", secret: false },
      distributionId: { value: "E2EXAMPLE1", secret: false },
      handlerKind: { value: "enhanced", secret: false },
      tableNames: { value: { people: "people-prod" }, secret: false },
    };
  });

  afterEach(async () => {
    await api.close();
    await cloudFront.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const options = (extra: Partial<DeployRunOptions> = {}): DeployRunOptions => ({
    repoRoot: dir,
    reportsDir,
    stackName: "prod",
    env: { JWT_SECRET: JWT, GITHUB_STEP_SUMMARY: path.join(dir, "step-summary.md"), AWS_REGION: "eu-west-1" },
    log: quietLog,
    signal: new AbortController().signal,
    stack,
    cloudFront: cloudFront.client(),
    detect: () => context,
    prepare: async () => ({ handler: "enhanced", files_written: [] }),
    progress: () => {},
    smokeRetries: 0,
    smokeTimeoutS: 5,
    retry: { sleep: async () => {} },
    ...extra,
  });
  const readJson = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(reportsDir, name), "utf8")) as T;

  it("deploys, tags the commit, invalidates the new frontend, smoke-tests apiUrl and writes the reports", async () => {
    stack.previews = [{ events: createsOnly() }, { events: [] }];
    stack.ups = [{ events: createsOnly(), changeSummary: { create: 4 } }];
    const result = await runDeploy(options());

    expect(result.status).to.equal("succeeded");
    expect(stack.calls).to.deep.equal(["setAllConfig", "outputs", "preview", "up", `setTag ${LAST_DEPLOYED_COMMIT_TAG}`, "preview", `setTag ${FRONTEND_FINGERPRINT_TAG}`]);
    expect(stack.upOptions[0].message).to.equal(`deploy ${SHA}`);
    expect(stack.previewOptions[1].expectNoChanges).to.equal(true);
    expect(stack.config["people-register:jwtSecret"]).to.deep.equal({ value: JWT, secret: true });
    expect(stack.tags[LAST_DEPLOYED_COMMIT_TAG]).to.equal(SHA);

    expect(result.invalidation).to.include({ status: "created", reason: "no frontend fingerprint recorded for this stack yet" });
    expect(cloudFront.requests).to.have.length(1);
    expect(cloudFront.requests[0].url).to.equal("/2020-05-31/distribution/E2EXAMPLE1/invalidation");
    expect(cloudFront.requests[0].body).to.include("<Path>/*</Path>");
    expect(stack.tags[FRONTEND_FINGERPRINT_TAG]).to.equal(frontendFingerprint(frontendDir));

    expect(result.smoke.status).to.equal("passed");
    expect(api.hits.get("GET /health")).to.be.greaterThan(0);

    const summary = readJson<DeploymentSummary>("deployment-summary.json");
    expect(summary).to.include({ deployment_successful: true, stack_status: "succeeded", handler_used: "enhanced", branch_name: "main", execution_mode: "deployment" });
    expect(summary.outputs).to.deep.equal({ api_url: api.url, frontend_url: "https://d111.cloudfront.net", s3_bucket: "people-register-prod-frontend" });
    expect(summary.resource_changes).to.deep.equal({ create: 4 });
    expect(summary.deployment_metadata).to.include({ stack: "prod", region: "eu-west-1", pulumi_version: "3.248.0", target: "aws" });
    for (const name of ["deployment-context.json", "api-integration.json", "stack-outputs.json", "deployment-result.json", "deployment-changes.md", "test-report.json", "test-report.xml"]) {
      expect(fs.existsSync(path.join(reportsDir, name)), name).to.equal(true);
    }
    expect(fs.readFileSync(path.join(dir, "step-summary.md"), "utf8")).to.include("### Pulumi update: `people-register/prod`");
  });

  it("never writes a secret into a report or the job summary", async () => {
    stack.stackOutputs.internalToken = { value: "plain-output-secret", secret: true };
    stack.previews = [{ events: createsOnly() }, {}];
    stack.ups = [{ events: createsOnly() }];
    await runDeploy(options({ skipSmoke: true }));
    const texts = [...fs.readdirSync(reportsDir).map((f) => fs.readFileSync(path.join(reportsDir, f), "utf8")), fs.readFileSync(path.join(dir, "step-summary.md"), "utf8")];
    for (const text of texts) {
      expect(text).not.to.include(JWT);
      expect(text).not.to.include("plain-output-secret");
    }
    expect(readJson<Record<string, unknown>>("stack-outputs.json").internalToken).to.equal("[secret]");
  });

  it("stops before up when the preview replaces a table, and says what and why", async () => {
    stack.previews = [{ events: mixedChanges() }];
    let caught: unknown;
    try {
      await runDeploy(options());
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(DestructiveChangeError);
    expect(stack.calls).to.deep.equal(["setAllConfig", "outputs", "preview"]);
    const result = (caught as { deployResult: DeployRunResult }).deployResult;
    expect(result.status).to.equal("blocked");
    expect(result.guard.findings.map((f) => `${f.op} ${f.name}`)).to.deep.equal(["replace people"]);
    const summary = readJson<DeploymentSummary>("deployment-summary.json");
    expect(summary).to.include({ deployment_successful: false, stack_status: "skipped" });
    expect(summary.error).to.match(/deletes or replaces 1 stateful resource/);
    const md = fs.readFileSync(path.join(reportsDir, "deployment-changes.md"), "utf8");
    expect(md).to.include("Pulumi deploy (not applied)").and.include("A deploy of this change stops before `up`");
    expect(cloudFront.requests).to.have.length(0);
  });

  it("goes ahead with --allow-destructive and records a warning", async () => {
    stack.previews = [{ events: hostingTornDown() }, {}];
    stack.ups = [{ events: hostingTornDown() }];
    const result = await runDeploy(options({ allowDestructive: true, skipSmoke: true }));
    expect(result.status).to.equal("succeeded");
    expect(stack.calls).to.include("up");
    expect(result.warnings[0]).to.equal("destructive changes allowed by --allow-destructive: delete frontend-cdn, delete frontend");
  });

  it("invalidates only when the frontend files changed since the last deployment", async () => {
    stack.tags[FRONTEND_FINGERPRINT_TAG] = frontendFingerprint(frontendDir);
    stack.previews = [{ events: createsOnly() }, {}, { events: createsOnly() }, {}];
    stack.ups = [{ events: createsOnly() }, { events: createsOnly() }];
    const unchanged = await runDeploy(options({ skipSmoke: true }));
    expect(unchanged.invalidation).to.deep.equal({ status: "skipped", reason: "the frontend files are unchanged since the last deployment" });
    expect(cloudFront.requests).to.have.length(0);

    fs.writeFileSync(path.join(frontendDir, "index.html"), "<h1>v2</h1>");
    const changed = await runDeploy(options({ skipSmoke: true }));
    expect(changed.invalidation).to.include({ status: "created", reason: "the frontend files changed since the last deployment" });
    expect(cloudFront.requests).to.have.length(1);
  });

  it("keeps the deployment when the invalidation is refused, warns, and retries it next time", async () => {
    cloudFront.failWith = 403;
    stack.previews = [{ events: createsOnly() }, {}];
    stack.ups = [{ events: createsOnly() }];
    const result = await runDeploy(options({ skipSmoke: true }));
    expect(result.status).to.equal("succeeded");
    expect(result.invalidation.status).to.equal("failed");
    expect(result.warnings.some((w) => w.includes("CloudFront invalidation failed") && w.includes("not authorized"))).to.equal(true);
    expect(stack.tags[FRONTEND_FINGERPRINT_TAG]).to.equal(undefined);
  });

  it("reports a failed update with what it changed before failing, and does not tag the commit", async () => {
    stack.previews = [{ events: createsOnly() }];
    stack.ups = [{ events: createsOnly().slice(0, 5), fail: () => sdkError("error: creating DynamoDB Table (people): AccessDeniedException") }];
    let caught: unknown;
    try {
      await runDeploy(options());
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.equal("update of prod failed: error: creating DynamoDB Table (people): AccessDeniedException");
    const summary = readJson<DeploymentSummary>("deployment-summary.json");
    expect(summary).to.include({ deployment_successful: false, stack_status: "failed" });
    // The steps the engine started before it failed (people, projects).
    expect(summary.resource_changes).to.deep.equal({ create: 2 });
    expect(summary.error).to.include("AccessDeniedException");
    expect(stack.tags[LAST_DEPLOYED_COMMIT_TAG]).to.equal(undefined);
  });

  it("fails the run when a critical smoke probe fails, keeping the deployment and its tag", async () => {
    api.fault("GET /health", { kind: "status", status: 500, body: { status: "unhealthy" } });
    stack.previews = [{ events: createsOnly() }, {}];
    stack.ups = [{ events: createsOnly() }];
    const result = await runDeploy(options());
    expect(result.status).to.equal("failed");
    expect(result.deployed).to.equal(true);
    expect(result.smoke.status).to.equal("failed");
    expect(stack.tags[LAST_DEPLOYED_COMMIT_TAG]).to.equal(SHA);
    expect(readJson<{ passed: boolean }>("test-report.json").passed).to.equal(false);
    expect(readJson<DeploymentSummary>("deployment-summary.json").deployment_successful).to.equal(true);
  });

  it("warns when the update is not reproducible (a preview right after it still changes things)", async () => {
    stack.previews = [{ events: createsOnly() }, { events: mixedChanges(), fail: () => sdkError("error: no changes were expected but changes were proposed") }];
    stack.ups = [{ events: createsOnly() }];
    const result = await runDeploy(options({ skipSmoke: true }));
    expect(result.status).to.equal("succeeded");
    expect(result.warnings.some((w) => w.startsWith("a preview right after the update did not come back clean"))).to.equal(true);
  });

  it("is cancelled cleanly by SIGINT during up, with exit code 130 and the recovery steps", async () => {
    const controller = new AbortController();
    stack.previews = [{ events: createsOnly() }];
    stack.ups = [{ events: createsOnly().slice(0, 4), hang: true }];
    const running = runDeploy(options({ signal: controller.signal }));
    while (!stack.calls.includes("up")) await new Promise((r) => setImmediate(r));
    controller.abort();
    let caught: unknown;
    try {
      await running;
    } catch (err) {
      caught = err;
    }
    expect((caught as { exitCode: number }).exitCode).to.equal(130);
    expect((caught as Error).message).to.include("pulumi refresh --stack prod --clear-pending-creates");
    expect(readJson<DeploymentSummary>("deployment-summary.json").stack_status).to.equal("cancelled");
  });
  it("runs the real detect and prepare steps on a git checkout and tags the stack with its HEAD", async () => {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8" }).trim();
    git("init", "-q", "-b", "main");
    fs.writeFileSync(path.join(dir, "README.md"), "test repo\n");
    git("add", "README.md");
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "init");
    const head = git("rev-parse", "HEAD");
    stack.previews = [{ events: createsOnly() }, {}];
    stack.ups = [{ events: createsOnly() }];
    const result = await runDeploy(options({ detect: undefined, prepare: undefined, handler: "enhanced", skipSmoke: true, env: { AWS_REGION: "eu-west-1" } }));
    expect(result.status).to.equal("succeeded");
    expect(result.commit).to.equal(head);
    expect(stack.tags[LAST_DEPLOYED_COMMIT_TAG]).to.equal(head);
    const ctx = readJson<{ commit: string; execution_mode: string; handler: string }>("deployment-context.json");
    expect(ctx).to.include({ commit: head, execution_mode: "deployment", handler: "enhanced" });
    expect(readJson<{ handler: string }>("api-integration.json").handler).to.equal("enhanced");
  });
  it("reports a failed preview as nothing applied (no resource changes, no up)", async () => {
    stack.previews = [{ events: mixedChanges(), fail: () => sdkError("error: preview failed: 1 mandatory policy violation") }];
    let caught: unknown;
    try {
      await runDeploy(options());
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.equal("preview of prod failed: error: preview failed: 1 mandatory policy violation");
    expect(stack.calls).not.to.include("up");
    const summary = readJson<DeploymentSummary>("deployment-summary.json");
    expect(summary).to.include({ deployment_successful: false, stack_status: "failed" });
    expect(summary.resource_changes).to.deep.equal({});
    expect(fs.readFileSync(path.join(reportsDir, "deployment-changes.md"), "utf8")).to.include("dynamodb-pitr");
  });
});
