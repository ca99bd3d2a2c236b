// Test support for the handler tests: one DynamoDB Local per mocha process (tables from the contract
// with a unique prefix), the function environment set once (the handlers read it on first use, like
// on Lambda), and `call()` to invoke a handler with an API Gateway v1 proxy event.
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import bcrypt from "bcryptjs";
import { type DynamoDbLocal, startDynamoDbLocal } from "../../automation/local/dynamodb";
import { createTables, LOCAL_AWS_ENV, localDynamoClient, tableEnv } from "../../automation/local/tables";
import { ENV, type TableName } from "../../handlers/contract";

export const FRONTEND_ORIGIN = "http://localhost:5173";
export const TEST_BCRYPT_COST = 4;

export interface Env {
  db: DynamoDbLocal;
  doc: DynamoDBDocumentClient;
  tables: Record<TableName, string>;
  outbox: string;
}

let shared: Promise<Env> | undefined;

/**
 * Start (once per process) DynamoDB Local and set the function environment. The handlers cache their
 * configuration like a Lambda container does, so the database lives until the whole run ends.
 */
export function acquire(): Promise<Env> {
  shared ??= (async () => {
    const db = await startDynamoDbLocal();
    const tables = await createTables(db.endpoint, { prefix: `hu${randomUUID().slice(0, 8)}-` });
    const outbox = fs.mkdtempSync(path.join(os.tmpdir(), "handlers-outbox-"));
    Object.assign(process.env, LOCAL_AWS_ENV, tableEnv(tables), {
      [ENV.jwtSecret]: randomUUID() + randomUUID(),
      [ENV.csrfSecret]: randomUUID() + randomUUID(),
      [ENV.bcryptCost]: String(TEST_BCRYPT_COST),
      [ENV.dynamoDbEndpoint]: db.endpoint,
      [ENV.emailOutboxDir]: outbox,
      [ENV.corsOrigins]: `${FRONTEND_ORIGIN},http://localhost:3000`,
      [ENV.frontendUrl]: "http://localhost:5173",
      [ENV.logLevel]: "error",
      [ENV.handlerKind]: "enhanced",
    });
    const doc = DynamoDBDocumentClient.from(localDynamoClient(db.endpoint));
    return { db, doc, tables, outbox };
  })();
  return shared;
}

/** Kept for symmetry in spec files; the shared database stops in the root `after` hook below. */
export async function release(): Promise<void> {}

// Root-level hook (registered once, when the first spec file imports this module).
after(async function () {
  this.timeout(60_000);
  const pending = shared;
  shared = undefined;
  if (!pending) return;
  const env = await pending.catch(() => undefined);
  if (!env) return;
  env.doc.destroy();
  await env.db.stop();
  fs.rmSync(env.outbox, { recursive: true, force: true });
});

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
// Required lazily so the environment is in place first (the same order the local target uses).
const fns = (): Record<"api" | "auth", Handler> => ({
  api: (require("../../handlers/api") as { handler: Handler }).handler,
  auth: (require("../../handlers/auth") as { handler: Handler }).handler,
});

export interface CallOptions {
  headers?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  rawBody?: string | null;
  base64?: boolean;
  ip?: string;
  token?: string;
}

export interface Response {
  status: number;
  headers: Record<string, string>;
  json: any;
}

const AUTH_PATHS = new Set(["/auth/login", "/auth/logout", "/auth/me", "/auth/refresh"]);

/** Invoke the function owning `path` with a v1 proxy event. A fresh source IP per call unless given. */
export async function call(method: string, pathAndQuery: string, opts: CallOptions = {}): Promise<Response> {
  const [p, qs] = pathAndQuery.split("?");
  const query = { ...Object.fromEntries(new URLSearchParams(qs ?? "")), ...(opts.query ?? {}) };
  const headers: Record<string, string> = { "User-Agent": "handlers-unit", ...(opts.headers ?? {}) };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | null = opts.rawBody !== undefined ? opts.rawBody : opts.body === undefined ? null : JSON.stringify(opts.body);
  if (body !== null && opts.base64) body = Buffer.from(body, "utf8").toString("base64");
  if (body !== null) headers["Content-Type"] ??= "application/json";
  const event = {
    resource: p,
    path: p,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(query).length ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])) : null,
    pathParameters: null,
    stageVariables: null,
    body,
    isBase64Encoded: !!opts.base64,
    requestContext: {
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      httpMethod: method,
      path: `/api${p}`,
      stage: "api",
      identity: { sourceIp: opts.ip ?? randomIp(), userAgent: headers["User-Agent"] },
    },
  } as unknown as APIGatewayProxyEvent;
  const fn = AUTH_PATHS.has(p) ? "auth" : "api";
  const result = await fns()[fn](event, { awsRequestId: randomUUID() } as Context);
  const h = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  return { status: result.statusCode, headers: h, json: result.body ? JSON.parse(result.body) : undefined };
}

export const randomIp = (): string => `10.${rnd()}.${rnd()}.${rnd()}`;
const rnd = () => Math.floor(Math.random() * 254) + 1;

export const STRONG_PASSWORD = "Str0ng!Passw0rd";

/** Put a person straight into the table (as an admin seed or as the registry-api app would). */
export async function seedPerson(env: Env, fields: Record<string, unknown> = {}, password: string | null = STRONG_PASSWORD): Promise<Record<string, any>> {
  const now = new Date().toISOString();
  const item = {
    id: randomUUID(),
    firstName: "Test",
    lastName: "Person",
    email: `p-${randomUUID()}@example.com`,
    isAdmin: false,
    isActive: true,
    createdAt: now,
    updatedAt: now,
    ...(password !== null ? { passwordHash: bcrypt.hashSync(password, TEST_BCRYPT_COST) } : {}),
    ...fields,
  };
  await env.doc.send(new PutCommand({ TableName: env.tables.PeopleTable, Item: item }));
  return item;
}

export async function loginAs(email: string, password = STRONG_PASSWORD, ip?: string): Promise<string> {
  const res = await call("POST", "/auth/login", { body: { email, password }, ip });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.accessToken as string;
}

export function outboxMessages(env: Env, to: string): string[] {
  return fs
    .readdirSync(env.outbox)
    .sort()
    .map((f) => fs.readFileSync(path.join(env.outbox, f), "utf8"))
    .filter((m) => m.includes(`To: ${to}\r\n`));
}

export function linkToken(message: string): string {
  const m = /reset-password\?token=([A-Za-z0-9_%-]+)/.exec(message);
  if (!m) throw new Error("no reset link in the message");
  return decodeURIComponent(m[1]);
}
