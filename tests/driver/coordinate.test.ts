// Coordination: the strategy table, infrastructure changes against the last deployed commit in real
// git repositories (including a shallow clone), and full runs with local trigger files and steps that
// record their calls (the real deploy step needs AWS).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { simpleGit } from "simple-git";
import { silentLogger } from "../../automation/command";
import {
  chooseStrategy,
  COORDINATION_REPORTS,
  type CoordinationSteps,
  type DeployStepOutcome,
  detectInfrastructureChanges,
  isInfrastructurePath,
  runCoordination,
  STRATEGY_STEPS,
  type SyncStepInput,
} from "../../automation/coordinate/coordinate";
import { LocalTriggerStore, TriggerError } from "../../automation/coordinate/trigger";

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `coord-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

const repoGit = (dir: string) => simpleGit({ baseDir: dir, config: ["user.name=t", "user.email=t@example.com", "commit.gpgsign=false"] });
function write(dir: string, rel: string, content = `${rel}\n`): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), content);
}
async function commit(dir: string, files: Record<string, string>, message: string): Promise<string> {
  for (const [rel, content] of Object.entries(files)) write(dir, rel, content);
  const g = repoGit(dir);
  await g.add(["-A"]);
  await g.commit(message);
  return (await g.revparse(["HEAD"])).trim();
}
async function newRepo(): Promise<{ dir: string; first: string }> {
  const dir = tempDir("repo");
  await repoGit(dir).init(["-b", "main"]);
  const first = await commit(dir, { "stacks/index.ts": "export {};\n", "README.md": "# r\n", "lambda/main.py": "app = None\n" }, "initial");
  return { dir, first };
}

describe("coordinate: strategy table", () => {
  it("first match wins: both → full_coordinated, trigger → api_triggered, changes → infrastructure_only, neither → manual_trigger", () => {
    expect(chooseStrategy(true, true)).to.equal("full_coordinated");
    expect(chooseStrategy(true, false)).to.equal("api_triggered");
    expect(chooseStrategy(false, true)).to.equal("infrastructure_only");
    expect(chooseStrategy(false, false)).to.equal("manual_trigger");
  });
  it("drives the steps: sync only with a trigger, deploy unless nothing changed", () => {
    const table = Object.fromEntries(Object.entries(STRATEGY_STEPS).map(([k, v]) => [k, { sync: v.sync, deploy: v.deploy }]));
    expect(table).to.deep.equal({
      full_coordinated: { sync: true, deploy: true },
      api_triggered: { sync: true, deploy: true },
      infrastructure_only: { sync: false, deploy: true },
      manual_trigger: { sync: false, deploy: false },
    });
  });
  it("counts the program, handlers, policy, driver, project and dependency files as infrastructure, not lambda/ or docs", () => {
    for (const f of ["stacks/api.ts", "handlers/api/index.ts", "policy/index.ts", "automation/shared/build.ts", "Pulumi.yaml", "Pulumi.prod.yaml", "package.json", "package-lock.json", "tsconfig.json"]) {
      expect(isInfrastructurePath(f), f).to.equal(true);
    }
    for (const f of ["lambda/main.py", "lambda/src/app.py", "docs/readme/ci.md", "README.md", "tests/driver/x.test.ts", "reports/plan.json", "mystacks/x.ts"]) {
      expect(isInfrastructurePath(f), f).to.equal(false);
    }
  });
});

describe("coordinate: infrastructure changes (real git)", () => {
  it("treats everything as changed when no deployment is recorded, and says so", async () => {
    const { dir } = await newRepo();
    const changes = await detectInfrastructureChanges({ repoRoot: dir, log: silentLogger });
    expect(changes).to.include({ changed: true, method: "no-baseline" });
    expect(changes.note).to.contain("no record");
  });

  it("compares against the last deployed commit: docs and lambda/ changes do not count, stacks/ and untracked handlers/ do", async () => {
    const { dir, first } = await newRepo();
    await commit(dir, { "README.md": "# changed\n", "lambda/main.py": "app = 1\n", "docs/readme/x.md": "x\n" }, "docs and synced code");
    let changes = await detectInfrastructureChanges({ repoRoot: dir, baseCommit: first, log: silentLogger });
    expect(changes).to.include({ changed: false, method: "diff", base_commit: first });
    expect(changes.files).to.deep.equal([]);

    await commit(dir, { "stacks/index.ts": "export const x = 1;\n" }, "infra");
    write(dir, "handlers/api/new.ts", "export {};\n"); // untracked, not committed
    changes = await detectInfrastructureChanges({ repoRoot: dir, baseCommit: first, log: silentLogger });
    expect(changes.changed).to.equal(true);
    expect(changes.files).to.deep.equal(["handlers/api/new.ts", "stacks/index.ts"]);
    expect(changes.head_commit).to.match(/^[0-9a-f]{40}$/).and.not.equal(first);
  });

  it("reads paths relative to the project when it sits in a subfolder of a larger repository", async () => {
    const { dir } = await newRepo();
    const base = await commit(dir, { "infra/stacks/index.ts": "export {};\n" }, "project in a subfolder");
    await commit(dir, { "infra/stacks/index.ts": "export const y = 2;\n", "other/stacks/x.ts": "x\n" }, "change both");
    const changes = await detectInfrastructureChanges({ repoRoot: path.join(dir, "infra"), baseCommit: base, log: silentLogger });
    expect(changes.files).to.deep.equal(["stacks/index.ts"]);
  });

  it("fetches the history of a shallow clone to find the baseline", async () => {
    const { dir: origin, first } = await newRepo();
    await commit(origin, { "README.md": "# 2\n" }, "second");
    await commit(origin, { "README.md": "# 3\n" }, "third");
    const clone = tempDir("shallow");
    await simpleGit().clone(`file://${origin}`, clone, ["--depth", "1"]);
    expect((await simpleGit(clone).revparse(["--is-shallow-repository"])).trim()).to.equal("true");

    const changes = await detectInfrastructureChanges({ repoRoot: clone, baseCommit: first, log: silentLogger });
    expect(changes).to.include({ method: "diff", changed: false });
    expect(changes.fetched).to.contain("full history");
  });

  it("treats everything as changed when the baseline cannot be found, and says why", async () => {
    const { dir } = await newRepo();
    const missing = "0123456789abcdef0123456789abcdef01234567";
    const changes = await detectInfrastructureChanges({ repoRoot: dir, baseCommit: missing, log: silentLogger });
    expect(changes).to.include({ changed: true, method: "baseline-unavailable" });
    expect(changes.note).to.contain("0123456789ab").and.contain("treated as changed");
  });

  it("treats a folder outside git as changed", async () => {
    const changes = await detectInfrastructureChanges({ repoRoot: tempDir("nogit"), baseCommit: "abcdef1", log: silentLogger });
    expect(changes).to.include({ changed: true, method: "not-a-git-repository" });
  });
});

interface Recorder {
  steps: CoordinationSteps;
  calls: { sync: SyncStepInput[]; deploy: number };
}
function recordingSteps(opts: { baseline?: string; deploy?: Partial<DeployStepOutcome>; syncFails?: boolean; duringDeploy?: () => void } = {}): Recorder {
  const calls = { sync: [] as SyncStepInput[], deploy: 0 };
  return {
    calls,
    steps: {
      lastDeployedCommit: async () => opts.baseline,
      async sync(input) {
        calls.sync.push(input);
        if (opts.syncFails) throw new Error("source unreachable");
        fs.writeFileSync(path.join(input.reportsDir, COORDINATION_REPORTS.sync), JSON.stringify({ status: "synced", commit: input.ref ?? null }));
        return { commit: input.ref ?? null };
      },
      async deploy() {
        calls.deploy += 1;
        opts.duringDeploy?.();
        return { successful: true, stack_status: "succeeded", deployed_commit: "f".repeat(40), smoke: { status: "passed", total: 6, failed: 0 }, ...opts.deploy };
      },
    },
  };
}

const TRIGGER = { source: "registry-api", trigger_type: "api_deployment", source_commit: "ABCDEF1234567" };

async function setup(opts: { trigger?: object | string; infraChange?: boolean } = {}) {
  const { dir, first } = await newRepo();
  if (opts.infraChange) await commit(dir, { "stacks/tables.ts": "export {};\n" }, "infra change");
  const reportsDir = path.join(tempDir("reports"), "reports");
  const triggerFile = path.join(tempDir("trigger"), "api-deployment-trigger.json");
  if (opts.trigger) fs.writeFileSync(triggerFile, typeof opts.trigger === "string" ? opts.trigger : JSON.stringify(opts.trigger));
  const readReport = (name: keyof typeof COORDINATION_REPORTS) => JSON.parse(fs.readFileSync(path.join(reportsDir, COORDINATION_REPORTS[name]), "utf8"));
  return { dir, first, reportsDir, triggerFile, readReport };
}

describe("coordinate: runs", () => {
  it("full_coordinated: syncs at the trigger's commit, deploys, consumes the trigger and writes the four reports", async () => {
    const s = await setup({ trigger: TRIGGER, infraChange: true });
    const rec = recordingSteps({ baseline: s.first });
    const { plan, result } = await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", apiSource: "https://example.com/registry-api.git", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });

    expect(plan.strategy).to.equal("full_coordinated");
    expect(rec.calls.sync).to.have.length(1);
    expect(rec.calls.sync[0]).to.include({ source: "https://example.com/registry-api.git", ref: "abcdef1234567", strategy: "full_coordinated" });
    expect(rec.calls.deploy).to.equal(1);
    expect(result).to.include({ deployment_successful: true, synced_commit: "abcdef1234567", deployed_commit: "f".repeat(40) });

    expect(fs.existsSync(s.triggerFile)).to.equal(false);
    const record = JSON.parse(fs.readFileSync(`${s.triggerFile}.consumed`, "utf8"));
    expect(record).to.include({ strategy: "full_coordinated", deployed_commit: "f".repeat(40) });
    expect(record.trigger.source_commit).to.equal("abcdef1234567");

    expect(s.readReport("plan")).to.deep.include({ strategy: "full_coordinated", api_trigger_detected: true, infrastructure_changes_detected: true, steps: { sync: true, deploy: true } });
    expect(s.readReport("plan").infrastructure.files).to.deep.equal(["stacks/tables.ts"]);
    expect(s.readReport("sync")).to.include({ status: "synced" });
    expect(s.readReport("result")).to.deep.include({ deployment_successful: true, trigger: result.trigger });
    expect(s.readReport("result").trigger.consumed).to.equal(true);
    expect(s.readReport("integration")).to.include({ status: "passed", total: 6, failed: 0 });
  });

  it("api_triggered: a trigger and no infrastructure change syncs and deploys", async () => {
    const s = await setup({ trigger: TRIGGER });
    const rec = recordingSteps({ baseline: s.first });
    const { plan } = await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", apiSource: "/srv/registry-api", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });
    expect(plan.strategy).to.equal("api_triggered");
    expect([rec.calls.sync.length, rec.calls.deploy]).to.deep.equal([1, 1]);
  });

  it("infrastructure_only: deploys without syncing, and records the skipped sync as a status", async () => {
    const s = await setup({ infraChange: true });
    const rec = recordingSteps({ baseline: s.first });
    const { result } = await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });
    expect(result.strategy).to.equal("infrastructure_only");
    expect([rec.calls.sync.length, rec.calls.deploy]).to.deep.equal([0, 1]);
    expect(s.readReport("sync")).to.include({ status: "skipped" });
    expect(result.trigger.detail).to.equal("no trigger");
  });

  it("manual_trigger: nothing changed and no trigger runs no step and succeeds", async () => {
    const s = await setup();
    const rec = recordingSteps({ baseline: s.first });
    const { result } = await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });
    expect(result).to.include({ strategy: "manual_trigger", deployment_successful: true });
    expect([rec.calls.sync.length, rec.calls.deploy]).to.deep.equal([0, 0]);
    expect(s.readReport("integration")).to.include({ status: "skipped" });
    expect(result.steps.deploy.status).to.equal("skipped");
  });

  it("a manual run with --api-ref (no trigger) is an API request: it syncs that ref and deploys", async () => {
    const s = await setup();
    const rec = recordingSteps({ baseline: s.first });
    const { plan } = await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", apiSource: "/srv/api", apiRef: "v1.2.3", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });
    expect(plan).to.include({ strategy: "api_triggered", api_request: "flag" });
    expect(rec.calls.sync[0]).to.include({ source: "/srv/api", ref: "v1.2.3" });
    expect(rec.calls.deploy).to.equal(1);
  });

  it("without a recorded deployment, infrastructure counts as changed (infrastructure_only)", async () => {
    const s = await setup();
    const rec = recordingSteps({ baseline: undefined });
    const { plan } = await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", steps: rec.steps, log: silentLogger });
    expect(plan.strategy).to.equal("infrastructure_only");
    expect(plan.infrastructure.method).to.equal("no-baseline");
    expect(rec.calls.deploy).to.equal(1);
  });

  it("a failed deploy leaves the trigger in place for the next run", async () => {
    const s = await setup({ trigger: TRIGGER });
    const rec = recordingSteps({ baseline: s.first, deploy: { successful: false, stack_status: "failed", error: "up failed", smoke: { status: "skipped", reason: "deploy failed" } } });
    const { result } = await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", apiSource: "/srv/api", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });
    expect(result.deployment_successful).to.equal(false);
    expect(result.error).to.contain("up failed");
    expect(result.trigger.consumed).to.equal(false);
    expect(fs.existsSync(s.triggerFile)).to.equal(true);
    expect(fs.existsSync(`${s.triggerFile}.consumed`)).to.equal(false);
  });

  it("a failed smoke run fails the coordination and keeps the trigger", async () => {
    const s = await setup({ trigger: TRIGGER });
    const rec = recordingSteps({ baseline: s.first, deploy: { successful: false, stack_status: "succeeded", error: "1 critical probe failed", smoke: { status: "failed", total: 6, failed: 1, failures: ["GET /health"] } } });
    const { result } = await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", apiSource: "/srv/api", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });
    expect(result.deployment_successful).to.equal(false);
    expect(s.readReport("integration")).to.deep.include({ status: "failed", failures: ["GET /health"] });
    expect(fs.existsSync(s.triggerFile)).to.equal(true);
  });

  it("a failed sync skips the deploy and keeps the trigger", async () => {
    const s = await setup({ trigger: TRIGGER });
    const rec = recordingSteps({ baseline: s.first, syncFails: true });
    const { result } = await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", apiSource: "/srv/api", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });
    expect(rec.calls.deploy).to.equal(0);
    expect(result.steps.sync.status).to.equal("failed");
    expect(result.steps.deploy).to.deep.equal({ status: "skipped", detail: "not run: the sync failed" });
    expect(s.readReport("sync")).to.include({ status: "failed" });
    expect(fs.existsSync(s.triggerFile)).to.equal(true);
  });

  it("does not consume a trigger that was rewritten during the run", async () => {
    const s = await setup({ trigger: TRIGGER });
    const newer = { ...TRIGGER, source_commit: "1234567abcdef" };
    const rec = recordingSteps({ baseline: s.first, duringDeploy: () => fs.writeFileSync(s.triggerFile, JSON.stringify(newer)) });
    const { result } = await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", apiSource: "/srv/api", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });
    expect(result.deployment_successful).to.equal(true);
    expect(result.trigger.consumed).to.equal(false);
    expect(result.trigger.detail).to.contain("newer trigger");
    expect(JSON.parse(fs.readFileSync(s.triggerFile, "utf8")).source_commit).to.equal("1234567abcdef");
  });

  it("refuses an invalid trigger before running any step", async () => {
    const s = await setup({ trigger: { source: "registry-api", trigger_type: "api deployment; rm -rf /", source_commit: "main" } });
    const rec = recordingSteps({ baseline: s.first });
    let error: unknown;
    try {
      await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", apiSource: "/srv/api", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(TriggerError);
    expect((error as Error).message).to.contain("trigger_type").and.contain("source_commit");
    expect([rec.calls.sync.length, rec.calls.deploy]).to.deep.equal([0, 0]);
    expect(fs.existsSync(s.triggerFile)).to.equal(true);
  });

  it("never takes the repository from the trigger: a sync needs --api-source, even when the trigger names a URL", async () => {
    for (const source of ["registry-api", "https://attacker.example/evil.git"]) {
      const s = await setup({ trigger: { ...TRIGGER, source } });
      const rec = recordingSteps({ baseline: s.first });
      let error: unknown;
      try {
        await runCoordination({ repoRoot: s.dir, reportsDir: s.reportsDir, stack: "prod", trigger: new LocalTriggerStore(s.triggerFile), steps: rec.steps, log: silentLogger });
      } catch (err) {
        error = err;
      }
      expect((error as Error).message, source).to.contain("--api-source");
      expect(rec.calls.sync, source).to.have.length(0);
      expect(fs.existsSync(s.triggerFile), source).to.equal(true);
    }
  });
});
