// `migrate`: moves the tables of the old CDK stack into the Pulumi stack without a step that can lose data.
// Reads the old CloudFormation stack (resources, DeletionPolicy, DescribeTable), plans per contract table
// (import as is / import then add the missing GSIs / stop on a key difference), refuses while deleting the
// old stack would delete anything stateful, backs every table up, then runs the import update and the
// index update through the engine module and checks item counts before and after.
import { CloudFormationClient, GetTemplateCommand, ListStackResourcesCommand, type StackResourceSummary } from "@aws-sdk/client-cloudformation";
import {
  CreateBackupCommand,
  DescribeBackupCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
  type TableDescription,
} from "@aws-sdk/client-dynamodb";
import { setTimeout as sleepFor } from "node:timers/promises";
import { parse as parseYaml } from "yaml";
import { TABLES, keyAttributes, type TableSpec } from "../../handlers/contract";
import { CommandFailure, type Logger, writeReport } from "../command";
import type { PreviewDiff } from "./diff";
import { findDestructiveChanges } from "./guard";
import { CONFIG_NAMESPACE, type EngineStack, previewStack, type RetryPolicy, setTableAdoption, upStack } from "./pulumi";

export const MIGRATE_REPORT = "migrate.json";

/** CloudFormation types whose deletion loses data. */
export const STATEFUL_TYPES: readonly string[] = [
  "AWS::DynamoDB::Table",
  "AWS::DynamoDB::GlobalTable",
  "AWS::S3::Bucket",
  "AWS::RDS::DBInstance",
  "AWS::RDS::DBCluster",
  "AWS::EFS::FileSystem",
  "AWS::Cognito::UserPool",
  "AWS::KMS::Key",
  "AWS::SecretsManager::Secret",
  "AWS::Logs::LogGroup",
];
/** CDK's `autoDeleteObjects: true`: a custom resource that empties its bucket when the stack is deleted. */
export const AUTO_DELETE_OBJECTS_TYPE = "Custom::S3AutoDeleteObjects";
const RETAINED = new Set(["Retain", "RetainExceptOnCreate"]);

/**
 * Rough GSI backfill speed, for the plan only: DynamoDB publishes no rate. Creating an index costs a few
 * minutes on its own, then it reads the whole table; the slower of the two rates wins.
 */
export const BACKFILL = { setupSeconds: 300, itemsPerSecond: 1_000, bytesPerSecond: 2 * 1024 * 1024 } as const;

/** The run stopped before anything changed (or, after backups, before the update that failed). */
export class MigrationStopped extends CommandFailure {
  override name = "MigrationStopped";
}

export interface OldStackResource {
  logicalId: string;
  type: string;
  physicalId: string;
  /** The template's DeletionPolicy; CloudFormation's default is Delete. */
  deletionPolicy: string;
  /** `aws:cdk:path` from the template metadata, when the stack came from the CDK. */
  cdkPath?: string;
}

export interface DeletionRisk {
  logicalId: string;
  type: string;
  physicalId: string;
  cdkPath?: string;
  /** The exact change that makes deleting the old stack harmless for this resource. */
  fix: string;
}

export type TableAction = "import" | "import-then-add-indexes" | "create" | "stop";

export interface TablePlan {
  table: string;
  action: TableAction;
  /** Contract indexes the table lacks; the second update creates them, one UpdateTable each. */
  missingIndexes: string[];
  /** Why the table cannot be imported (keys, key types, index shape). */
  problems: string[];
  itemCount?: number;
  sizeBytes?: number;
  /** Rough backfill time of all missing indexes, one after the other. */
  backfillSeconds?: number;
}

export interface MigrationPlan {
  oldStack: string;
  tables: TablePlan[];
  /** Stateful resources of the old stack that the contract does not know: they stay where they are, retained. */
  unmanaged: Array<{ logicalId: string; type: string; physicalId: string }>;
  /** What deleting the old stack would destroy today. Must be empty before anything runs. */
  deletionRisks: DeletionRisk[];
  /** True when nothing stops the migration. */
  ready: boolean;
}

// ---- Reading the old stack ----

export async function readOldStack(cfn: CloudFormationClient, stackName: string): Promise<OldStackResource[]> {
  const summaries: StackResourceSummary[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await cfn.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: nextToken }));
      summaries.push(...(page.StackResourceSummaries ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (err) {
    throw new MigrationStopped(`could not read the CloudFormation stack ${stackName}: ${(err as Error).message}`);
  }
  const template = await cfn.send(new GetTemplateCommand({ StackName: stackName, TemplateStage: "Original" }));
  const resources = parseTemplate(template.TemplateBody ?? "{}");
  return summaries
    .filter((s) => s.ResourceStatus !== "DELETE_COMPLETE")
    .map((s) => {
      const declared = resources[s.LogicalResourceId ?? ""] ?? {};
      const cdkPath = declared.Metadata?.["aws:cdk:path"];
      return {
        logicalId: s.LogicalResourceId ?? "",
        type: s.ResourceType ?? "",
        physicalId: s.PhysicalResourceId ?? "",
        deletionPolicy: typeof declared.DeletionPolicy === "string" ? declared.DeletionPolicy : "Delete",
        ...(typeof cdkPath === "string" ? { cdkPath } : {}),
      };
    });
}

type TemplateResources = Record<string, { DeletionPolicy?: unknown; Metadata?: Record<string, unknown> }>;

function parseTemplate(body: string): TemplateResources {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    // Hand-written templates may be YAML (CDK synthesizes JSON). Intrinsic tags do not matter here.
    doc = parseYaml(body, { customTags: (tags) => tags, strict: false, logLevel: "silent" });
  }
  const resources = (doc as { Resources?: unknown } | null)?.Resources;
  return resources && typeof resources === "object" ? (resources as TemplateResources) : {};
}

/** What deleting the old stack would destroy: stateful resources not retained, and auto-delete custom resources. */
export function deletionRisks(resources: readonly OldStackResource[]): DeletionRisk[] {
  const risks: DeletionRisk[] = [];
  for (const r of resources) {
    const where = r.cdkPath ? `${r.cdkPath} (${r.logicalId})` : r.logicalId;
    if (r.type === AUTO_DELETE_OBJECTS_TYPE) {
      risks.push({ ...pick(r), fix: `remove \`autoDeleteObjects: true\` from the bucket construct behind ${where}: on stack deletion it empties the bucket` });
    } else if (STATEFUL_TYPES.includes(r.type) && !RETAINED.has(r.deletionPolicy)) {
      risks.push({ ...pick(r), fix: `set \`removalPolicy: RemovalPolicy.RETAIN\` on ${where} (DeletionPolicy is ${r.deletionPolicy})` });
    }
  }
  return risks;
}

const pick = (r: OldStackResource) => ({ logicalId: r.logicalId, type: r.type, physicalId: r.physicalId, ...(r.cdkPath ? { cdkPath: r.cdkPath } : {}) });

// ---- Planning ----

export async function describeTables(ddb: DynamoDBClient, names: readonly string[]): Promise<Map<string, TableDescription>> {
  const out = new Map<string, TableDescription>();
  for (const name of names) {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: name }));
    if (Table) out.set(name, Table);
  }
  return out;
}

/** Compare one existing table with its contract spec. */
export function planTable(spec: TableSpec, existing: TableDescription | undefined): TablePlan {
  if (!existing) return { table: spec.name, action: "create", missingIndexes: [], problems: [] };
  const problems: string[] = [];
  const keyOf = (schema: TableDescription["KeySchema"], type: "HASH" | "RANGE") => schema?.find((k) => k.KeyType === type)?.AttributeName;
  const wantKeys = `${spec.hashKey}${spec.rangeKey ? ` + ${spec.rangeKey}` : ""}`;
  const hash = keyOf(existing.KeySchema, "HASH");
  const range = keyOf(existing.KeySchema, "RANGE");
  if (hash !== spec.hashKey || range !== spec.rangeKey) problems.push(`key is ${hash}${range ? ` + ${range}` : ""}, the contract says ${wantKeys}`);
  const types = new Map((existing.AttributeDefinitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
  for (const attr of keyAttributes(spec)) {
    const type = types.get(attr);
    if (type !== undefined && type !== "S") problems.push(`key attribute ${attr} is of type ${type}, the contract says S (string)`);
  }
  const existingIndexes = new Map((existing.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName ?? "", i]));
  const missingIndexes: string[] = [];
  for (const index of spec.globalSecondaryIndexes) {
    const found = existingIndexes.get(index.name);
    if (!found) {
      missingIndexes.push(index.name);
      continue;
    }
    const h = keyOf(found.KeySchema, "HASH");
    const r = keyOf(found.KeySchema, "RANGE");
    if (h !== index.hashKey || r !== index.rangeKey) problems.push(`index ${index.name} is on ${h}${r ? ` + ${r}` : ""}, the contract says ${index.hashKey}${index.rangeKey ? ` + ${index.rangeKey}` : ""}`);
    else if (found.Projection?.ProjectionType !== "ALL") problems.push(`index ${index.name} projects ${found.Projection?.ProjectionType}, the contract says ALL`);
  }
  for (const name of existingIndexes.keys()) {
    if (!spec.globalSecondaryIndexes.some((i) => i.name === name)) problems.push(`index ${name} is not in the contract; the index update would delete it`);
  }
  const itemCount = existing.ItemCount ?? 0;
  const sizeBytes = existing.TableSizeBytes ?? 0;
  const base = { table: spec.name, missingIndexes, problems, itemCount, sizeBytes };
  if (problems.length) return { ...base, action: "stop" };
  if (!missingIndexes.length) return { ...base, action: "import" };
  return { ...base, action: "import-then-add-indexes", backfillSeconds: missingIndexes.length * backfillSeconds(itemCount, sizeBytes) };
}

/** Rough time to create one index on a table of this size (DynamoDB builds one index per UpdateTable). */
export function backfillSeconds(itemCount: number, sizeBytes: number): number {
  return BACKFILL.setupSeconds + Math.ceil(Math.max(itemCount / BACKFILL.itemsPerSecond, sizeBytes / BACKFILL.bytesPerSecond));
}

export async function planMigration(clients: MigrateClients, oldStack: string): Promise<MigrationPlan> {
  const resources = await readOldStack(clients.cloudFormation, oldStack);
  const tableResources = resources.filter((r) => r.type === "AWS::DynamoDB::Table");
  const descriptions = await describeTables(clients.dynamodb, tableResources.map((r) => r.physicalId));
  const tables = TABLES.map((spec) => planTable(spec, descriptions.get(spec.name)));
  const contractNames = new Set<string>(TABLES.map((t) => t.name));
  const unmanaged = resources
    .filter((r) => STATEFUL_TYPES.includes(r.type) && !(r.type === "AWS::DynamoDB::Table" && contractNames.has(r.physicalId)))
    .map((r) => ({ logicalId: r.logicalId, type: r.type, physicalId: r.physicalId }));
  const risks = deletionRisks(resources);
  return { oldStack, tables, unmanaged, deletionRisks: risks, ready: risks.length === 0 && tables.every((t) => t.action !== "stop") };
}

export function formatDurationLong(seconds: number): string {
  if (seconds < 3600) return `about ${Math.max(1, Math.round(seconds / 60))} min`;
  return `about ${(seconds / 3600).toFixed(1)} h`;
}

/** The plan as a person reads it. */
export function renderPlan(plan: MigrationPlan): string {
  const lines = [`Migration plan for the CloudFormation stack ${plan.oldStack}:`, ""];
  const counted = (t: TablePlan) => (t.itemCount === undefined ? "" : ` (${t.itemCount} items, ${t.sizeBytes} bytes)`);
  for (const t of plan.tables) {
    switch (t.action) {
      case "import":
        lines.push(`  import as it is             ${t.table}${counted(t)}`);
        break;
      case "import-then-add-indexes":
        lines.push(`  import, then add indexes    ${t.table}${counted(t)}: ${t.missingIndexes.join(", ")} — one UpdateTable each, backfill ${formatDurationLong(t.backfillSeconds ?? 0)} in all`);
        break;
      case "create":
        lines.push(`  create (not in the stack)   ${t.table}`);
        break;
      case "stop":
        lines.push(`  STOP: differs               ${t.table}: ${t.problems.join("; ")}`);
        break;
    }
  }
  if (plan.unmanaged.length) {
    lines.push("", "Stateful resources the contract does not manage (they stay, retained, when the old stack is deleted):");
    for (const u of plan.unmanaged) lines.push(`  ${u.type} ${u.physicalId} (${u.logicalId})`);
  }
  if (plan.deletionRisks.length) {
    lines.push("", `REFUSED: deleting ${plan.oldStack} would delete data. In the CDK app:`);
    for (const r of plan.deletionRisks) lines.push(`  - ${r.fix}`);
    lines.push("then `cdk deploy` that change and run migrate again (it re-reads the stack).");
  }
  if (plan.tables.some((t) => t.action === "stop")) {
    lines.push("", "STOPPED: a table differs from handlers/contract in its keys or indexes; importing it would fail or drop an index.");
  }
  lines.push("", plan.ready ? "Ready: backups, the import update, the index update, item-count checks." : "Not ready: nothing was changed.");
  return lines.join("\n");
}

// ---- Backups and counts ----

export interface WaitPolicy {
  intervalMs?: number;
  timeoutMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface BackupRecord {
  table: string;
  backupArn: string;
  status: string;
}

/** An on-demand backup of every table, each waited for until AVAILABLE. Any failure stops the run. */
export async function backupTables(ddb: DynamoDBClient, tables: readonly string[], opts: WaitPolicy & { signal: AbortSignal; log: Logger; stamp: string }): Promise<BackupRecord[]> {
  const interval = opts.intervalMs ?? 5_000;
  const timeout = opts.timeoutMs ?? 30 * 60_000;
  const sleep = opts.sleep ?? ((ms: number, signal: AbortSignal) => sleepFor(ms, undefined, { signal }).then(() => undefined));
  const records: BackupRecord[] = [];
  for (const table of tables) {
    let arn: string | undefined;
    try {
      const created = await ddb.send(new CreateBackupCommand({ TableName: table, BackupName: `${table}-pre-migration-${opts.stamp}` }));
      arn = created.BackupDetails?.BackupArn;
      let status = created.BackupDetails?.BackupStatus ?? "CREATING";
      if (!arn) throw new Error("no backup ARN returned");
      for (let waited = 0; status === "CREATING"; waited += interval) {
        if (waited >= timeout) throw new Error(`still CREATING after ${Math.round(timeout / 1000)} s`);
        await sleep(interval, opts.signal);
        const described = await ddb.send(new DescribeBackupCommand({ BackupArn: arn }));
        status = described.BackupDescription?.BackupDetails?.BackupStatus ?? "CREATING";
      }
      if (status !== "AVAILABLE") throw new Error(`backup status ${status}`);
      records.push({ table, backupArn: arn, status });
      opts.log.info(`backup of ${table}: ${arn}`);
    } catch (err) {
      throw new MigrationStopped(`the backup of ${table} failed (${(err as Error).message}); nothing was imported${records.length ? `. Backups taken so far: ${records.map((r) => r.backupArn).join(", ")}` : ""}`);
    }
  }
  return records;
}

/** The exact item count (a paginated COUNT scan; DescribeTable's ItemCount lags by up to six hours). */
export async function countItems(ddb: DynamoDBClient, table: string): Promise<number> {
  let total = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(new ScanCommand({ TableName: table, Select: "COUNT", ExclusiveStartKey: start as never }));
    total += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return total;
}

async function countAll(ddb: DynamoDBClient, tables: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = await countItems(ddb, t);
  return out;
}

function compareCounts(before: Record<string, number>, after: Record<string, number>, when: string): void {
  // Live traffic may add items; fewer items than before means something went wrong.
  const lost = Object.keys(before).filter((t) => (after[t] ?? 0) < before[t]);
  if (lost.length) throw new MigrationStopped(`${when}: fewer items than before in ${lost.map((t) => `${t} (${before[t]} → ${after[t]})`).join(", ")}; restore from the backups in the report`);
}

// ---- The run ----

export interface MigrateClients {
  cloudFormation: CloudFormationClient;
  dynamodb: DynamoDBClient;
}

export interface MigrateOptions {
  oldStack: string;
  clients: MigrateClients;
  /** The Pulumi stack the tables move into (tableNaming legacy). Not needed for a dry run. */
  stack?: EngineStack;
  /** The AWS region of the clients; checked against the stack's aws:region. */
  region?: string;
  dryRun: boolean;
  reportsDir: string;
  log: Logger;
  signal: AbortSignal;
  backupWait?: WaitPolicy;
  retry?: RetryPolicy;
  progress?: (text: string) => void;
  now?: () => Date;
}

export interface MigrationResult {
  plan: MigrationPlan;
  dryRun: boolean;
  backups: BackupRecord[];
  counts: { before?: Record<string, number>; afterImport?: Record<string, number>; afterIndexes?: Record<string, number> };
  updates: { import?: string; indexes?: string };
  /** Re-checked at the end: deleting the old stack now deletes no data. */
  oldStackSafeToDelete?: boolean;
  report: string;
}

export async function runMigration(opts: MigrateOptions): Promise<MigrationResult> {
  const { log, signal, clients } = opts;
  const plan = await log.step(`read ${opts.oldStack}`, () => planMigration(clients, opts.oldStack));
  const result: Omit<MigrationResult, "report"> = { plan, dryRun: opts.dryRun, backups: [], counts: {}, updates: {} };
  const save = () => writeReport(opts.reportsDir, MIGRATE_REPORT, result);
  if (opts.dryRun || !plan.ready) return { ...result, report: save() };

  const stack = opts.stack;
  if (!stack) throw new MigrationStopped("no Pulumi stack to import into (--stack)");
  await checkStackConfig(stack, opts.region);
  const toImport = plan.tables.filter((t) => t.action === "import" || t.action === "import-then-add-indexes").map((t) => t.table);
  const stamp = (opts.now?.() ?? new Date()).toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
  let adopting = false;
  try {
    result.counts.before = await log.step("count items", () => countAll(clients.dynamodb, toImport));
    result.backups = await log.step("back up every table", () => backupTables(clients.dynamodb, toImport, { ...opts.backupWait, signal, log, stamp }));

    // Re-check right before the import: the old stack may have changed since the plan was read.
    const again = deletionRisks(await readOldStack(clients.cloudFormation, opts.oldStack));
    if (again.length) throw new MigrationStopped(`the old stack changed: deleting it would delete data again (${again.map((r) => r.logicalId).join(", ")}); nothing was imported`);

    const engine = { signal, log, ci: true, progress: opts.progress, ...opts.retry };
    await setTableAdoption(stack, true);
    adopting = true;
    const importPreview = await log.step("preview the import update", () => previewStack(stack, engine));
    checkImportPreview(importPreview.diff, toImport);
    const imported = await log.step("import update", () => upStack(stack, { ...engine, message: `migrate: import tables from ${opts.oldStack}` }));
    result.updates.import = imported.result;
    result.counts.afterImport = await countAll(clients.dynamodb, toImport);
    compareCounts(result.counts.before, result.counts.afterImport, "after the import");

    await setTableAdoption(stack, false);
    adopting = false;
    const indexPreview = await log.step("preview the index update", () => previewStack(stack, engine));
    const destructive = findDestructiveChanges(indexPreview.diff);
    if (destructive.length) throw new MigrationStopped(`the index update would ${destructive.map((f) => `${f.op} ${f.name}`).join(", ")}; stopped before it (the tables are imported and protected)`);
    const indexed = await log.step("index update (one GSI at a time)", () => upStack(stack, { ...engine, message: "migrate: apply the contract's indexes and settings" }));
    result.updates.indexes = indexed.result;
    result.counts.afterIndexes = await countAll(clients.dynamodb, toImport);
    compareCounts(result.counts.before, result.counts.afterIndexes, "after the index update");

    result.oldStackSafeToDelete = deletionRisks(await readOldStack(clients.cloudFormation, opts.oldStack)).length === 0;
    return { ...result, report: save() };
  } catch (err) {
    // Stopped before or during the import: leave the stack's config as it was.
    if (adopting && !result.updates.import) await setTableAdoption(stack, false).catch(() => undefined);
    save();
    throw err;
  }
}

async function checkStackConfig(stack: EngineStack, region: string | undefined): Promise<void> {
  const naming = await stack.getConfigValue(`${CONFIG_NAMESPACE}:tableNaming`);
  if (naming !== "legacy") {
    throw new MigrationStopped(`stack ${stack.name} must name tables as the CDK stack did: pulumi config set ${CONFIG_NAMESPACE}:tableNaming legacy --stack ${stack.name}`);
  }
  const stackRegion = await stack.getConfigValue("aws:region");
  if (region && stackRegion && stackRegion !== region) {
    throw new MigrationStopped(`stack ${stack.name} deploys to ${stackRegion}, the old stack's tables are in ${region}`);
  }
}

/** The import update must import every planned table and destroy nothing. */
function checkImportPreview(diff: PreviewDiff, tables: readonly string[]): void {
  const destructive = findDestructiveChanges(diff);
  const tableOps = new Map(diff.changes.filter((c) => c.type === "aws:dynamodb/table:Table").map((c) => [c.name.split("-").pop() ?? c.name, c.op]));
  const notImported = tables.filter((t) => tableOps.get(t) !== "import");
  if (destructive.length || notImported.length) {
    throw new MigrationStopped(
      [
        "the import preview is not a pure import; nothing was imported",
        ...destructive.map((f) => `  - it would ${f.op} ${f.name}`),
        ...notImported.map((t) => `  - ${t} shows as ${tableOps.get(t) ?? "unchanged"}, not import`),
      ].join("\n"),
    );
  }
}

/** AWS SDK clients for the region (credentials from the usual AWS environment). */
export function createClients(region: string | undefined): MigrateClients {
  return { cloudFormation: new CloudFormationClient({ region }), dynamodb: new DynamoDBClient({ region }) };
}
