// `prepare`: the enhanced bundles, and the integrated package built with the machine's pip from
// hand-made wheels (PyPI is unreachable here), then served by the shim with python3.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { silentLogger } from "../../automation/command";
import { command as prepareCommand } from "../../automation/commands/prepare";
import { repoPaths } from "../../automation/shared/paths";
import { describePipFailure, INTEGRATED_PLATFORM, type IntegratedMarker, type IntegrationReport, pipArguments, PrepareError, prepareIntegration } from "../../automation/sync/prepare";
import { HandlerSelectionError } from "../../automation/shared/select";
import { syncRepository } from "../../automation/sync/sync";

const REPO = path.resolve(__dirname, "../..");
const INTEGRATED_TESTS = path.join(REPO, "tests", "integrated");
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
const python = spawnSync("python3", ["-m", "pip", "--version"], { encoding: "utf8" });
const havePip = python.status === 0;

function makeWheel(dir: string, name: string, version: string, packageDir?: string): void {
  execFileSync("python3", [path.join(INTEGRATED_TESTS, "make_wheel.py"), dir, name, version, ...(packageDir ? [packageDir] : [])]);
}

describe("prepare", function () {
  this.timeout(60_000);
  let tmp: string;
  let project: string;
  let source: string;
  let wheels: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "prepare-test-"));
    project = path.join(tmp, "project");
    source = path.join(tmp, "registry-api");
    wheels = path.join(tmp, "wheels");
    fs.cpSync(path.join(REPO, "handlers", "integrated"), path.join(project, "handlers", "integrated"), { recursive: true });
    // The stand-in app: main.py imports from src/ (see tests/integrated/fixtures/app_ok).
    fs.cpSync(path.join(INTEGRATED_TESTS, "fixtures", "app_ok"), source, { recursive: true });
    fs.writeFileSync(path.join(source, "requirements.txt"), "# uv export\nfastapi==0.110.0 \\\n    --hash=sha256:00\n    # via registry-api\npytest==8.2.0\n");
    execFileSync("git", ["init", "-q", "-b", "main"], { cwd: source, env: GIT_ENV });
    execFileSync("git", ["add", "-A"], { cwd: source, env: GIT_ENV });
    execFileSync("git", ["commit", "-q", "-m", "api"], { cwd: source, env: GIT_ENV });
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("enhanced (nothing synced): bundles the TypeScript handlers and reports them", async () => {
    const report = await prepareIntegration({ repoRoot: project, log: silentLogger });
    expect(report).to.include({ handler: "enhanced", forced: false, requirements: null, package_dir: null });
    expect(report.files_written).to.deep.equal([".build/handlers/api/index.js", ".build/handlers/auth/index.js"]);
    for (const f of report.files_written) expect(fs.existsSync(path.join(project, f)), f).to.equal(true);
    expect(report.bundles?.api?.sha256).to.match(/^[0-9a-f]{64}$/);
  });

  it("integrated without synced code is refused with the reason", async () => {
    const err = await prepareIntegration({ repoRoot: project, preference: "integrated" }).then(() => undefined, (e: Error) => e);
    expect(err).to.be.instanceOf(HandlerSelectionError);
    expect(err!.message).to.match(/handler=integrated but no synced API code/);
  });

  describe("integrated package", function () {
    before(function () {
      if (!havePip) this.skip(); // python3 with pip is needed to build the package
    });

    beforeEach(async () => {
      makeWheel(wheels, "mangum", "0.17.0", path.join(INTEGRATED_TESTS, "fixtures", "standin_mangum", "mangum"));
      makeWheel(wheels, "fastapi", "0.110.0");
      await syncRepository({ repoRoot: project, source });
    });

    it("builds code + shim + dependencies for manylinux2014_x86_64 / CPython 3.12, writes the marker, and the shim serves the app", async () => {
      const paths = repoPaths(project);
      fs.mkdirSync(paths.integratedDir, { recursive: true });
      fs.writeFileSync(path.join(paths.integratedDir, "stale_from_last_time.py"), "x\n");

      // Through the command, as CI runs it: it also writes api-integration.json.
      const reportsDir = path.join(tmp, "reports");
      const ctx = { json: true, reportsDir, repoRoot: project, log: silentLogger, signal: new AbortController().signal, env: { ...process.env, PIP_INDEX_URL: "" } };
      const out = await prepareCommand.run({ "pip-find-links": wheels }, ctx);
      expect(out.exitCode).to.equal(0);
      expect(out.summary).to.match(/dropped pytest/);
      const report = out.result as IntegrationReport;
      expect(JSON.parse(fs.readFileSync(path.join(reportsDir, "api-integration.json"), "utf8"))).to.deep.equal(JSON.parse(JSON.stringify(report)));
      expect(report.reason).to.match(/^auto: synced from/);
      expect(report.requirements!.notes.join(" ")).to.match(/--hash options were removed/);
      expect(report).to.include({ handler: "integrated", package_dir: ".build/integrated", dependencies_installed: true });
      expect(report.installed).to.deep.equal(["fastapi 0.110.0", "mangum 0.17.0"]);
      // The report is the sync's merge of the API's own file.
      expect(report.requirements).to.include({ source: "requirements.txt" });
      expect(report.requirements!.kept).to.deep.equal(["fastapi"]);
      expect(report.requirements!.added).to.deep.equal(["mangum"]);
      expect(report.requirements!.dropped).to.deep.equal(["pytest"]);
      expect(report.files_written).to.include.members([".build/integrated/main.py", ".build/integrated/src/people/store.py", ".build/integrated/integrated_api_handler.py", ".build/integrated/.prepared.json"]);

      const pkg = paths.integratedDir;
      expect(fs.existsSync(path.join(pkg, "stale_from_last_time.py"))).to.equal(false);
      expect(fs.existsSync(path.join(pkg, "mangum", "__init__.py"))).to.equal(true);
      const marker: IntegratedMarker = JSON.parse(fs.readFileSync(paths.integratedMarker, "utf8"));
      const syncCommit = JSON.parse(fs.readFileSync(paths.syncMetadata, "utf8")).source_commit;
      expect(marker).to.include({ source_commit: syncCommit, python_version: "3.12", platform: INTEGRATED_PLATFORM });
      expect(marker.requirements_sha256).to.equal(createHash("sha256").update(fs.readFileSync(path.join(pkg, "requirements.txt"))).digest("hex"));
      expect(Date.parse(marker.prepared_at)).to.be.a("number").and.not.NaN;

      // The package really runs: Lambda's view (package dir first on sys.path) answering an API Gateway event.
      const event = JSON.stringify({ httpMethod: "GET", path: "/people", headers: {}, queryStringParameters: null, body: null, isBase64Encoded: false });
      const served = execFileSync("python3", ["-c", `import json,sys; sys.path.insert(0, sys.argv[1]); import integrated_api_handler as h; print(json.dumps(h.handler(json.loads(sys.argv[2]), None)))`, pkg, event], { encoding: "utf8" });
      const response = JSON.parse(served.trim().split("\n").pop()!);
      expect(response.statusCode).to.equal(200);
      expect(JSON.parse(response.body)).to.deep.equal({ people: [{ id: "p-1", firstName: "Ada" }] });
    });

    it("names the package pip failed on and keeps the previous package", async () => {
      // A package prepared earlier (stand-in: its marker) must survive the failed attempt.
      const paths = repoPaths(project);
      fs.mkdirSync(paths.integratedDir, { recursive: true });
      const markerBefore = JSON.stringify({ source_commit: "earlier", prepared_at: "2026-01-01T00:00:00.000Z" });
      fs.writeFileSync(paths.integratedMarker, markerBefore);
      fs.appendFileSync(path.join(source, "requirements.txt"), "Missing_Dependency==9.9\n");
      execFileSync("git", ["commit", "-q", "-am", "dep"], { cwd: source, env: GIT_ENV });
      await syncRepository({ repoRoot: project, source });
      const err = await prepareIntegration({ repoRoot: project, pipFindLinks: wheels, env: { ...process.env, PIP_INDEX_URL: "" } }).then(() => undefined, (e: Error) => e);
      expect(err).to.be.instanceOf(PrepareError);
      expect(err!.message).to.match(/^pip could not install missing-dependency==9\.9: /);
      expect(err!.message).to.not.include("\n");
      expect(fs.readFileSync(paths.integratedMarker, "utf8")).to.equal(markerBefore);
      expect(fs.readdirSync(paths.buildDir).filter((n) => n.includes(".tmp-"))).to.deep.equal([]);
    });

    it("a missing Python is one clear line", async () => {
      const err = await prepareIntegration({ repoRoot: project, pipFindLinks: wheels, python: path.join(tmp, "no-such-python3") }).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.equal(`${path.join(tmp, "no-such-python3")} not found: install Python 3 with pip to prepare the integrated handler`);
      expect(fs.existsSync(repoPaths(project).integratedMarker)).to.equal(false);
    });
  });

  it("pip targets the Lambda platform; a find-links mirror is offline unless PIP_INDEX_URL is set", () => {
    const args = pipArguments({ target: "/t", requirementsFile: "/r.txt", pythonVersion: "3.12", findLinks: "/wheels", indexUrlSet: false });
    expect(args.join(" ")).to.include("--platform manylinux2014_x86_64 --only-binary=:all: --python-version 3.12 --implementation cp --target /t");
    expect(args).to.include("--no-index");
    expect(pipArguments({ target: "/t", requirementsFile: "/r.txt", pythonVersion: "3.12", findLinks: "/wheels", indexUrlSet: true })).to.not.include("--no-index");
    expect(describePipFailure("ERROR: Could not find a version that satisfies the requirement numpy==9 (from versions: none)\nERROR: No matching distribution found for numpy==9\n"))
      .to.equal("pip could not install numpy==9: ERROR: No matching distribution found for numpy==9");
  });
});
