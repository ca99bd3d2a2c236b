// `migrate` against the AWS SDK's own clients stubbed at the client level (aws-sdk-client-mock), with the
// old stack of both CDK generations, and a stand-in Pulumi stack replaying engine events.
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CloudFormationClient, GetTemplateCommand, ListStackResourcesCommand } from "@aws-sdk/client-cloudformation";
import { CreateBackupCommand, DescribeBackupCommand, DescribeTableCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { TABLES } from "../../handlers/contract";
import { silentLogger } from "../../automation/command";
import { MigrationStopped, backfillSeconds, renderPlan, runMigration, type MigrateOptions } from "../../automation/engine/migrate";
import { ADOPT_TABLES_KEY } from "../../automation/engine/pulumi";
import { type CdkStack, OLD_STACK, laterStack, retained, seedStack, summaries, template } from "../fixtures/cdk/stacks";
import { step } from "../fixtures/engine-events";
import { FakeStack } from "../fixtures/engine-events/fake-stack";

const TABLE_TYPE = "aws:dynamodb/table:Table";
const DATA_TABLES = "people-register:data:DataTables";

describe("migrate: the old CDK stack's tables into the Pulumi stack", () => {
  const cfn = mockClient(CloudFormationClient);
  const ddb = mockClient(DynamoDBClient);
  let reportsDir: string;
  let counts: Record<string, number>;

  /** Serve one old stack through the stubbed clients. */
  function serve(stack: CdkStack): void {
    cfn.on(ListStackResourcesCommand, { StackName: OLD_STACK }).resolves({ StackResourceSummaries: summaries(stack) });
    cfn.on(GetTemplateCommand, { StackName: OLD_STACK }).resolves({ TemplateBody: template(stack) });
    for (const r of stack.resources) if (r.table) ddb.on(DescribeTableCommand, { TableName: r.physicalId }).resolves({ Table: r.table });
    ddb.on(ScanCommand).callsFake((input: { TableName: string }) => ({ Count: counts[input.TableName] ?? 0 }));
    ddb.on(CreateBackupCommand).callsFake((input: { TableName: string }) => ({
      BackupDetails: { BackupArn: `arn:aws:dynamodb:us-east-1:123456789012:table/${input.TableName}/backup/0170000000000-abc`, BackupName: "b", BackupStatus: "CREATING", BackupType: "USER", BackupCreationDateTime: new Date() },
    }));
    ddb.on(DescribeBackupCommand).resolves({ BackupDescription: { BackupDetails: { BackupArn: "x", BackupName: "b", BackupStatus: "AVAILABLE", BackupType: "USER", BackupCreationDateTime: new Date() } } });
  }

  /** A Pulumi stack whose import preview imports every contract table and whose index update only updates them. */
  function pulumiStack(): FakeStack {
    const stack = new FakeStack("prod");
    stack.config["people-register:tableNaming"] = { value: "legacy" };
    stack.config["aws:region"] = { value: "us-east-1" };
    stack.previews = [
      { events: TABLES.map((t) => step({ op: "import", type: TABLE_TYPE, name: `tables-${t.name}`, parentType: DATA_TABLES })) },
      { events: [step({ op: "update", type: TABLE_TYPE, name: "tables-PeopleTable", parentType: DATA_TABLES, diffs: ["globalSecondaryIndexes"] })] },
    ];
    return stack;
  }

  const options = (extra: Partial<MigrateOptions> = {}): MigrateOptions => ({
    oldStack: OLD_STACK,
    clients: { cloudFormation: new CloudFormationClient({ region: "us-east-1" }), dynamodb: new DynamoDBClient({ region: "us-east-1" }) },
    region: "us-east-1",
    dryRun: false,
    reportsDir,
    log: silentLogger,
    signal: new AbortController().signal,
    backupWait: { intervalMs: 1, sleep: async () => {} },
    retry: { sleep: async () => {} },
    progress: () => {},
    ...extra,
  });

  beforeEach(() => {
    cfn.reset();
    ddb.reset();
    reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-test-"));
    counts = Object.fromEntries(TABLES.map((t) => [t.name, 100]));
  });
  afterEach(() => fs.rmSync(reportsDir, { recursive: true, force: true }));
  after(() => {
    cfn.restore();
    ddb.restore();
  });

  describe("--dry-run", () => {
    it("seed generation: imports eight tables as they are, People and Subscriptions then get their GSIs, with a backfill estimate", async () => {
      serve(retained(seedStack()));
      const result = await runMigration(options({ dryRun: true }));
      const byTable = Object.fromEntries(result.plan.tables.map((t) => [t.table, t]));
      expect(byTable.PeopleTable).to.include({ action: "import-then-add-indexes" });
      expect(byTable.PeopleTable.missingIndexes).to.deep.equal(["EmailIndex"]);
      expect(byTable.SubscriptionsTable.missingIndexes).to.deep.equal(["ProjectIndex", "PersonIndex"]);
      // Two indexes, built one after the other.
      expect(byTable.SubscriptionsTable.backfillSeconds).to.equal(2 * backfillSeconds(100, 40_000));
      for (const t of TABLES.filter((t) => !["PeopleTable", "SubscriptionsTable"].includes(t.name))) expect(byTable[t.name].action, t.name).to.equal("import");
      expect(result.plan.ready).to.equal(true);
      const text = renderPlan(result.plan);
      expect(text).to.match(/import, then add indexes\s+SubscriptionsTable.*ProjectIndex, PersonIndex — one UpdateTable each, backfill about \d+ min/);
      expect(text).to.match(/import as it is\s+ProjectsTable/);
    });

    it("later generation: every contract table imports as it is; V2 tables and the images bucket stay, retained and unmanaged", async () => {
      serve(retained(laterStack()));
      const result = await runMigration(options({ dryRun: true }));
      expect(result.plan.tables.map((t) => t.action)).to.deep.equal(TABLES.map(() => "import"));
      expect(result.plan.unmanaged.map((u) => u.physicalId)).to.have.members(["PeopleTableV2", "ProjectSubmissions", "people-registry-project-images-123456789012-us-east-1"]);
      expect(result.plan.ready).to.equal(true);
    });

    it("changes nothing: no backup, no scan, no engine call; the plan is in the report", async () => {
      serve(retained(seedStack()));
      const stack = pulumiStack();
      const result = await runMigration(options({ dryRun: true, stack }));
      expect(ddb.commandCalls(CreateBackupCommand)).to.have.length(0);
      expect(ddb.commandCalls(ScanCommand)).to.have.length(0);
      expect(stack.calls).to.deep.equal([]);
      expect(JSON.parse(fs.readFileSync(result.report, "utf8")).plan.tables).to.have.length(TABLES.length);
    });
  });

  it("refuses while deleting the old stack would delete data, naming the exact CDK change", async () => {
    serve(laterStack());
    const stack = pulumiStack();
    const result = await runMigration(options({ stack }));
    expect(result.plan.ready).to.equal(false);
    const fixes = result.plan.deletionRisks.map((r) => r.fix).join("\n");
    expect(fixes).to.contain("set `removalPolicy: RemovalPolicy.RETAIN` on PeopleRegisterInfrastructureStack/PeopleTable/Resource (PeopleTableA1B2C3D4)");
    expect(fixes).to.contain("remove `autoDeleteObjects: true`");
    expect(result.plan.deletionRisks.map((r) => r.physicalId)).to.include.members(["PeopleTable", "PeopleTableV2", "people-registry-project-images-123456789012-us-east-1"]);
    expect(renderPlan(result.plan)).to.contain("REFUSED");
    expect(ddb.commandCalls(CreateBackupCommand)).to.have.length(0);
    expect(stack.calls).to.deep.equal([]);
  });

  it("stops on a table whose keys differ from the contract", async () => {
    const old = retained(seedStack());
    const people = old.resources.find((r) => r.physicalId === "PeopleTable")!;
    people.table = { ...people.table!, KeySchema: [{ AttributeName: "personId", KeyType: "HASH" }], AttributeDefinitions: [{ AttributeName: "personId", AttributeType: "S" }] };
    serve(old);
    const stack = pulumiStack();
    const result = await runMigration(options({ stack }));
    const plan = result.plan.tables.find((t) => t.table === "PeopleTable")!;
    expect(plan.action).to.equal("stop");
    expect(plan.problems[0]).to.equal("key is personId, the contract says id");
    expect(result.plan.ready).to.equal(false);
    expect(ddb.commandCalls(CreateBackupCommand)).to.have.length(0);
    expect(stack.calls).to.deep.equal([]);
  });

  it("stops when a backup fails: nothing is imported and the stack's config is untouched", async () => {
    serve(retained(seedStack()));
    ddb.on(CreateBackupCommand, { TableName: "ProjectsTable" }).rejects(new Error("ContinuousBackupsUnavailableException"));
    const stack = pulumiStack();
    let error: unknown;
    await runMigration(options({ stack })).catch((e) => (error = e));
    expect(error).to.be.instanceOf(MigrationStopped);
    expect((error as Error).message).to.match(/the backup of ProjectsTable failed .*nothing was imported\. Backups taken so far: arn:aws:dynamodb:.*PeopleTable\/backup/);
    expect(stack.calls).to.deep.equal([]);
    expect(stack.config[ADOPT_TABLES_KEY]).to.equal(undefined);
  });

  it("backs up, imports, applies the indexes and keeps every item; the report records the backup ARNs", async () => {
    serve(retained(seedStack()));
    const stack = pulumiStack();
    const result = await runMigration(options({ stack }));
    expect(result.backups.map((b) => b.table)).to.deep.equal(TABLES.map((t) => t.name));
    expect(result.backups.every((b) => b.status === "AVAILABLE" && b.backupArn.includes("/backup/"))).to.equal(true);
    expect(stack.calls).to.deep.equal(["setAllConfig", "preview", "up", "setAllConfig", "preview", "up"]);
    expect(stack.config[ADOPT_TABLES_KEY]).to.deep.equal({ value: "false" });
    expect(result.counts.afterIndexes).to.deep.equal(result.counts.before);
    expect(result.oldStackSafeToDelete).to.equal(true);
    const report = JSON.parse(fs.readFileSync(result.report, "utf8"));
    expect(report.backups.map((b: { backupArn: string }) => b.backupArn)).to.have.length(TABLES.length);
  });

  it("stops before the import update when the preview does not import a table (wrong config), and turns adoption off again", async () => {
    serve(retained(seedStack()));
    const stack = pulumiStack();
    stack.previews[0] = { events: TABLES.map((t) => step({ op: t.name === "PeopleTable" ? "create" : "import", type: TABLE_TYPE, name: `tables-${t.name}`, parentType: DATA_TABLES })) };
    let error: unknown;
    await runMigration(options({ stack })).catch((e) => (error = e));
    expect((error as Error).message).to.contain("PeopleTable shows as create, not import");
    expect(stack.calls).to.not.include("up");
    expect(stack.config[ADOPT_TABLES_KEY]).to.deep.equal({ value: "false" });
  });

  it("stops when items went missing after the import", async () => {
    serve(retained(seedStack()));
    const stack = pulumiStack();
    const up = stack.up.bind(stack);
    stack.up = async (o) => {
      counts.PeopleTable = 90;
      return up(o);
    };
    let error: unknown;
    await runMigration(options({ stack })).catch((e) => (error = e));
    expect((error as Error).message).to.contain("fewer items than before in PeopleTable (100 → 90)");
    expect(stack.calls.filter((c) => c === "up")).to.have.length(1);
  });

  it("requires the stack to use the CDK's table names", async () => {
    serve(retained(seedStack()));
    const stack = pulumiStack();
    stack.config["people-register:tableNaming"] = { value: "stack" };
    let error: unknown;
    await runMigration(options({ stack })).catch((e) => (error = e));
    expect((error as Error).message).to.contain("pulumi config set people-register:tableNaming legacy");
    expect(ddb.commandCalls(CreateBackupCommand)).to.have.length(0);
  });
});
