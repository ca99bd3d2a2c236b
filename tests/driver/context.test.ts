// The execution-mode decision table, from flags, GitHub Actions, CodeCatalyst or a local checkout.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { buildDeploymentContext, currentBranch, decideMode, headCommit, resolveExecution } from "../../automation/context";

describe("execution context", () => {
  it("applies the decision table: pull request → validation; push/manual on main → deployment; else validation", () => {
    expect(decideMode("pull_request", "main")).to.equal("validation");
    expect(decideMode("push", "main")).to.equal("deployment");
    expect(decideMode("manual", "main")).to.equal("deployment");
    expect(decideMode("push", "feature/x")).to.equal("validation");
    expect(decideMode("schedule", "main")).to.equal("validation");
    expect(decideMode("push", "")).to.equal("validation");
  });

  it("reads GitHub Actions: push to main deploys; a PR validates on its head branch; workflow_dispatch is manual", () => {
    expect(resolveExecution({}, { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF_NAME: "main" })).to.deep.equal({
      execution_mode: "deployment", trigger_type: "push", branch: "main", is_main_branch: true, source: "github",
    });
    expect(resolveExecution({}, { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "pull_request", GITHUB_REF_NAME: "42/merge", GITHUB_HEAD_REF: "feature/login" })).to.deep.equal({
      execution_mode: "validation", trigger_type: "pull_request", branch: "feature/login", is_main_branch: false, source: "github",
    });
    // A PR from a branch called main (e.g. a fork's main) is still only validated.
    expect(resolveExecution({}, { GITHUB_EVENT_NAME: "pull_request", GITHUB_HEAD_REF: "main" }).execution_mode).to.equal("validation");
    expect(resolveExecution({}, { GITHUB_EVENT_NAME: "workflow_dispatch", GITHUB_REF_NAME: "main" })).to.include({ trigger_type: "manual", execution_mode: "deployment" });
  });

  it("reads CodeCatalyst trigger type and source branch", () => {
    expect(resolveExecution({}, { CODECATALYST_TRIGGER_TYPE: "PUSH", CODECATALYST_SOURCE_BRANCH_NAME: "main" })).to.deep.equal({
      execution_mode: "deployment", trigger_type: "push", branch: "main", is_main_branch: true, source: "codecatalyst",
    });
    expect(resolveExecution({}, { CODECATALYST_TRIGGER_TYPE: "PULLREQUEST", CODECATALYST_SOURCE_BRANCH_NAME: "main" }).execution_mode).to.equal("validation");
    expect(resolveExecution({}, { CODECATALYST_TRIGGER_TYPE: "MANUAL", CODECATALYST_SOURCE_BRANCH_NAME: "refs/heads/dev" })).to.include({ branch: "dev", execution_mode: "validation" });
  });

  it("lets flags override the environment, one fact at a time; --mode overrides the table", () => {
    const ci = { GITHUB_EVENT_NAME: "push", GITHUB_REF_NAME: "main" };
    expect(resolveExecution({ trigger: "pr" }, ci)).to.include({ trigger_type: "pull_request", branch: "main", execution_mode: "validation", source: "flags" });
    expect(resolveExecution({ branch: "dev" }, ci)).to.include({ trigger_type: "push", execution_mode: "validation", is_main_branch: false });
    expect(resolveExecution({ mode: "validate" }, ci)).to.include({ execution_mode: "validation", branch: "main" });
    expect(resolveExecution({ mode: "deployment", trigger: "manual", branch: "hotfix" }, {})).to.include({ execution_mode: "deployment", is_main_branch: false });
    expect(() => resolveExecution({ mode: "yolo" }, {})).to.throw(/--mode must be deployment or validation/);
    expect(() => resolveExecution({ trigger: "push; rm -rf /" }, {})).to.throw(/trigger must be a word/);
  });

  it("locally: a manual run on the current git branch; a committed env file changes nothing", async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), "context-"));
    try {
      const git = (...args: string[]) => execFileSync("git", args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" }, encoding: "utf8" }).trim();
      git("init", "-q", "-b", "main");
      // The old CI's stale committed mode file: must not flip anything.
      fs.writeFileSync(path.join(repo, "deployment-mode.env"), "EXECUTION_MODE=validation\nIS_MAIN_BRANCH=false\n");
      git("add", "-A");
      git("commit", "-q", "-m", "init");
      expect(await currentBranch(repo)).to.equal("main");
      expect(await headCommit(repo)).to.equal(git("rev-parse", "HEAD"));
      const onMain = await buildDeploymentContext({ repoRoot: repo, env: {} });
      expect(onMain).to.include({ execution_mode: "deployment", trigger_type: "manual", branch: "main", is_main_branch: true, commit: git("rev-parse", "HEAD") });
      git("checkout", "-q", "-b", "feature");
      expect((await buildDeploymentContext({ repoRoot: repo, env: {} })).execution_mode).to.equal("validation");
      git("checkout", "-q", "--detach");
      expect(await currentBranch(repo)).to.equal(null);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });
});
