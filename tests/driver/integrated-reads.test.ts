// What the synced app reads (the static scan sync records), the Python it runs on, and `prepare`
// refusing a variable nothing provides.
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { integratedPlan, integratedPythonVersion, scanPythonSources } from "../../automation/shared/integrated";
import { PrepareError, prepareIntegration } from "../../automation/sync/prepare";
import { HANDLER_SWITCH_NOTICE, type PreviewDiff, renderPreviewMarkdown } from "../../automation/engine/diff";

function tempDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "integrated-reads-"));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

describe("integrated: what the synced app reads", () => {
  it("finds every way Python reads a variable, settings fields and hard-coded table names, and ignores comments", () => {
    const reads = scanPythonSources([
      'import os\nA = os.getenv("ALPHA")\nB = os.environ.get(\n    "BETA", "x"\n)\nC = os.environ["GAMMA"]\n# os.getenv("COMMENTED")\n',
      'from os import getenv, environ\nD = getenv(\'DELTA\')\nE = environ.get("EPSILON")\n',
      'from pydantic_settings import BaseSettings\nclass Settings(BaseSettings):\n    jwt_secret: str = "x"\n    model_config = {}\n',
      'r = boto3.resource("dynamodb").Table("FixedTable")\nc.query(TableName="OtherTable")\nself.table_name = "people-registry-roles"\nos.getenv(name)\n',
    ]);
    expect(reads.environment_variables).to.deep.equal(["ALPHA", "BETA", "DELTA", "EPSILON", "GAMMA", "JWT_SECRET"]);
    expect(reads.hardcoded_tables).to.deep.equal(["FixedTable", "OtherTable", "people-registry-roles"]);
  });

  it("plans providers: unknown variables listed, TESTING/DEBUG never set, the roles table from its hard-coded name", () => {
    const plan = integratedPlan({ environment_variables: ["JWT_SECRET_KEY", "TESTING", "DEBUG", "MYSTERY", "AWS_REGION"], hardcoded_tables: ["people-registry-roles", "AlertConfigTable"] });
    expect(plan.unknown).to.deep.equal(["MYSTERY"]);
    expect(Object.keys(plan.variables)).to.deep.equal(["JWT_SECRET_KEY"]);
    expect(Object.keys(plan.unset).sort()).to.deep.equal(["DEBUG", "TESTING"]);
    expect(plan.appTables).to.deep.equal([{ table: "RolesTable", describe: false }]);
    expect(plan.unknownTables).to.deep.equal(["AlertConfigTable"]);
  });

  it("picks the Lambda Python from requires-python / .python-version: 3.13 where asked, 3.12 otherwise, an error above", () => {
    expect(integratedPythonVersion(tempDir({})).version).to.equal("3.12");
    expect(integratedPythonVersion(tempDir({ "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.13"\n' })).version).to.equal("3.13");
    expect(integratedPythonVersion(tempDir({ ".python-version": "3.13.1\n" })).version).to.equal("3.13");
    expect(integratedPythonVersion(tempDir({ "pyproject.toml": '[project]\nrequires-python = ">=3.9"\n' })).version).to.equal("3.12");
    expect(() => integratedPythonVersion(tempDir({ ".python-version": "3.15\n" }))).to.throw(/needs Python 3.15/);
  });

  it("prepare stops with the list of variables the stack cannot provide", async () => {
    const repo = tempDir({
      "handlers/integrated/integrated_api_handler.py": "def handler(e, c):\n    pass\n",
      "handlers/integrated/requirements.txt": "mangum\n",
      "lambda/main.py": "from src.app import app\n",
      "lambda/src/app.py": 'import os\nX = os.getenv("SECRET_SAUCE")\nY = os.getenv("JWT_SECRET")\nZ = os.environ["OTHER_THING"]\n',
    });
    try {
      let error: Error | undefined;
      await prepareIntegration({ repoRoot: repo, preference: "integrated", installDependencies: false }).catch((e: Error) => (error = e));
      expect(error).to.be.instanceOf(PrepareError);
      expect(error!.message).to.contain("OTHER_THING, SECRET_SAUCE").and.not.contain("JWT_SECRET,");
      expect(fs.existsSync(path.join(repo, ".build", "integrated"))).to.equal(false);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  });
});

describe("preview: switching handler kinds", () => {
  const diffWith = (path: string): PreviewDiff => ({
    changes: [{ op: "update", urn: "urn:pulumi:prod::people-register::aws:lambda/function:Function::api", name: "api", type: "aws:lambda/function:Function", properties: [{ path, kind: "update" }], replaceKeys: [], destructive: false, protect: false }],
    counts: { update: 1 }, diagnostics: [], policies: [], failures: [], maybeCorrupt: false,
  });

  it("says that sessions end when the api function changes runtime, and not for other updates", () => {
    expect(renderPreviewMarkdown(diffWith("runtime"), { project: "people-register", stack: "prod" })).to.include(HANDLER_SWITCH_NOTICE);
    expect(renderPreviewMarkdown(diffWith("memorySize"), { project: "people-register", stack: "prod" })).to.not.include(HANDLER_SWITCH_NOTICE);
  });
});
