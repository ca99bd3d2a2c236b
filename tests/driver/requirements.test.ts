// The requirements merge on files written the way uv exports them, includes, pyproject.toml,
// conflicting pins, extras, names spelled differently and bad lines.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import {
  formatRequirement, isDevTool, mergeRequirements, normalizeName, parseRequirement, readApiRequirements,
  readPyproject, readRequirementsFile, readShimRequirements, type RequirementSet,
} from "../../automation/sync/requirements";

const FIXTURES = path.resolve(__dirname, "../fixtures/requirements");
const REPO = path.resolve(__dirname, "../..");

function setOf(lines: string[], source = "inline.txt"): RequirementSet {
  return { source, requirements: lines.map((l, i) => parseRequirement(l, source, i + 1)), errors: [], notes: [] };
}

describe("requirements merge", () => {
  it("normalises names per PEP 503", () => {
    expect(normalizeName("PyJWT")).to.equal("pyjwt");
    expect(normalizeName("Zope.Interface__x--y")).to.equal("zope-interface-x-y");
  });

  it("parses PEP 508: extras, specifier ranges, parenthesised specifiers, markers, URLs", () => {
    expect(parseRequirement("PyJWT[Crypto , ed25519]>=2.8,<3")).to.include({ name: "pyjwt", specifier: ">=2.8,<3", marker: null });
    expect(parseRequirement("PyJWT[Crypto , ed25519]>=2.8,<3").extras).to.deep.equal(["crypto", "ed25519"]);
    expect(parseRequirement("requests (>= 2.0, != 2.1)").specifier).to.equal(">=2.0,!=2.1");
    expect(parseRequirement("colorama==0.4.6 ; sys_platform == 'win32'").marker).to.equal("sys_platform == 'win32'");
    expect(parseRequirement('x; (python_version<"3.13" or implementation_name != "pypy") and os_name=="posix"').marker)
      .to.equal('(python_version < "3.13" or implementation_name != "pypy") and os_name == "posix"');
    expect(parseRequirement("pkg @ https://example.com/pkg-1.0-py3-none-any.whl#sha256=abc ; python_version >= '3.9'")).to.include({
      url: "https://example.com/pkg-1.0-py3-none-any.whl#sha256=abc", marker: "python_version >= '3.9'",
    });
    expect(formatRequirement(parseRequirement("Django[Argon2]~=5.0 ; python_version>='3.10'"))).to.equal("django[argon2]~=5.0 ; python_version >= '3.10'");
    for (const bad of ["requests>=", "==1.0", "flask ; python_version >> '3'", "x ; nonsense == '1'", "x[a", "x >= 1.*"]) {
      expect(() => parseRequirement(bad), bad).to.throw();
    }
  });

  it("reads a uv export: comments, `# via` lines, continuation lines with --hash, markers", () => {
    const set = readRequirementsFile(path.join(FIXTURES, "uv-export/requirements.txt"));
    expect(set.errors).to.deep.equal([]);
    expect(set.requirements.map(formatRequirement)).to.deep.equal([
      "annotated-types==0.7.0",
      "anyio==4.4.0",
      "colorama==0.4.6 ; sys_platform == 'win32'",
      "fastapi==0.111.0",
      "mangum==0.17.0",
      'pydantic[email]==2.7.1 ; python_version >= "3.8"',
      "pytest==8.2.0",
      "python-jose[cryptography]==3.3.0",
      'pywin32==306 ; platform_system == "Windows" and (python_version < "3.13" or implementation_name != "pypy")',
      'boto3>=1.34,<2 ; python_version >= "3.9"',
    ]);
    // Line numbers point at the requirement's first line.
    expect(set.requirements.find((r) => r.name === "fastapi")?.line).to.equal(16);
    expect(set.requirements.find((r) => r.name === "annotated-types")?.hashes).to.equal(2);
    expect(set.notes).to.deep.equal(['requirements.txt:15: "-e ." (the project itself) skipped: its code is synced as main.py and src/']);
  });

  it("merges a uv export with the shim: the API's pin wins, test tools dropped, hashes removed and said so", () => {
    const api = readApiRequirements(path.join(FIXTURES, "uv-export"));
    const { lines, report } = mergeRequirements({ api, shim: readShimRequirements(REPO) });
    expect(report.source).to.equal("requirements.txt");
    expect(report.dropped).to.deep.equal(["pytest"]);
    expect(report.added).to.deep.equal([]);
    expect(report.conflicts).to.deep.equal([]); // the shim's bare `mangum` accepts the API's pin
    expect(lines).to.include("mangum==0.17.0");
    expect(lines.filter((l) => l.startsWith("mangum"))).to.have.length(1);
    expect(lines.join("\n")).to.not.include("--hash").and.not.include("pytest");
    expect(report.notes.join(" ")).to.match(/--hash options were removed/);
  });

  it("reports a conflict with both pins when the shim pins differently, and adds what the API lacks", () => {
    const { lines, report } = mergeRequirements({
      api: setOf(["Mangum==0.15.0", "fastapi==0.110.0"]),
      shim: setOf(["mangum>=0.17", "typing-extensions>=4"], "handlers/integrated/requirements.txt"),
    });
    expect(report.conflicts).to.deep.equal([{ name: "mangum", api: "mangum==0.15.0", shim: "mangum>=0.17" }]);
    expect(report.added).to.deep.equal(["typing-extensions"]);
    expect(report.kept).to.deep.equal(["mangum", "fastapi"]);
    expect(lines).to.deep.equal(["mangum==0.15.0", "fastapi==0.110.0", "typing-extensions>=4"]);
  });

  it("follows -r includes relative to the including file; one line per package (PyJWT / pyjwt), extras united", () => {
    const api = readApiRequirements(path.join(FIXTURES, "includes"));
    expect(api.source).to.equal("requirements-lambda.txt");
    expect(api.errors).to.deep.equal([]);
    const { lines, report } = mergeRequirements({ api, shim: setOf(["mangum"]) });
    expect(lines).to.deep.equal(["pydantic>=2", "pyjwt>=2.0,==2.8.0", "fastapi>=0.100,==0.110.0", "mangum"]);
    expect(report.dropped).to.deep.equal(["moto"]);
    expect(report.added).to.deep.equal(["mangum"]);
    const extras = mergeRequirements({ api: setOf(["Django[argon2]>=5", "django[bcrypt]<6"]), shim: setOf([]) });
    expect(extras.lines).to.deep.equal(["django[argon2,bcrypt]>=5,<6"]);
  });

  it("reports two different exact pins of one package inside the API as an error", () => {
    const { report } = mergeRequirements({ api: setOf(["PyJWT==2.8.0", "pyjwt==2.9.0"]), shim: setOf([]) });
    expect(report.errors).to.have.length(1);
    expect(report.errors[0]!.message).to.match(/pyjwt is pinned to different versions \(2\.8\.0 and 2\.9\.0\)/);
    expect(report.errors[0]!.line).to.equal(2);
  });

  it("keeps one line per marker: the same package for different environments", () => {
    const { lines } = mergeRequirements({ api: setOf(["numpy==1.26.4 ; python_version < '3.12'", "numpy==2.0.0 ; python_version >= '3.12'"]), shim: setOf([]) });
    expect(lines).to.have.length(2);
  });

  it("detects include cycles and names the chain", () => {
    const set = readRequirementsFile(path.join(FIXTURES, "cycle/requirements.txt"));
    expect(set.errors).to.have.length(1);
    expect(set.errors[0]).to.include({ file: "b.txt", line: 1 });
    expect(set.errors[0]!.message).to.equal("include cycle: requirements.txt -> a.txt -> b.txt -> requirements.txt");
    expect(set.requirements.map((r) => r.name)).to.deep.equal(["urllib3", "requests"]);
  });

  it("reports bad lines with their line numbers and ignores index options with a note", () => {
    const set = readRequirementsFile(path.join(FIXTURES, "bad/requirements.txt"));
    expect(set.errors.map((e) => e.line)).to.deep.equal([2, 3, 4, 6]);
    expect(set.errors.map((e) => e.text)).to.deep.equal(["requests>=", "-e ./libs/shared", 'flask ; python_version >> "3"', 'numpy==1.26 ; bogus_variable == "x"']);
    expect(set.errors[1]!.message).to.match(/editable/);
    expect(set.requirements.map((r) => r.name)).to.deep.equal(["fastapi", "good-package"]);
    expect(set.notes.join("\n")).to.match(/requirements\.txt:7: "--index-url https:\/\/mirror\.example\/simple" ignored/);
  });

  it("reads pyproject.toml [project] dependencies when the API has no requirements file (dependency groups are not runtime)", () => {
    const api = readApiRequirements(path.join(FIXTURES, "pyproject-only"));
    expect(api.source).to.equal("pyproject.toml");
    expect(api.errors).to.deep.equal([]);
    expect(api.requirements.map(formatRequirement)).to.deep.equal(["fastapi>=0.110", "uvicorn[standard]>=0.29", "pyjwt>=2.8", "bcrypt==4.1.3", "boto3>=1.34 ; python_version >= '3.9'"]);
    expect(api.requirements[3]!.line).to.equal(9);
  });

  it("reports a broken pyproject.toml and dependencies that are not PEP 508", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pyproject-"));
    try {
      fs.writeFileSync(path.join(dir, "pyproject.toml"), '[project]\nname = "x"\ndependencies = [\n  "fastapi>=0.110",\n  "not a requirement!",\n]\n');
      const set = readPyproject(path.join(dir, "pyproject.toml"));
      expect(set.errors).to.have.length(1);
      expect(set.errors[0]).to.include({ line: 5, text: "not a requirement!" });
      fs.writeFileSync(path.join(dir, "pyproject.toml"), "[project\nname=");
      expect(readPyproject(path.join(dir, "pyproject.toml")).errors[0]!.message).to.match(/invalid TOML/);
      fs.rmSync(path.join(dir, "pyproject.toml"));
      const none = readApiRequirements(dir);
      expect(none.source).to.equal(null);
      expect(mergeRequirements({ api: none, shim: setOf(["mangum"]) }).lines).to.deep.equal(["mangum"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prefers requirements-lambda.txt over requirements.txt over pyproject.toml", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefer-"));
    try {
      fs.writeFileSync(path.join(dir, "pyproject.toml"), '[project]\nname="x"\ndependencies=["a==1"]\n');
      expect(readApiRequirements(dir).source).to.equal("pyproject.toml");
      fs.writeFileSync(path.join(dir, "requirements.txt"), "b==1\n");
      expect(readApiRequirements(dir).source).to.equal("requirements.txt");
      fs.writeFileSync(path.join(dir, "requirements-lambda.txt"), "c==1\n");
      expect(readApiRequirements(dir).requirements.map((r) => r.name)).to.deep.equal(["c"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("knows the dev/test tools and not the runtime libraries", () => {
    for (const tool of ["pytest", "pytest-asyncio", "Pytest_Cov", "moto", "coverage", "black", "ruff", "mypy", "flake8", "flake8-bugbear", "isort", "pre-commit", "tox", "types-requests"]) {
      expect(isDevTool(tool), tool).to.equal(true);
    }
    for (const lib of ["fastapi", "mypy-extensions", "boto3", "httpx", "pydantic", "mangum", "blackjack"]) expect(isDevTool(lib), lib).to.equal(false);
  });

  it("the shim's own requirements name mangum", () => {
    expect(readShimRequirements(REPO).requirements.map((r) => r.name)).to.deep.equal(["mangum"]);
  });
});
