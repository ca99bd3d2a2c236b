// `ci`: the execution mode from the GitHub / CodeCatalyst environment picks preview (with a PR comment
// on GitHub pull requests) or deploy, and the flags meant for that command are passed through.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { type CommandContext, type CommandSpec, type OptionValues, silentLogger } from "../../automation/command";
import { resolveExecution } from "../../automation/context";
import { routeCi, runCi } from "../../automation/commands/ci";
import { REPO_ROOT } from "../../automation/shared/paths";

const GITHUB_PR = { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "pull_request", GITHUB_REF_NAME: "42/merge", GITHUB_HEAD_REF: "feature/x" };
const GITHUB_PUSH_MAIN = { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF_NAME: "main" };
const GITHUB_DISPATCH_MAIN = { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "workflow_dispatch", GITHUB_REF_NAME: "main" };
const GITHUB_PUSH_FEATURE = { GITHUB_ACTIONS: "true", GITHUB_EVENT_NAME: "push", GITHUB_REF_NAME: "feature/x" };
const CODECATALYST_PUSH_MAIN = { CODECATALYST_TRIGGER_TYPE: "PUSH", CODECATALYST_SOURCE_BRANCH_NAME: "main" };
const CODECATALYST_PR = { CODECATALYST_TRIGGER_TYPE: "PULLREQUEST", CODECATALYST_SOURCE_BRANCH_NAME: "feature/x" };

describe("ci: routing", () => {
  const route = (env: NodeJS.ProcessEnv, prGiven = false) => routeCi(resolveExecution({}, env, null), { prGiven });

  it("GitHub pull request → preview with the PR comment", () => {
    expect(route(GITHUB_PR)).to.include({ command: "preview", comment: true });
  });
  it("push or manual run on main → deploy (GitHub and CodeCatalyst)", () => {
    for (const env of [GITHUB_PUSH_MAIN, GITHUB_DISPATCH_MAIN, CODECATALYST_PUSH_MAIN]) expect(route(env)).to.include({ command: "deploy", comment: false });
  });
  it("anything else → preview without a comment", () => {
    expect(route(GITHUB_PUSH_FEATURE)).to.include({ command: "preview", comment: false });
    expect(route({})).to.include({ command: "preview", comment: false });
  });
  it("a CodeCatalyst pull request previews without a GitHub comment, unless --pr names one", () => {
    expect(route(CODECATALYST_PR)).to.include({ command: "preview", comment: false });
    expect(route(CODECATALYST_PR, true)).to.include({ command: "preview", comment: true });
  });
});

describe("ci: running the chosen command", () => {
  function recordingTargets() {
    const calls: { command: string; values: OptionValues }[] = [];
    const target = (name: "preview" | "deploy", options: CommandSpec["options"]) => ({
      options,
      run: async (values: OptionValues) => {
        calls.push({ command: name, values });
        return { exitCode: name === "deploy" ? 1 : 0, result: { ran: name } };
      },
    });
    return {
      calls,
      targets: {
        preview: target("preview", { stack: { type: "string" }, markdown: { type: "string" }, comment: { type: "boolean" }, "policy-pack": { type: "string", multiple: true } }),
        deploy: target("deploy", { stack: { type: "string" }, "allow-destructive": { type: "boolean" }, "policy-pack": { type: "string", multiple: true } }),
      },
    };
  }
  const ctx = (env: NodeJS.ProcessEnv): CommandContext => {
    const warnings: string[] = [];
    return { json: true, reportsDir: "/tmp/none", repoRoot: REPO_ROOT, signal: new AbortController().signal, env, log: { ...silentLogger, warn: (m) => warnings.push(m) }, warnings } as CommandContext & { warnings: string[] };
  };

  it("pull request: forwards the preview flags, sets --comment, and names the deploy-only flags it ignores", async () => {
    const { calls, targets } = recordingTargets();
    const c = ctx(GITHUB_PR);
    const outcome = await runCi({ stack: "staging", markdown: "reports/p.md", "policy-pack": ["policy"], "allow-destructive": true }, c, targets);
    expect(calls).to.deep.equal([{ command: "preview", values: { stack: "staging", markdown: "reports/p.md", "policy-pack": ["policy"], comment: true } }]);
    expect(outcome.exitCode).to.equal(0);
    expect((c as unknown as { warnings: string[] }).warnings.join()).to.contain("--allow-destructive");
  });

  it("push to main: runs deploy with its flags and returns its exit code", async () => {
    const { calls, targets } = recordingTargets();
    const outcome = await runCi({ "allow-destructive": true, markdown: "x.md" }, ctx({ ...GITHUB_PUSH_MAIN, PULUMI_STACK: "prod" }), targets);
    expect(calls).to.deep.equal([{ command: "deploy", values: { stack: "prod", "allow-destructive": true } }]);
    expect(outcome.exitCode).to.equal(1);
    expect((outcome.result as { deploy: unknown }).deploy).to.deep.equal({ ran: "deploy" });
  });

  it("--mode/--trigger/--branch override the environment; --explain runs nothing", async () => {
    const { calls, targets } = recordingTargets();
    const outcome = await runCi({ trigger: "push", branch: "main", explain: true }, ctx(GITHUB_PR), targets);
    expect(calls).to.deep.equal([]);
    expect((outcome.result as { route: { command: string } }).route.command).to.equal("deploy");
  });
});

describe("ci: through the CLI", () => {
  let reports: string;
  before(() => {
    reports = fs.mkdtempSync(path.join(os.tmpdir(), "ci-cli-"));
  });
  after(() => fs.rmSync(reports, { recursive: true, force: true }));

  it("parses the workflow's flags and explains the route from a GitHub pull_request environment", async () => {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...GITHUB_PR };
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [require.resolve("tsx/cli"), "automation/cli.ts", "ci", "--stack", "prod", "--markdown", "reports/preview.md", "--policy-pack", "policy", "--explain", "--json", "--reports-dir", reports],
      { cwd: REPO_ROOT, env },
    );
    const decision = JSON.parse(stdout);
    expect(decision.route).to.include({ command: "preview", comment: true });
    expect(decision.forwarded).to.deep.equal({ stack: "prod", markdown: "reports/preview.md", "policy-pack": ["policy"], comment: true });
    expect(decision.execution).to.include({ source: "github", trigger_type: "pull_request", branch: "feature/x" });
  });
});
