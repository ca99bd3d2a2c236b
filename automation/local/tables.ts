// The contract's tables on DynamoDB Local: keys, GSIs (projection ALL, as the stack deploys them) and
// TTL. Idempotent, so a persistent --db-path keeps its data across runs.
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { APP_TABLES, type AppTableName, type KeySchema, keyAttributes, TABLES, type TableName, type TableSpec } from "../../handlers/contract";
import { LocalTargetError } from "./errors";

/** Region and dummy credentials DynamoDB Local accepts (it runs with -sharedDb, so any values see the same tables). */
export const LOCAL_AWS_ENV = { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" } as const;

/** A low-level client for DynamoDB Local (tests wrap it with DynamoDBDocumentClient.from). */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_AWS_ENV.AWS_REGION,
    credentials: { accessKeyId: LOCAL_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: LOCAL_AWS_ENV.AWS_SECRET_ACCESS_KEY },
    maxAttempts: 3,
  });
}

const keySchema = (k: KeySchema): KeySchemaElement[] => [
  { AttributeName: k.hashKey, KeyType: "HASH" },
  ...(k.rangeKey ? [{ AttributeName: k.rangeKey, KeyType: "RANGE" as const }] : []),
];

const gsi = (spec: TableSpec["globalSecondaryIndexes"][number]): GlobalSecondaryIndex => ({
  IndexName: spec.name,
  KeySchema: keySchema(spec),
  Projection: { ProjectionType: "ALL" },
});

const sameKeys = (a: KeySchemaElement[] | undefined, b: KeySchemaElement[]) =>
  JSON.stringify((a ?? []).map((k) => [k.AttributeName, k.KeyType])) === JSON.stringify(b.map((k) => [k.AttributeName, k.KeyType]));

/**
 * Create every contract table (named `<prefix><TableName>`) with its keys, GSIs and TTL. Tables that
 * already exist (persistent data) are checked against the contract: missing GSIs are added, a
 * different primary key is an error. Returns logical name -> physical name.
 */
export async function createTables(endpoint: string, opts: { prefix?: string } = {}): Promise<Record<TableName, string>> {
  const prefix = opts.prefix ?? "";
  const client = localDynamoClient(endpoint);
  try {
    const entries = await Promise.all(TABLES.map(async (spec) => [spec.name, await ensureTable(client, spec, `${prefix}${spec.name}`)] as const));
    return Object.fromEntries(entries) as Record<TableName, string>;
  } finally {
    client.destroy();
  }
}

async function ensureTable(client: DynamoDBClient, spec: TableSpec, name: string): Promise<string> {
  const attributes: AttributeDefinition[] = keyAttributes(spec).map((a) => ({ AttributeName: a, AttributeType: "S" }));
  const existing = await describe(client, name);
  if (!existing) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: name,
          AttributeDefinitions: attributes,
          KeySchema: keySchema(spec),
          BillingMode: "PAY_PER_REQUEST",
          ...(spec.globalSecondaryIndexes.length ? { GlobalSecondaryIndexes: spec.globalSecondaryIndexes.map(gsi) } : {}),
        }),
      );
    } catch (err) {
      if ((err as { name?: string }).name !== "ResourceInUseException") throw err;
    }
  } else {
    if (!sameKeys(existing.KeySchema, keySchema(spec))) {
      throw new LocalTargetError(`table ${name} in the local data folder has another primary key than the contract: delete that folder or use another --db-path`);
    }
    const present = new Set((existing.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
    for (const index of spec.globalSecondaryIndexes.filter((i) => !present.has(i.name))) {
      await client.send(new UpdateTableCommand({ TableName: name, AttributeDefinitions: attributes, GlobalSecondaryIndexUpdates: [{ Create: gsi(index) }] }));
    }
  }
  if (spec.ttlAttribute) {
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    const current = ttl.TimeToLiveDescription;
    if (current?.TimeToLiveStatus !== "ENABLED" || current.AttributeName !== spec.ttlAttribute) {
      await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: spec.ttlAttribute, Enabled: true } }));
    }
  }
  return name;
}

async function describe(client: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (err) {
    if ((err as { name?: string }).name === "ResourceNotFoundException") return undefined;
    throw err;
  }
}

/** The environment the functions read their table names from: contract envVar -> physical name. */
export function tableEnv(names: Record<TableName, string>): Record<string, string> {
  return Object.fromEntries(TABLES.map((t) => [t.envVar, names[t.name]]));
}

/** The integrated app's own tables (APP_TABLES) it uses: `<prefix><Name>`, or the name the app hard-codes. */
export async function createAppTables(endpoint: string, tables: readonly AppTableName[], opts: { prefix?: string } = {}): Promise<Partial<Record<AppTableName, string>>> {
  const client = localDynamoClient(endpoint);
  try {
    const out: Partial<Record<AppTableName, string>> = {};
    for (const spec of APP_TABLES.filter((t) => tables.includes(t.name))) {
      out[spec.name] = await ensureTable(client, spec as unknown as TableSpec, spec.fixedName ?? `${opts.prefix ?? ""}${spec.name}`);
    }
    return out;
  } finally {
    client.destroy();
  }
}
