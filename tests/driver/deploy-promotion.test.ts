// Smoke-gated promotion: `deploy` publishes new versions with `live` pinned, smoke-tests them on the
// candidate stage, moves `live`, smoke-tests the live stage and moves `live` back on a critical failure.
// The stack is the fake engine (its outputs follow the pinned config like the program's aliases do); the
// two stages are real HTTP servers answering the smoke probes.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { silentLogger } from "../../automation/command";
import { type DeployContext, type DeployRunOptions, type DeployRunResult, runDeploy } from "../../automation/commands/deploy";
import { LIVE_VERSIONS_KEY } from "../../automation/engine/pulumi";
import type { DeploymentSummary } from "../../automation/verify/reports";
import { startProbeServer, type ProbeServer } from "../e2e/support/probe-server";
import { createsOnly } from "../fixtures/engine-events";
import { FakeStack, sdkError } from "../fixtures/engine-events/fake-stack";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const context: DeployContext = { deployment_type: "infrastructure_only", api_sync_detected: false, execution_mode: "deployment", trigger_type: "push", branch: "main", commit: SHA, handler: "enhanced" };
const LIVE_BEFORE = { api: "4", auth: "2" };
const PUBLISHED = { api: "5", auth: "2" };

describe("deploy: smoke-gated promotion of the live alias, with rollback", () => {
  let dir: string;
  let reportsDir: string;
  let live: ProbeServer;
  let candidate: ProbeServer;
  let stack: FakeStack;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "promotion-test-"));
    reportsDir = path.join(dir, "reports");
    live = await startProbeServer();
    candidate = await startProbeServer();
    stack = new FakeStack("prod");
    const outputs = (liveVersions: Record<string, string>, candidateVersions: Record<string, string>) => ({
      apiUrl: { value: live.url, secret: false },
      candidateUrl: { value: candidate.url, secret: false },
      handlerKind: { value: "enhanced", secret: false },
      liveVersions: { value: liveVersions, secret: false },
      candidateVersions: { value: candidateVersions, secret: false },
    });
    stack.stackOutputs = outputs(LIVE_BEFORE, LIVE_BEFORE);
    // What the program does: the update publishes version 5 of api; `live` follows the pin in config.
    stack.afterUp = (s) => {
      const pinned = s.config[LIVE_VERSIONS_KEY]?.value;
      s.stackOutputs = outputs(pinned ? JSON.parse(pinned) : PUBLISHED, PUBLISHED);
    };
    stack.previews = [{ events: createsOnly() }, {}];
  });

  afterEach(async () => {
    await live.close();
    await candidate.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const options = (extra: Partial<DeployRunOptions> = {}): DeployRunOptions => ({
    repoRoot: dir,
    reportsDir,
    stackName: "prod",
    env: { AWS_REGION: "eu-west-1" },
    log: silentLogger,
    signal: new AbortController().signal,
    stack,
    detect: () => context,
    prepare: async () => ({ handler: "enhanced", files_written: [] }),
    progress: () => {},
    smokeRetries: 0,
    smokeTimeoutS: 5,
    retry: { sleep: async () => {} },
    ...extra,
  });
  const readJson = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(reportsDir, name), "utf8")) as T;
  const pin = () => JSON.parse(stack.config[LIVE_VERSIONS_KEY].value);
  const upMessages = () => stack.upOptions.map((o) => o.message);

  it("pins live during the update, smoke-tests the candidate stage, then moves live and smoke-tests it", async () => {
    const result = await runDeploy(options());
    expect(result.status).to.equal("succeeded");
    expect(result.promotion).to.deep.include({ status: "promoted", previous: LIVE_BEFORE, candidate: PUBLISHED, live: PUBLISHED });
    expect(result.live_versions).to.deep.equal(PUBLISHED);
    expect(result.guard.live).to.deep.equal(LIVE_BEFORE);
    expect(pin()).to.deep.equal(PUBLISHED);
    expect(upMessages()).to.deep.equal([`deploy ${SHA}`, `deploy ${SHA} (promote api v5, auth v2)`]);
    expect(candidate.hits.get("GET /health")).to.be.greaterThan(0);
    expect(live.hits.get("GET /health")).to.be.greaterThan(0);
    expect(readJson<{ base_url: string; passed: boolean }>("candidate-test-report.json")).to.include({ base_url: candidate.url, passed: true });
    expect(readJson<{ base_url: string }>("test-report.json").base_url).to.equal(live.url);
    expect(readJson<DeploymentSummary>("deployment-summary.json").live_versions).to.deep.equal(PUBLISHED);
    expect(fs.readFileSync(path.join(reportsDir, "deployment-changes.md"), "utf8")).to.include("**live** moved to api v5, auth v2 (was api v4, auth v2)");
  });

  it("does not move live when the new versions fail on the candidate stage", async () => {
    candidate.fault("GET /health", { kind: "status", status: 500, body: { status: "unhealthy" } });
    const result = await runDeploy(options());
    expect(result.status).to.equal("failed");
    expect(result.promotion).to.deep.include({ status: "not-promoted", live: LIVE_BEFORE });
    expect(result.error).to.equal("the new versions (api v5, auth v2) failed their smoke tests on the candidate stage; live stays at api v4, auth v2");
    expect(stack.upOptions).to.have.length(1);
    expect(pin()).to.deep.equal(LIVE_BEFORE);
    expect(live.hits.size).to.equal(0);
    expect(readJson<DeploymentSummary>("deployment-summary.json").live_versions).to.deep.equal(LIVE_BEFORE);
  });

  it("moves live back to the previous versions when a critical probe fails on the live stage, and says so", async () => {
    live.fault("GET /health", { kind: "status", status: 500, body: { status: "unhealthy" } });
    const result = await runDeploy(options());
    expect(result.status).to.equal("failed");
    expect(result.promotion).to.deep.include({ status: "rolled-back", previous: LIVE_BEFORE, candidate: PUBLISHED, live: LIVE_BEFORE });
    expect(result.live_versions).to.deep.equal(LIVE_BEFORE);
    expect(result.error).to.equal("smoke tests failed on the live stage after live moved to api v5, auth v2; live was moved back to api v4, auth v2");
    expect(upMessages()).to.deep.equal([`deploy ${SHA}`, `deploy ${SHA} (promote api v5, auth v2)`, `deploy ${SHA} (rollback to api v4, auth v2)`]);
    expect(pin()).to.deep.equal(LIVE_BEFORE);
    expect(readJson<DeployRunResult>("deployment-result.json").promotion.status).to.equal("rolled-back");
    const summary = readJson<DeploymentSummary>("deployment-summary.json");
    expect(summary.live_versions).to.deep.equal(LIVE_BEFORE);
    expect(summary.error).to.include("live was moved back to api v4, auth v2");
    expect(fs.readFileSync(path.join(reportsDir, "deployment-changes.md"), "utf8")).to.include("**Rolled back:**");
  });

  it("fails with the manual rollback steps when moving live back fails", async () => {
    live.fault("GET /health", { kind: "status", status: 500 });
    stack.ups = [{}, {}, { fail: () => sdkError("error: updating Lambda Alias (live): AccessDeniedException") }];
    let caught: unknown;
    try {
      await runDeploy(options());
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.include("moving it back failed").and.include(`people-register:liveVersions '${JSON.stringify(LIVE_BEFORE)}'`);
    expect((caught as { deployResult: DeployRunResult }).deployResult.promotion.status).to.equal("rollback-failed");
  });

  it("leaves live following the newest version on a stack that never had versions (nothing to roll back to)", async () => {
    stack.stackOutputs = { apiUrl: { value: live.url, secret: false } };
    const result = await runDeploy(options());
    expect(result.status).to.equal("succeeded");
    expect(result.promotion.status).to.equal("unpinned");
    expect(stack.config[LIVE_VERSIONS_KEY]).to.equal(undefined);
    expect(stack.upOptions).to.have.length(1);
    expect(result.live_versions).to.deep.equal(PUBLISHED);
  });
});
