// The stack gives the synced app exactly what its code reads: a V1-reading (3b58af3-like) and a
// V2-reading (HEAD-like) sync, checked for tables, IAM and environment under Pulumi mocks.
import { expect } from "chai";
import { ACCOUNT, REGION, baseConfig, byType, one, policyOf, removeRepo, runProgram, tempRepo, writePreparedPackage, writeSyncedApp } from "./harness";

const FN = "aws:lambda/function:Function";
const TABLE = "aws:dynamodb/table:Table";
const COMMIT = "c0ffee0000000000000000000000000000000000";
const marker = (python: string) => ({ source_commit: COMMIT, requirements_sha256: "ab".repeat(32), python_version: python, platform: "manylinux2014_x86_64", prepared_at: "2026-01-01T00:00:00Z" });

const V1_SOURCE = [
  "import os",
  'table = os.environ.get("PEOPLE_TABLE_NAME", "PeopleTable")',
  'audit = os.environ.get("AUDIT_TABLE_NAME", "AuditLogsTable")',
  "lockout = os.environ.get(\n    \"LOCKOUT_TABLE_NAME\", \"AccountLockoutTable\"\n)",
  'SECRET_KEY = os.getenv("JWT_SECRET_KEY", "random")',
].join("\n");
const V2_SOURCE = [
  "import os",
  'people = os.getenv("PEOPLE_TABLE_V2_NAME", "PeopleTableV2")',
  'submissions = os.getenv("PROJECT_SUBMISSIONS_TABLE_NAME", "ProjectSubmissions")',
  'env = os.getenv("ENVIRONMENT", "development")',
  'if os.getenv("TESTING") == "true": pass',
  'bucket = os.getenv("PROJECT_IMAGES_BUCKET_NAME", "project-images-bucket")',
  'JWT = os.getenv("JWT_SECRET")',
  'class Roles:\n    def __init__(self):\n        self.table_name = "people-registry-roles"',
].join("\n");

describe("stacks: the integrated app gets exactly what it reads", function () {
  this.timeout(60_000);
  let repo: string;
  beforeEach(() => (repo = tempRepo()));
  afterEach(() => removeRepo(repo));

  it("a V1-reading sync: its own variable names, AccountLockoutTable, DescribeTable on people only", async () => {
    writeSyncedApp(repo, COMMIT, { "src/db.py": V1_SOURCE });
    writePreparedPackage(repo, marker("3.12"));
    const result = await runProgram({ repoRoot: repo });
    const api = one(result, FN, "api").inputs;
    expect(api.runtime).to.equal("python3.12");
    const env = api.environment.variables;
    expect(Object.keys(env).sort()).to.deep.equal(["AUDIT_TABLE_NAME", "HANDLER_KIND", "JWT_SECRET_KEY_PARAMETER", "LOCKOUT_TABLE_NAME", "PEOPLE_TABLE_NAME"]);
    // The secret reaches the app through its SSM parameter (the shim fills JWT_SECRET_KEY before import).
    expect(env.JWT_SECRET_KEY_PARAMETER).to.equal("/people-register-test/JWT_SECRET");
    expect(env.PEOPLE_TABLE_NAME).to.equal("people-register-test-PeopleTable");
    expect(env.AUDIT_TABLE_NAME).to.equal("people-register-test-AuditLogsTable");
    expect(env.LOCKOUT_TABLE_NAME).to.equal("people-register-test-AccountLockoutTable");
    const lockout = one(result, TABLE, "api-integrated-app-AccountLockoutTable").inputs;
    expect(lockout.hashKey).to.equal("personId");
    expect(byType(result, TABLE)).to.have.length(11);
    const statements = policyOf(result, "api").Statement;
    const describe = statements.find((s) => s.Sid === "DynamoDbDescribeAtStartup")!;
    expect(describe.Resource).to.have.length(1).and.to.match(/PeopleTable$/);
    const rw = statements.find((s) => s.Sid === "DynamoDbReadWrite")!;
    // Exactly the three tables it reads (and their indexes), not the contract's ten.
    expect(rw.Resource.filter((r) => !r.endsWith("/index/*"))).to.have.length(3);
    expect(statements.some((s) => s.Action.some((a) => a.startsWith("s3:")))).to.equal(false);
    expect(statements.find((s) => s.Sid === "ReadOwnSecrets")!.Resource).to.deep.equal([`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/people-register-test/JWT_SECRET`]);
  });

  it("a V2-reading sync: V2 names on the shared tables, ProjectSubmissions, the roles table, the images bucket, ENVIRONMENT=production and never TESTING", async () => {
    writeSyncedApp(repo, COMMIT, { "src/config.py": V2_SOURCE, ".python-version": "3.13\n" });
    writePreparedPackage(repo, marker("3.13"));
    const result = await runProgram({ repoRoot: repo });
    const api = one(result, FN, "api").inputs;
    expect(api.runtime).to.equal("python3.13");
    const env = api.environment.variables;
    expect(env).to.not.have.property("TESTING");
    expect(env).to.not.have.property("DEBUG");
    expect(env.ENVIRONMENT).to.equal("production");
    expect(env.PEOPLE_TABLE_V2_NAME).to.equal("people-register-test-PeopleTable");
    expect(env.PROJECT_SUBMISSIONS_TABLE_NAME).to.equal("people-register-test-ProjectSubmissions");
    expect(env).to.not.have.property("JWT_SECRET");
    expect(env.JWT_SECRET_PARAMETER).to.equal("/people-register-test/JWT_SECRET");
    expect(one(result, TABLE, "api-integrated-app-RolesTable").inputs.name).to.equal("people-registry-roles");
    expect(one(result, TABLE, "api-integrated-app-ProjectSubmissions").inputs.globalSecondaryIndexes.map((g: { name: string }) => g.name)).to.deep.equal(["ProjectIndex", "PersonIndex"]);
    expect(byType(result, "aws:s3/bucket:Bucket").map((b) => b.name)).to.include("api-integrated-app-project-images");
    const statements = policyOf(result, "api").Statement;
    expect(statements.find((s) => s.Sid === "ProjectImagesUpload")!.Action).to.deep.equal(["s3:PutObject"]);
    expect(statements.find((s) => s.Sid === "DynamoDbDescribeAtStartup")!.Resource.some((r) => r.endsWith("ProjectSubmissions"))).to.equal(true);
  });

  it("config can point the V2 variables at existing tables, granted by ARN", async () => {
    writeSyncedApp(repo, COMMIT, { "src/config.py": V2_SOURCE });
    writePreparedPackage(repo, marker("3.12"));
    const result = await runProgram({ repoRoot: repo, config: baseConfig({ integratedExistingTables: JSON.stringify({ PEOPLE_TABLE_V2_NAME: "PeopleTableV2" }) }) });
    expect(one(result, FN, "api").inputs.environment.variables.PEOPLE_TABLE_V2_NAME).to.equal("PeopleTableV2");
    const rw = policyOf(result, "api").Statement.find((s) => s.Sid === "DynamoDbReadWrite")!;
    expect(rw.Resource.some((r) => r.endsWith(":table/PeopleTableV2"))).to.equal(true);
  });
});
