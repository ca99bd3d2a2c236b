// `sync` against real git repositories made in temp dirs: refs of every kind, a moved ref, an
// interrupted sync, hostile sources, and the api-sync branches of the project repository.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { silentLogger } from "../../automation/command";
import { command as syncCommand } from "../../automation/commands/sync";
import { detectSync, sha256File, type SyncMetadata } from "../../automation/shared/select";
import { isGitUrl, redactUrl, SyncError, syncBranchName, syncRepository, UNVERSIONED_COMMIT } from "../../automation/sync/sync";

const REPO = path.resolve(__dirname, "../..");
const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "Test", GIT_AUTHOR_EMAIL: "test@example.com", GIT_COMMITTER_NAME: "Test", GIT_COMMITTER_EMAIL: "test@example.com" };

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: GIT_ENV, encoding: "utf8" }).trim();
}

function write(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
}

function commitAll(repo: string, message: string): string {
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", message);
  return git(repo, "rev-parse", "HEAD");
}

/** Every file under a folder → its content, to compare trees before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out[path.relative(dir, full)] = fs.readFileSync(full, "utf8");
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

describe("sync", function () {
  this.timeout(60_000);
  let tmp: string;
  let project: string;
  let api: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sync-test-"));
    project = path.join(tmp, "project");
    api = path.join(tmp, "registry-api");
    fs.mkdirSync(project);
    fs.cpSync(path.join(REPO, "handlers", "integrated"), path.join(project, "handlers", "integrated"), { recursive: true });
    fs.mkdirSync(api);
    git(api, "init", "-q", "-b", "main");
    write(api, {
      "main.py": "from people.api import app\n",
      "src/people/__init__.py": "",
      "src/people/api.py": "app = 'v1'\n",
      "src/people/old_module.py": "# removed later\n",
      "requirements.txt": "fastapi==0.110.0\npytest==8.0.0\nmoto[dynamodb]==5.0\nPyJWT==2.8.0\n",
      "tests/test_api.py": "def test(): pass\n",
    });
    commitAll(api, "v1");
  });

  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const metadata = (): SyncMetadata => JSON.parse(fs.readFileSync(path.join(project, "lambda", "sync-metadata.json"), "utf8"));
  const leftovers = () => fs.readdirSync(project).filter((n) => n.startsWith(".lambda"));

  it("syncs a local git repository at its default branch: exact files, merged requirements, metadata with manifest", async () => {
    const head = git(api, "rev-parse", "HEAD");
    const reports = path.join(tmp, "reports");
    const summary = await syncRepository({ repoRoot: project, source: api, reportsDir: reports });

    expect(summary.status).to.equal("synced");
    expect(summary.source_kind).to.equal("local-repo");
    expect(summary.commit).to.equal(head);
    const lambda = path.join(project, "lambda");
    expect(Object.keys(snapshot(lambda)).sort()).to.deep.equal(
      ["main.py", "requirements.txt", "requirements-merge.json", "src/people/__init__.py", "src/people/api.py", "src/people/old_module.py", "sync-metadata.json"].map((p) => path.join(...p.split("/"))).sort(),
    );
    expect(fs.readFileSync(path.join(lambda, "src/people/api.py"), "utf8")).to.equal("app = 'v1'\n");

    const reqs = fs.readFileSync(path.join(lambda, "requirements.txt"), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
    expect(reqs).to.deep.equal(["fastapi==0.110.0", "pyjwt==2.8.0", "mangum"]);
    expect(summary.requirements?.dropped).to.deep.equal(["pytest", "moto"]);

    const meta = metadata();
    expect(meta).to.include({ source_repository: api, source_branch: "main", source_commit: head, coordinated_deployment: false, requirements_source: "requirements.txt" });
    expect(meta.sync_timestamp).to.match(/^\d{4}-\d\d-\d\dT/);
    expect(meta.deployment_strategy).to.be.a("string");
    for (const [rel, sha] of Object.entries(meta.files)) expect(sha256File(path.join(lambda, rel)), rel).to.equal(sha);
    expect(Object.keys(meta.files)).to.include.members(["main.py", "requirements.txt", "src/people/api.py"]);

    expect(detectSync(project).synced).to.equal(true);
    const written = JSON.parse(fs.readFileSync(path.join(reports, "sync-summary.json"), "utf8"));
    expect(written).to.include({ status: "synced", commit: head });
    expect(leftovers()).to.deep.equal([]);
  });

  it("syncs a tag, a branch, a full and an abbreviated commit SHA, each to exactly that commit", async () => {
    const v1 = git(api, "rev-parse", "HEAD");
    git(api, "tag", "v1.0.0");
    write(api, { "src/people/api.py": "app = 'v2'\n" });
    const v2 = commitAll(api, "v2");
    git(api, "checkout", "-q", "-b", "feature");
    write(api, { "src/people/api.py": "app = 'feature'\n" });
    const feature = commitAll(api, "feature");
    git(api, "checkout", "-q", "main");

    const cases: Array<[string, string, string, string]> = [
      ["v1.0.0", "tag", v1, "app = 'v1'\n"],
      ["feature", "branch", feature, "app = 'feature'\n"],
      [v1, "commit", v1, "app = 'v1'\n"],
      [v2.slice(0, 10), "commit", v2, "app = 'v2'\n"],
    ];
    for (const [ref, type, commit, content] of cases) {
      const s = await syncRepository({ repoRoot: project, source: api, ref });
      expect(s.ref_type, ref).to.equal(type);
      expect(s.commit, ref).to.equal(commit);
      expect(metadata().source_commit, ref).to.equal(commit);
      expect(metadata().source_branch, ref).to.equal(ref);
      expect(fs.readFileSync(path.join(project, "lambda/src/people/api.py"), "utf8"), ref).to.equal(content);
    }
  });

  it("follows a moved ref (file:// URL): the new commit, stale files removed", async () => {
    const url = `file://${api}`;
    git(api, "branch", "release");
    const first = await syncRepository({ repoRoot: project, source: url, ref: "release" });
    expect(first.source_kind).to.equal("git-url");
    expect(fs.existsSync(path.join(project, "lambda/src/people/old_module.py"))).to.equal(true);

    fs.rmSync(path.join(api, "src/people/old_module.py"));
    write(api, { "src/people/new_module.py": "NEW = True\n" });
    const moved = commitAll(api, "move release");
    git(api, "branch", "-f", "release", moved);

    const second = await syncRepository({ repoRoot: project, source: url, ref: "release" });
    expect(second.commit).to.equal(moved);
    expect(second.files_removed).to.deep.equal(["src/people/old_module.py"]);
    expect(fs.existsSync(path.join(project, "lambda/src/people/old_module.py"))).to.equal(false);
    expect(fs.readFileSync(path.join(project, "lambda/src/people/new_module.py"), "utf8")).to.equal("NEW = True\n");
    expect(Object.keys(metadata().files)).to.not.include("src/people/old_module.py");
    expect(detectSync(project).synced).to.equal(true);
  });

  it("syncs the committed state of a local repository, not uncommitted edits", async () => {
    write(api, { "src/people/api.py": "app = 'uncommitted'\n" });
    await syncRepository({ repoRoot: project, source: api });
    expect(fs.readFileSync(path.join(project, "lambda/src/people/api.py"), "utf8")).to.equal("app = 'v1'\n");
  });

  it("syncs a plain folder (not a repository) as unversioned, skipping interpreter caches", async () => {
    const plain = path.join(tmp, "plain");
    write(plain, { "main.py": "app = 1\n", "src/a.py": "A = 1\n", "src/__pycache__/a.cpython-311.pyc": "x", "pyproject.toml": '[project]\nname = "x"\ndependencies = ["fastapi>=0.110"]\n' });
    const s = await syncRepository({ repoRoot: project, source: plain });
    expect(s.source_kind).to.equal("local-path");
    expect(metadata().source_commit).to.equal(UNVERSIONED_COMMIT);
    expect(metadata().requirements_source).to.equal("pyproject.toml");
    expect(fs.existsSync(path.join(project, "lambda/src/__pycache__"))).to.equal(false);
    await syncRepository({ repoRoot: project, source: plain, ref: "main" }).then(
      () => expect.fail("a ref on a plain folder must be refused"),
      (err: Error) => expect(err.message).to.match(/--ref needs a git source/),
    );
  });

  it("copies Dockerfile.lambda when the source has it, and removes it when a later sync has none", async () => {
    write(api, { "Dockerfile.lambda": "FROM public.ecr.aws/lambda/python:3.12\n" });
    commitAll(api, "docker");
    expect((await syncRepository({ repoRoot: project, source: api })).dockerfile).to.equal(true);
    expect(fs.existsSync(path.join(project, "lambda/Dockerfile.lambda"))).to.equal(true);
    git(api, "rm", "-q", "Dockerfile.lambda");
    commitAll(api, "no docker");
    const s = await syncRepository({ repoRoot: project, source: api });
    expect(s.files_removed).to.include("Dockerfile.lambda");
    expect(fs.existsSync(path.join(project, "lambda/Dockerfile.lambda"))).to.equal(false);
  });

  describe("failures leave the previous state", () => {
    let before: Record<string, string>;
    beforeEach(async () => {
      await syncRepository({ repoRoot: project, source: api });
      before = snapshot(path.join(project, "lambda"));
      write(api, { "src/people/api.py": "app = 'v2'\n", "src/people/extra.py": "E = 1\n" });
      commitAll(api, "v2");
    });

    it("an error half-way through the copy (injected) keeps the previous lambda/", async () => {
      let copied = 0;
      const reports = path.join(tmp, "reports");
      const err = await syncRepository({
        repoRoot: project, source: api, reportsDir: reports,
        onFileWritten: () => {
          if (++copied === 3) throw new Error("disk full (injected)");
        },
      }).then(() => undefined, (e: Error) => e);
      expect(err).to.be.instanceOf(SyncError);
      expect(err!.message).to.include("disk full (injected)");
      expect(copied).to.equal(3);
      expect(snapshot(path.join(project, "lambda"))).to.deep.equal(before);
      expect(detectSync(project).synced).to.equal(true);
      expect(leftovers()).to.deep.equal([]);
      expect(JSON.parse(fs.readFileSync(path.join(reports, "sync-summary.json"), "utf8"))).to.include({ status: "failed" });
    });

    it("an abort (SIGINT) mid-copy stops with exit code 130 and keeps the previous lambda/", async () => {
      const controller = new AbortController();
      const err = await syncRepository({ repoRoot: project, source: api, signal: controller.signal, onFileWritten: () => controller.abort() }).then(() => undefined, (e: SyncError) => e);
      expect(err?.exitCode).to.equal(130);
      expect(snapshot(path.join(project, "lambda"))).to.deep.equal(before);
      expect(leftovers()).to.deep.equal([]);
    });

    it("a hostile source with a symlink leaving it is refused, naming the link; nothing outside is copied", async () => {
      const secret = path.join(tmp, "secret.txt");
      fs.writeFileSync(secret, "TOP-SECRET\n");
      fs.symlinkSync(secret, path.join(api, "src/people/zz_absolute_link.py"));
      commitAll(api, "absolute link");
      const err = await syncRepository({ repoRoot: project, source: api }).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.match(/refusing src\/people\/zz_absolute_link\.py: symlink to .*secret\.txt leaves the source/);

      expect(snapshot(path.join(project, "lambda"))).to.deep.equal(before);
      expect(JSON.stringify(snapshot(path.join(project, "lambda")))).to.not.include("TOP-SECRET");
      expect(leftovers()).to.deep.equal([]);
    });

    it("a relative symlink climbing out of a plain-folder source is refused", async () => {
      const folder = path.join(tmp, "sources", "api");
      write(folder, { "main.py": "x\n", "src/a.py": "A\n" });
      fs.writeFileSync(path.join(tmp, "sources", "credentials"), "aws_secret_access_key=SHOULD-NOT-LEAK\n");
      fs.symlinkSync("../../credentials", path.join(folder, "src/creds.py"));
      const err = await syncRepository({ repoRoot: project, source: folder }).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.match(/refusing src\/creds\.py: symlink to \.\.\/\.\.\/credentials leaves the source/);
      expect(snapshot(path.join(project, "lambda"))).to.deep.equal(before);
      expect(JSON.stringify(snapshot(path.join(project, "lambda")))).to.not.include("SHOULD-NOT-LEAK");
    });

    it("symlinks inside the source are followed; a .git inside src/ and a requirements include leaving the source are refused", async () => {
      const folder = path.join(tmp, "inner");
      write(folder, { "main.py": "x\n", "src/real.py": "R = 1\n" });
      fs.symlinkSync("real.py", path.join(folder, "src/alias.py"));
      await syncRepository({ repoRoot: project, source: folder });
      expect(fs.readFileSync(path.join(project, "lambda/src/alias.py"), "utf8")).to.equal("R = 1\n");
      expect(fs.lstatSync(path.join(project, "lambda/src/alias.py")).isSymbolicLink()).to.equal(false);
      const synced = snapshot(path.join(project, "lambda"));

      write(folder, { "src/vendored/.git/config": "[core]\n" });
      let err = await syncRepository({ repoRoot: project, source: folder }).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.match(/refusing src\/vendored\/\.git/);
      fs.rmSync(path.join(folder, "src/vendored"), { recursive: true });

      fs.writeFileSync(path.join(tmp, "outside.txt"), "leaky==1.0\n");
      fs.writeFileSync(path.join(folder, "requirements.txt"), "-r ../outside.txt\n");
      err = await syncRepository({ repoRoot: project, source: folder }).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.match(/requirements.*requirements\.txt:1: \.\.\/outside\.txt is outside the source/);
      expect(snapshot(path.join(project, "lambda"))).to.deep.equal(synced);
    });

    it("an earlier sync killed between the two renames of its swap is recovered, even by a sync that fails", async () => {
      const lambda = path.join(project, "lambda");
      fs.renameSync(lambda, path.join(project, ".lambda.previous"));
      const err = await syncRepository({ repoRoot: project, source: path.join(tmp, "missing") }).then(() => undefined, (e: Error) => e);
      expect(err).to.be.instanceOf(SyncError);
      expect(snapshot(lambda)).to.deep.equal(before);
      expect(leftovers()).to.deep.equal([]);
    });

    it("a source without main.py or without src/ is refused, naming the missing path", async () => {
      const noMain = path.join(tmp, "no-main");
      write(noMain, { "src/a.py": "A\n" });
      const e1 = await syncRepository({ repoRoot: project, source: noMain }).then(() => undefined, (e: Error) => e);
      expect(e1?.message).to.include(path.join(noMain, "main.py"));
      const noSrc = path.join(tmp, "no-src");
      write(noSrc, { "main.py": "x\n" });
      const e2 = await syncRepository({ repoRoot: project, source: noSrc }).then(() => undefined, (e: Error) => e);
      expect(e2?.message).to.include(path.join(noSrc, "src"));
      expect(snapshot(path.join(project, "lambda"))).to.deep.equal(before);
    });

    it("an unknown ref, a missing source and an --into leaving the repository are refused", async () => {
      const e1 = await syncRepository({ repoRoot: project, source: api, ref: "no-such-branch" }).then(() => undefined, (e: Error) => e);
      expect(e1?.message).to.match(/ref "no-such-branch" is not a branch, tag or commit/);
      const e2 = await syncRepository({ repoRoot: project, source: path.join(tmp, "nowhere") }).then(() => undefined, (e: Error) => e);
      expect(e2?.message).to.match(/is not a folder or a git URL/);
      const e3 = await syncRepository({ repoRoot: project, source: api, into: "../elsewhere" }).then(() => undefined, (e: Error) => e);
      expect(e3?.message).to.match(/--into must be a folder inside the repository/);
      expect(fs.existsSync(path.join(tmp, "elsewhere"))).to.equal(false);
      expect(snapshot(path.join(project, "lambda"))).to.deep.equal(before);
    });
  });

  describe("--commit-branch", () => {
    beforeEach(() => {
      git(project, "init", "-q", "-b", "main");
      write(project, { "README.md": "project\n", "handlers/integrated/.keep": "" });
      commitAll(project, "project");
    });

    it("commits lambda/ on api-sync-<UTC timestamp> without touching the checkout, and prunes beyond --keep-branches", async () => {
      git(project, "branch", "api-sync-20200101T000000Z");
      write(project, { "README.md": "edited, not staged\n" });
      const statusBefore = git(project, "status", "--porcelain");
      const headBefore = git(project, "rev-parse", "HEAD");

      const names: string[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await syncRepository({ repoRoot: project, source: api, commitBranch: true, keepBranches: 2, log: silentLogger });
        expect(s.commit_branch!.name).to.match(/^api-sync-\d{8}T\d{6}Z(-\d+)?$/);
        names.push(s.commit_branch!.name);
        const files = git(project, "ls-tree", "-r", "--name-only", s.commit_branch!.name).split("\n");
        expect(files).to.include.members(["README.md", "lambda/main.py", "lambda/src/people/api.py", "lambda/sync-metadata.json"]);
        // The committed README is the committed one: the user's unstaged edit stays theirs.
        expect(git(project, "show", `${s.commit_branch!.name}:README.md`)).to.equal("project");
        expect(git(project, "rev-parse", `${s.commit_branch!.name}^`)).to.equal(headBefore);
      }
      expect(git(project, "rev-parse", "--abbrev-ref", "HEAD")).to.equal("main");
      expect(git(project, "rev-parse", "HEAD")).to.equal(headBefore);
      // Only lambda/ is new (untracked) in the working tree; nothing was staged.
      expect(git(project, "status", "--porcelain").split("\n").filter((l) => !l.includes("lambda/")).join("\n")).to.equal(statusBefore);
      expect(git(project, "diff", "--cached", "--name-only")).to.equal("");

      const remaining = git(project, "for-each-ref", "--format=%(refname:short)", "refs/heads/api-sync-*").split("\n").sort();
      expect(remaining).to.deep.equal(names.slice(1).sort());
    });

    it("commits as api-sync when git has no identity (a bare CI machine), warning about it", async () => {
      const home = path.join(tmp, "empty-home");
      fs.mkdirSync(home);
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("GIT_")));
      const warnings: string[] = [];
      const s = await syncRepository({ repoRoot: project, source: api, commitBranch: true, env: { ...env, HOME: home, XDG_CONFIG_HOME: home }, log: { ...silentLogger, warn: (m) => warnings.push(m) } });
      expect(git(project, "log", "-1", "--format=%an <%ae>", s.commit_branch!.name)).to.equal("api-sync <api-sync@localhost>");
      expect(warnings.join("\n")).to.match(/user\.email is not set/);
    });

    it("names branches by UTC time", () => {
      expect(syncBranchName(new Date("2026-01-31T23:59:58.123Z"))).to.equal("api-sync-20260131T235958Z");
    });
  });

  it("the sync command writes sync-summary.json and prints a summary", async () => {
    const reportsDir = path.join(tmp, "reports");
    const ctx = { json: false, reportsDir, repoRoot: project, log: silentLogger, signal: new AbortController().signal, env: process.env };
    const out = await syncCommand.run({ source: api, "keep-branches": "3" }, ctx);
    expect(out.exitCode).to.equal(0);
    expect(out.summary).to.match(/synced .* into lambda\/: 6 files/);
    expect(out.summary).to.match(/2 dev\/test tools dropped/);
    expect(JSON.parse(fs.readFileSync(path.join(reportsDir, "sync-summary.json"), "utf8")).status).to.equal("synced");
  });

  it("recognises git URLs and never records credentials from them", () => {
    expect(isGitUrl("https://github.com/org/registry-api.git")).to.equal(true);
    expect(isGitUrl("git@github.com:org/registry-api.git")).to.equal(true);
    expect(isGitUrl("../registry-api")).to.equal(false);
    expect(redactUrl("https://x-access-token:ghs_secret@github.com/org/api.git")).to.equal("https://github.com/org/api.git");
  });
});
