// `detect` in every sync state, and the handler overrides: deployment-context.json and exit codes.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { type CommandContext, type Logger, silentLogger, UsageError } from "../../automation/command";
import { command as detectCommand } from "../../automation/commands/detect";
import { buildDeploymentContext, type DeploymentContext } from "../../automation/context";
import { syncRepository } from "../../automation/sync/sync";

const REPO = path.resolve(__dirname, "../..");
const CI_MAIN = { GITHUB_EVENT_NAME: "push", GITHUB_REF_NAME: "main", GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567" };
const OLD_FIELDS = ["deployment_type", "timestamp", "branch", "commit", "api_sync_detected", "execution_mode", "trigger_type", "is_main_branch", "skip_deployment", "skip_testing"];

describe("detect", function () {
  this.timeout(30_000);
  let tmp: string;
  let project: string;
  let reportsDir: string;
  let source: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "detect-test-"));
    project = path.join(tmp, "project");
    reportsDir = path.join(tmp, "reports");
    errors = [];
    source = path.join(tmp, "api");
    fs.cpSync(path.join(REPO, "handlers", "integrated"), path.join(project, "handlers", "integrated"), { recursive: true });
    fs.mkdirSync(path.join(source, "src", "people"), { recursive: true });
    fs.writeFileSync(path.join(source, "main.py"), "from people import app\n");
    fs.writeFileSync(path.join(source, "src", "people", "__init__.py"), "app = None\n");
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  let errors: string[];
  const log: Logger = { ...silentLogger, error: (m) => errors.push(m) };
  const ctx = (env: NodeJS.ProcessEnv = CI_MAIN): CommandContext => ({ json: true, reportsDir, repoRoot: project, log, signal: new AbortController().signal, env });
  const report = (): DeploymentContext => JSON.parse(fs.readFileSync(path.join(reportsDir, "deployment-context.json"), "utf8"));
  const run = (values: Record<string, string> = {}, env?: NodeJS.ProcessEnv) => detectCommand.run(values, ctx(env));

  it("nothing synced: infrastructure_only with the enhanced handler; keeps the old fields", async () => {
    const out = await run();
    expect(out.exitCode).to.equal(0);
    const c = report();
    expect(c).to.include.keys(...OLD_FIELDS, "handler", "reason", "sync_source", "sync_commit");
    expect(c).to.include({
      deployment_type: "infrastructure_only", api_sync_detected: false, handler: "enhanced", execution_mode: "deployment",
      trigger_type: "push", branch: "main", is_main_branch: true, skip_deployment: false, skip_testing: false, sync_source: null, sync_commit: null,
    });
    expect(c.commit).to.equal(CI_MAIN.GITHUB_SHA);
    expect(c.reason).to.match(/no synced API code/);
  });

  it("synced: api_sync with the integrated handler, the sync's source and commit", async () => {
    await syncRepository({ repoRoot: project, source });
    await run();
    expect(report()).to.include({ deployment_type: "api_sync", api_sync_detected: true, handler: "integrated", sync_source: source, sync_commit: "unversioned" });
    expect(report().sync_problems).to.deep.equal([]);
  });

  it("synced then edited: exit 1 naming every modified, missing and added file; the report still says so", async () => {
    await syncRepository({ repoRoot: project, source });
    const lambda = path.join(project, "lambda");
    fs.appendFileSync(path.join(lambda, "main.py"), "# hotfix on the build machine\n");
    fs.rmSync(path.join(lambda, "src", "people", "__init__.py"));
    fs.writeFileSync(path.join(lambda, "src", "people", "backdoor.py"), "x = 1\n");
    const out = await run();
    expect(out.exitCode).to.equal(1);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.match(/^synced code was modified after sync: main\.py \(modified\), src\/people\/__init__\.py \(missing\), src\/people\/backdoor\.py \(added\)/);
    expect(out.result).to.deep.equal(report());
    const c = report();
    expect(c.sync_problems).to.deep.equal(["main.py (modified)", "src/people/__init__.py (missing)", "src/people/backdoor.py (added)"]);
    expect(c).to.include({ api_sync_detected: false, handler: null, skip_deployment: true });
    // Forcing the enhanced handler selects it, but detect still refuses to pass silently.
    expect((await run({ handler: "enhanced" })).exitCode).to.equal(1);
    expect(errors[1]).to.match(/modified after sync/);
    expect(report().handler).to.equal("enhanced");
  });

  it("main.py without src/: not synced (the old CI said it was), enhanced handler", async () => {
    fs.mkdirSync(path.join(project, "lambda"), { recursive: true });
    fs.writeFileSync(path.join(project, "lambda", "main.py"), "app = None\n");
    await run();
    expect(report()).to.include({ deployment_type: "infrastructure_only", api_sync_detected: false, handler: "enhanced" });
    expect(report().reason).to.match(/lambda\/src\/ is missing/);
  });

  it("handler overrides: enhanced over a good sync; integrated without a sync fails with the reason", async () => {
    await syncRepository({ repoRoot: project, source });
    await run({ handler: "enhanced" });
    expect(report()).to.include({ handler: "enhanced", api_sync_detected: true });
    expect(report().reason).to.match(/forced by handler=enhanced/);

    fs.rmSync(path.join(project, "lambda"), { recursive: true });
    expect((await run({ handler: "integrated" })).exitCode).to.equal(1);
    expect(errors[0]).to.match(/no handler can be selected: handler=integrated but no synced API code/);
    expect(report()).to.include({ handler: null, skip_deployment: true });
    const bad = await run({ handler: "legacy" }).then(() => undefined, (e: Error) => e);
    expect(bad).to.be.instanceOf(UsageError);
  });

  it("validation mode skips deployment and testing (pull request, or flags)", async () => {
    await run({}, { GITHUB_EVENT_NAME: "pull_request", GITHUB_HEAD_REF: "feature" });
    expect(report()).to.include({ execution_mode: "validation", trigger_type: "pull_request", branch: "feature", skip_deployment: true, skip_testing: true });
    await run({ mode: "validation", branch: "main", trigger: "push" }, {});
    expect(report()).to.include({ execution_mode: "validation", is_main_branch: true, skip_deployment: true });
  });

  it("buildDeploymentContext works outside a git checkout and without CI variables", async () => {
    const c = await buildDeploymentContext({ repoRoot: project, env: {} });
    expect(c).to.include({ commit: "unknown", branch: "", trigger_type: "manual", execution_mode: "validation" });
  });
});
