// DynamoDB access: one client per container, created on first use. Table names come from the
// contract's env vars; DynamoDB Local is used when DYNAMODB_ENDPOINT is set.
// The client speaks DynamoDB's JSON protocol through lib/aws.ts instead of loading the AWS SDK (its
// evaluation was most of a cold start). Commands, inputs, outputs and error names are the SDK
// document client's, and items go through the SDK's own converter (@aws-sdk/util-dynamodb), so item
// shapes stay exactly what the registry-api and the tests read and write.
import type * as Doc from "@aws-sdk/lib-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { type TableName, tableSpec } from "../contract";
import { awsRequest, environmentCredentials, environmentRegion, type ResponseMetadata } from "./aws";
import { config, tableName } from "./config";
import { HttpError } from "./http";

export type Item = Record<string, unknown>;
export type QueryCommandInput = Doc.QueryCommandInput;
export type ScanCommandInput = Doc.ScanCommandInput;
type Wire = Record<string, any>;

const MARSHALL = { removeUndefinedValues: true } as const;
const toWire = (value: Item | undefined): Wire | undefined => (value === undefined ? undefined : marshall(value, MARSHALL));
const fromWire = (value: Wire | undefined): Item | undefined => (value === undefined ? undefined : unmarshall(value));
const mapValues = <T, U>(obj: Record<string, T> | undefined, fn: (v: T) => U): Record<string, U> | undefined =>
  obj === undefined ? undefined : Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v)]));
/** Converts the named native-value fields of a request or answer part. */
function convert(part: Wire | undefined, fields: readonly string[], fn: (v: any) => unknown): Wire | undefined {
  if (part === undefined) return undefined;
  const out: Wire = { ...part };
  for (const f of fields) if (out[f] !== undefined) out[f] = fn(out[f]);
  return out;
}
const KEYED = ["Key", "Item", "ExpressionAttributeValues", "ExclusiveStartKey"] as const;
const ANSWERED = ["Item", "Items", "Attributes", "LastEvaluatedKey"] as const;
const fromWireAll = (v: any): unknown => (Array.isArray(v) ? v.map((i) => fromWire(i)) : fromWire(v));

/** A document-client command: the SDK's input and output types, one DynamoDB operation. */
export abstract class Command<Input extends object, Output> {
  /** Never set: lets `send` infer the output type from the command. */
  declare protected readonly output?: Output;
  abstract readonly operation: string;
  constructor(readonly input: Input) {}
  toWire(): Wire {
    return convert(this.input, KEYED, toWire)!;
  }
  fromWire(body: Wire, $metadata: ResponseMetadata): Output {
    return { ...convert(body, ANSWERED, fromWireAll), $metadata } as Output;
  }
}

/** A document-client command for one operation that needs no conversion beyond the item's. */
function plainCommand<Input extends object, Output>(operation: string) {
  return class extends Command<Input, Output> {
    readonly operation = operation;
  };
}

export const GetCommand = plainCommand<Doc.GetCommandInput, Doc.GetCommandOutput>("GetItem");
export const PutCommand = plainCommand<Doc.PutCommandInput, Doc.PutCommandOutput>("PutItem");
export const UpdateCommand = plainCommand<Doc.UpdateCommandInput, Doc.UpdateCommandOutput>("UpdateItem");
export const DeleteCommand = plainCommand<Doc.DeleteCommandInput, Doc.DeleteCommandOutput>("DeleteItem");
export const QueryCommand = plainCommand<Doc.QueryCommandInput, Doc.QueryCommandOutput>("Query");
export const ScanCommand = plainCommand<Doc.ScanCommandInput, Doc.ScanCommandOutput>("Scan");
export class BatchGetCommand extends Command<Doc.BatchGetCommandInput, Doc.BatchGetCommandOutput> {
  readonly operation = "BatchGetItem";
  override toWire(): Wire {
    return { ...this.input, RequestItems: mapValues(this.input.RequestItems as Wire, (t: Wire) => ({ ...t, Keys: t.Keys?.map(toWire) })) };
  }
  override fromWire(body: Wire, $metadata: ResponseMetadata): Doc.BatchGetCommandOutput {
    return {
      ...body,
      Responses: mapValues(body.Responses, (items: Wire[]) => items.map(fromWire)),
      UnprocessedKeys: mapValues(body.UnprocessedKeys, (t: Wire) => ({ ...t, Keys: t.Keys?.map(fromWire) })),
      $metadata,
    } as Doc.BatchGetCommandOutput;
  }
}
export class TransactWriteCommand extends Command<Doc.TransactWriteCommandInput, Doc.TransactWriteCommandOutput> {
  readonly operation = "TransactWriteItems";
  override toWire(): Wire {
    const part = (p: Wire | undefined) => convert(p, KEYED, toWire);
    const items = (this.input.TransactItems ?? []) as Wire[];
    return { ...this.input, TransactItems: items.map((i) => ({ ConditionCheck: part(i.ConditionCheck), Put: part(i.Put), Delete: part(i.Delete), Update: part(i.Update) })) };
  }
}

/** Native items on the fields of an error answer (a failed condition's or a cancelled transaction's `Item`s). */
function nativeErrorItems(err: unknown): unknown {
  const e = err as { Item?: Wire; CancellationReasons?: Wire[] };
  if (e && typeof e === "object") {
    if (e.Item) e.Item = fromWire(e.Item);
    if (Array.isArray(e.CancellationReasons)) e.CancellationReasons = e.CancellationReasons.map((r) => convert(r, ["Item"], fromWire)!);
  }
  return err;
}

export interface DocumentClient {
  send<Output>(command: Command<object, Output>): Promise<Output>;
}

// DynamoDB Local accepts any credentials and region.
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

let client: DocumentClient | undefined;

export function ddb(): DocumentClient {
  if (client) return client;
  const local = config().dynamoDbEndpoint;
  const region = environmentRegion(local ? "us-east-1" : undefined);
  const endpoint = new URL(local ?? `https://dynamodb.${region}.amazonaws.com`);
  client = {
    async send(command) {
      const out = await awsRequest({
        service: "dynamodb",
        region,
        endpoint,
        method: "POST",
        path: "/",
        headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": `DynamoDB_20120810.${command.operation}` },
        body: JSON.stringify(command.toWire()),
        // Read per call: Lambda's role credentials, or (DynamoDB Local only) dummy ones.
        credentials: environmentCredentials(local ? LOCAL_CREDENTIALS : undefined),
      }).catch((err: unknown) => Promise.reject(nativeErrorItems(err)));
      return command.fromWire(out.body, out.$metadata);
    },
  };
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

/** Every item of a paged read: `page` is called with each LastEvaluatedKey until there is none. */
async function allPages(page: (start: Record<string, unknown> | undefined) => Promise<{ Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> }>): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await page(start);
    items.push(...((out.Items ?? []) as Item[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every item of a query, following LastEvaluatedKey (per-person and per-project lists are complete). */
export const queryAll = (input: QueryCommandInput): Promise<Item[]> => allPages((start) => ddb().send(new QueryCommand({ ...input, ExclusiveStartKey: start })));

/** Every item of a scan, following LastEvaluatedKey. */
export const scanAll = (input: ScanCommandInput): Promise<Item[]> => allPages((start) => ddb().send(new ScanCommand({ ...input, ExclusiveStartKey: start })));

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
