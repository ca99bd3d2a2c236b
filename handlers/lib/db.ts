// DynamoDB access: one document client per container, created on first use. Table names come from
// the contract's env vars; DynamoDB Local is used when DYNAMODB_ENDPOINT is set.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand, type QueryCommandInput, ScanCommand, type ScanCommandInput } from "@aws-sdk/lib-dynamodb";
import { type TableName, tableSpec } from "../contract";
import { config, tableName } from "./config";
import { HttpError } from "./http";

export type Item = Record<string, unknown>;

let client: DynamoDBDocumentClient | undefined;

export function ddb(): DynamoDBDocumentClient {
  if (client) return client;
  const cfg = config();
  const local = cfg.dynamoDbEndpoint;
  const base = new DynamoDBClient({
    maxAttempts: 3,
    ...(local
      ? {
          endpoint: local,
          region: process.env.AWS_REGION ?? "us-east-1",
          // DynamoDB Local accepts any credentials; static ones avoid the slow provider chain.
          ...(process.env.AWS_ACCESS_KEY_ID ? {} : { credentials: { accessKeyId: "local", secretAccessKey: "local" } }),
        }
      : {}),
  });
  client = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
  return client;
}

export const table = (name: TableName): string => tableName(name);

export function isConditionFailure(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === "ConditionalCheckFailedException";
}

/** Reasons of a cancelled transaction, one code per item ("None" when that item was fine). */
export function cancellationCodes(err: unknown): string[] | undefined {
  const e = err as { name?: string; CancellationReasons?: Array<{ Code?: string }> } | undefined;
  if (e?.name !== "TransactionCanceledException") return undefined;
  return (e.CancellationReasons ?? []).map((r) => r.Code ?? "None");
}

// --- pagination tokens: base64url(JSON(LastEvaluatedKey)), checked on the way back in -------------

export function encodePageToken(key: Item | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key), "utf8").toString("base64url") : undefined;
}

/** Decode a nextToken for `tableName` (and an index); garbage → 400. */
export function decodePageToken(token: string | undefined, name: TableName, indexName?: string): Item | undefined {
  if (token === undefined) return undefined;
  const invalid = new HttpError(400, "VALIDATION_ERROR", "Query parameters are invalid", [
    { field: "nextToken", code: "invalid_token", message: "nextToken is not valid" },
  ]);
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(token)) throw invalid;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid;
  }
  const spec = tableSpec(name);
  const expected = new Set([spec.hashKey, spec.rangeKey].filter((k): k is string => !!k));
  if (indexName) {
    const index = spec.globalSecondaryIndexes.find((i) => i.name === indexName);
    if (index) for (const k of [index.hashKey, index.rangeKey]) if (k) expected.add(k);
  }
  if (!key || typeof key !== "object" || Array.isArray(key)) throw invalid;
  const entries = Object.entries(key as Item);
  if (entries.length !== expected.size) throw invalid;
  for (const [k, v] of entries) if (!expected.has(k) || typeof v !== "string" || v.length > 1024) throw invalid;
  return key as Item;
}

export interface Page {
  items: Item[];
  nextToken?: string;
}

/** One page of a whole-table listing (admin lists and the public project list). */
export async function scanPage(name: TableName, limit: number, nextToken: string | undefined, extra: Partial<ScanCommandInput> = {}): Promise<Page> {
  const out = await ddb().send(
    new ScanCommand({ TableName: table(name), Limit: limit, ExclusiveStartKey: decodePageToken(nextToken, name), ...extra }),
  );
  const token = encodePageToken(out.LastEvaluatedKey as Item | undefined);
  return { items: (out.Items ?? []) as Item[], ...(token ? { nextToken: token } : {}) };
}

/** Every item of a query, following LastEvaluatedKey (per-person and per-project lists are complete). */
export async function queryAll(input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ddb().send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...((out.Items ?? []) as Item[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Count every item of a table (paginated COUNT scan). */
export async function countAll(name: TableName, extra: Partial<ScanCommandInput> = {}): Promise<number> {
  let total = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ddb().send(new ScanCommand({ TableName: table(name), Select: "COUNT", ExclusiveStartKey: start, ...extra }));
    total += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return total;
}

/** Condition that the stored version is `expected` (an absent version counts as 1: items the registry-api wrote). */
export function versionCondition(expected: number): { expression: string; values: Record<string, unknown> } {
  return expected === 1
    ? { expression: "(attribute_not_exists(version) OR version = :expectedVersion)", values: { ":expectedVersion": 1 } }
    : { expression: "version = :expectedVersion", values: { ":expectedVersion": expected } };
}

/**
 * Partial update of an existing item keyed by `id`, guarded by its `version` when one is given
 * (optimistic concurrency; without one the last writer wins): a `null` value removes the field;
 * `updatedAt` and `version` are bumped. Never an upsert.
 * Returns the new item, or undefined when the item is gone or its version differs (the caller tells which).
 */
export async function updateWithVersion(name: TableName, id: string, changes: Record<string, unknown>, version: number | undefined): Promise<Item | undefined> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    if (value === null) removes.push(`#${field}`);
    else {
      sets.push(`#${field} = :${field}`);
      values[`:${field}`] = value;
    }
  }
  // An item without `version` (written by the registry-api app) counts as version 1.
  const cond = version === undefined ? { expression: "attribute_exists(id)", values: { ":one": 1 } } : versionCondition(version);
  sets.push("updatedAt = :updatedAt", version === undefined ? "version = if_not_exists(version, :one) + :one" : "version = :newVersion");
  values[":updatedAt"] = new Date().toISOString();
  if (version !== undefined) values[":newVersion"] = version + 1;
  try {
    const out = await ddb().send(
      new UpdateCommand({
        TableName: table(name),
        Key: { id },
        UpdateExpression: `SET ${sets.join(", ")}${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
        ConditionExpression: `attribute_exists(id) AND ${cond.expression}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ...values, ...cond.values },
        ReturnValues: "ALL_NEW",
      }),
    );
    return out.Attributes as Item;
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}
