// `coordinate` wired to the real steps: the trigger names a commit of a local registry-api repository,
// the real sync mirrors it into lambda/, and the deploy step meets no Pulumi CLI on this machine, so
// the run fails and the trigger stays in place for the next run.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { simpleGit } from "simple-git";
import { type CommandContext, silentLogger } from "../../automation/command";
import { command, defaultStack, deployOutcome } from "../../automation/commands/coordinate";
import type { DeployRunResult } from "../../automation/commands/deploy";
import { REPO_ROOT } from "../../automation/shared/paths";

function onPath(binary: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const gitIn = (dir: string) => simpleGit({ baseDir: dir, config: ["user.name=t", "user.email=t@example.com", "commit.gpgsign=false"] });
async function repoWith(dir: string, files: Record<string, string>): Promise<string> {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  const g = gitIn(dir);
  await g.init(["-b", "main"]);
  await g.add(["-A"]);
  await g.commit("initial");
  return (await g.revparse(["HEAD"])).trim();
}

describe("coordinate command (real sync, no engine)", function () {
  this.timeout(60000);
  const dirs: string[] = [];
  const temp = (p: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `coord-cmd-${p}-`));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("syncs the triggering commit, reports the failed deploy and keeps the trigger", async function () {
    if (onPath("pulumi")) this.skip(); // this test is about the run failing where no Pulumi CLI exists
    const project = temp("project");
    // A project checkout: the sync merges the shim's requirements from handlers/integrated/.
    const shimRequirements = fs.readFileSync(path.join(REPO_ROOT, "handlers", "integrated", "requirements.txt"), "utf8");
    await repoWith(project, { "stacks/index.ts": "export {};\n", "Pulumi.yaml": "name: people-register\nruntime: nodejs\n", "handlers/integrated/requirements.txt": shimRequirements });
    const api = temp("api");
    const apiCommit = await repoWith(api, { "main.py": "from src.app import app\n", "src/app.py": "app = object()\n", "requirements.txt": "fastapi==0.115.0\n" });
    const triggerFile = path.join(temp("trigger"), "api-deployment-trigger.json");
    fs.writeFileSync(triggerFile, JSON.stringify({ source: "registry-api", trigger_type: "api_deployment", source_commit: apiCommit }));
    const reportsDir = path.join(temp("reports"), "reports");

    const ctx: CommandContext = { json: true, reportsDir, repoRoot: project, log: silentLogger, signal: new AbortController().signal, env: { ...process.env, PULUMI_VERSION: "" } };
    const outcome = await command.run({ trigger: triggerFile, "api-source": api, stack: "ci-test", "skip-smoke": true }, ctx);

    const read = (name: string) => JSON.parse(fs.readFileSync(path.join(reportsDir, name), "utf8"));
    expect(outcome.exitCode).to.equal(1);
    expect(read("coordination-plan.json")).to.include({ strategy: "full_coordinated", stack: "ci-test" });
    expect(read("sync-summary.json")).to.include({ status: "synced", commit: apiCommit });
    expect(fs.readFileSync(path.join(project, "lambda", "src", "app.py"), "utf8")).to.equal("app = object()\n");
    const result = read("coordinated-deployment-result.json");
    expect(result.steps.sync.status).to.equal("succeeded");
    expect(result.steps.deploy.status).to.equal("failed");
    expect(result.steps.deploy.detail.toLowerCase()).to.contain("pulumi");
    expect(result.trigger).to.include({ consumed: false });
    expect(fs.existsSync(triggerFile)).to.equal(true);
    expect(read("integration-test-report.json").status).to.equal("skipped");
  });

  it("defaults the stack to PULUMI_STACK, else prod", () => {
    expect(defaultStack({})).to.equal("prod");
    expect(defaultStack({ PULUMI_STACK: "staging" })).to.equal("staging");
  });

  it("maps a deploy result onto the coordination step: smoke totals, failure, deployed commit", () => {
    const base = { stack: "prod", deployed: true, commit: "a".repeat(40), reports: { test_json: "/r/test-report.json" } } as unknown as DeployRunResult;
    const ok = deployOutcome({ ...base, status: "succeeded", smoke: { status: "passed", totals: { passed: 5, failed: 0, skipped: 1, critical_failed: 0 } } });
    expect(ok).to.deep.include({ successful: true, deployed_commit: "a".repeat(40) });
    expect(ok.smoke).to.deep.equal({ status: "passed", total: 6, failed: 0, report: "/r/test-report.json" });
    const failed = deployOutcome({ ...base, status: "failed", error: "smoke tests failed after the update", smoke: { status: "failed", totals: { passed: 4, failed: 2, skipped: 0, critical_failed: 1 } } });
    expect(failed).to.deep.include({ successful: false, error: "smoke tests failed after the update" });
    const blocked = deployOutcome({ ...base, deployed: false, status: "blocked", smoke: { status: "skipped", reason: "not deployed" } });
    expect(blocked).to.deep.include({ successful: false, deployed_commit: null });
  });
});
