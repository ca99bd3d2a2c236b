// Shared pieces of the handler tests: one request function that every test goes through (and that
// scans every response for secrets), direct DynamoDB access for seeding and inspecting items in the
// contract's shape, outbox reading, and small factories (people, projects, tokens, client IPs).
import { createHash, randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import bcrypt from "bcryptjs";
import { expect } from "chai";
import type { TableName } from "../../handlers/contract";
import { ADMIN_EMAIL, ADMIN_PASSWORD, type LocalTarget, sharedTarget } from "../support/target";

export { ADMIN_EMAIL, ADMIN_PASSWORD, sharedTarget, type LocalTarget };

export interface Res {
  status: number;
  headers: Record<string, string>;
  json: any;
  text: string;
}

export interface RequestOptions {
  /** A value is sent as JSON; `raw` sends the string as is (malformed bodies). */
  body?: unknown;
  raw?: string;
  token?: string;
  headers?: Record<string, string>;
  /** Client IP as the gateway sees it; a fresh random one when absent (keeps rate-limit counters apart). */
  ip?: string;
}

// ---- client IPs, names, passwords --------------------------------------------------------------

/** A random private IPv4 address: only a header value, no traffic goes anywhere. */
export function newIp(): string {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

export const uniqueEmail = (tag = "person"): string => `${tag}-${randomUUID().slice(0, 12)}@example.test`;

/** A password that meets the policy (upper, lower, digit, special, 8–128). */
export const strongPassword = (): string => {
  const p = `Pw-${randomBytes(6).toString("hex")}aZ9!`;
  rememberSecret(p);
  return p;
};

// ---- the secret scanner ------------------------------------------------------------------------

/** Keys that must never appear in a response body, at any depth. */
export const FORBIDDEN_KEYS = [
  "passwordHash",
  "password",
  "currentPassword",
  "newPassword",
  "failedLoginAttempts",
  "accountLockedUntil",
  "resetToken",
  "tokenHash",
];
/** Keys under which a JWT may legitimately appear (login and refresh answers). */
const JWT_KEYS = new Set(["accessToken", "token"]);
const BCRYPT_HASH = /\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}/;
const JWT_LIKE = /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

const knownSecrets = new Set<string>([ADMIN_PASSWORD]);
let scanned = 0;

/** Plain-text passwords and reset tokens the tests know: no response may ever echo one. */
export function rememberSecret(value: string): void {
  if (value.length >= 8) knownSecrets.add(value);
}

export const scannedResponses = (): number => scanned;

/** The plain-text passwords and tokens remembered so far (to check stored items too). */
export const knownSecretValues = (): string[] => [...knownSecrets];

/** Throws when a stored item carries a known password or token, a JWT or (unless allowed) a bcrypt hash. */
export function assertNoSecretsStored(items: readonly Record<string, unknown>[], where: string, opts: { allowHashes?: boolean } = {}): void {
  const text = JSON.stringify(items);
  if (!opts.allowHashes && BCRYPT_HASH.test(text)) throw new Error(`${where}: a stored item contains a bcrypt hash`);
  if (new RegExp(JWT_LIKE.source).test(text)) throw new Error(`${where}: a stored item contains a JWT`);
  for (const secret of knownSecrets) if (text.includes(secret)) throw new Error(`${where}: a stored item contains a known password or token`);
}

function walkKeys(value: unknown, visit: (key: string, v: unknown) => void): void {
  if (Array.isArray(value)) for (const v of value) walkKeys(v, visit);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      visit(k, v);
      walkKeys(v, visit);
    }
  }
}

/** Throws when a response carries a password, a hash, a lockout field or a token it should not. */
export function assertNoSecrets(res: Res, where: string): void {
  scanned++;
  const everything = `${JSON.stringify(res.headers)}\n${res.text}`;
  if (BCRYPT_HASH.test(everything)) throw new Error(`${where}: response contains a bcrypt hash`);
  for (const secret of knownSecrets) if (everything.includes(secret)) throw new Error(`${where}: response contains a known password or token`);
  const allowedJwts = new Set<string>();
  walkKeys(res.json, (k, v) => {
    if (FORBIDDEN_KEYS.includes(k)) throw new Error(`${where}: response contains the field "${k}"`);
    if (JWT_KEYS.has(k) && typeof v === "string") allowedJwts.add(v);
  });
  for (const jwt of everything.match(JWT_LIKE) ?? []) {
    if (!allowedJwts.has(jwt)) throw new Error(`${where}: response contains a token outside accessToken`);
  }
}

// ---- HTTP --------------------------------------------------------------------------------------

const bases = new WeakMap<LocalTarget, string>();

function baseUrl(target: LocalTarget): string {
  let base = bases.get(target);
  if (!base) {
    base = target.url.replace(/\/+$/, "");
    bases.set(target, base);
  }
  return base;
}

/**
 * One request over real HTTP to the local target. Every response of the suite passes the secret
 * scanner here, so a leak fails the test that caused it.
 */
export async function send(target: LocalTarget, method: string, urlPath: string, opts: RequestOptions = {}): Promise<Res> {
  harvestOutbox(target);
  const headers: Record<string, string> = { [target.sourceIpHeader]: opts.ip ?? newIp(), ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const response = await fetch(`${baseUrl(target)}${urlPath}`, { method, headers, body });
  const text = await response.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const outHeaders: Record<string, string> = {};
  response.headers.forEach((v, k) => {
    outHeaders[k.toLowerCase()] = v;
  });
  const res: Res = { status: response.status, headers: outHeaders, json, text };
  assertNoSecrets(res, `${method} ${urlPath}`);
  return res;
}

/** Asserts the contract's error shape and status (and code when given). */
export function expectError(res: Res, status: number, code?: string): void {
  expect(res.status, `status of ${res.text.slice(0, 300)}`).to.equal(status);
  expect(res.json, "error body is JSON").to.be.an("object");
  expect(res.json.error, "error message").to.be.a("string").and.not.equal("");
  expect(res.json.code, "error code").to.be.a("string").and.not.equal("");
  if (code) expect(res.json.code).to.equal(code);
}

export function expectStatus(res: Res, status: number): void {
  expect(res.status, `status of ${res.text.slice(0, 400)}`).to.equal(status);
}

// ---- identity ----------------------------------------------------------------------------------

export interface Session {
  token: string;
  ip: string;
  res: Res;
}

export async function login(target: LocalTarget, email: string, password: string, ip = newIp()): Promise<Session> {
  const res = await send(target, "POST", "/auth/login", { body: { email, password }, ip });
  expectStatus(res, 200);
  expect(res.json.accessToken).to.be.a("string");
  return { token: res.json.accessToken, ip, res };
}

export const adminLogin = (target: LocalTarget): Promise<Session> => login(target, ADMIN_EMAIL, ADMIN_PASSWORD);

/** A CSRF token issued to `ip` for `form` (the token is bound to the client fingerprint and the route's form). */
export async function csrf(target: LocalTarget, ip: string, form = "post-people"): Promise<string> {
  const res = await send(target, "GET", `/auth/csrf-token?form=${encodeURIComponent(form)}`, { ip });
  expectStatus(res, 200);
  expect(res.json.csrfToken).to.be.a("string");
  return res.json.csrfToken;
}

export interface TestPerson {
  id: string;
  email: string;
  password: string;
  token: string;
}

/** Decoded JWT payload (no verification: for reading the claims the tests compare). */
export function claims(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

// ---- DynamoDB ----------------------------------------------------------------------------------

const clients = new WeakMap<LocalTarget, DynamoDBDocumentClient>();

/** A document client on the target's DynamoDB Local, with the same region and credentials as the handlers. */
export function db(target: LocalTarget): DynamoDBDocumentClient {
  let client = clients.get(target);
  if (!client) {
    const env = target.env;
    client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: target.dynamoEndpoint,
        region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
        credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? "local", secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "local" },
        maxAttempts: 3,
      }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    clients.set(target, client);
  }
  return client;
}

export const tableOf = (target: LocalTarget, name: TableName): string => target.tableNames[name];

export async function getItem(target: LocalTarget, name: TableName, key: Record<string, unknown>): Promise<Record<string, any> | undefined> {
  const out = await db(target).send(new GetCommand({ TableName: tableOf(target, name), Key: key, ConsistentRead: true }));
  return out.Item;
}

export async function putItem(target: LocalTarget, name: TableName, item: Record<string, unknown>): Promise<void> {
  await db(target).send(new PutCommand({ TableName: tableOf(target, name), Item: item }));
}

export async function deleteItem(target: LocalTarget, name: TableName, key: Record<string, unknown>): Promise<void> {
  await db(target).send(new DeleteCommand({ TableName: tableOf(target, name), Key: key }));
}

export async function updateItem(target: LocalTarget, name: TableName, key: Record<string, unknown>, values: Record<string, unknown>): Promise<void> {
  const names: Record<string, string> = {};
  const vals: Record<string, unknown> = {};
  const sets = Object.keys(values).map((k, i) => {
    names[`#k${i}`] = k;
    vals[`:v${i}`] = values[k];
    return `#k${i} = :v${i}`;
  });
  await db(target).send(
    new UpdateCommand({ TableName: tableOf(target, name), Key: key, UpdateExpression: `SET ${sets.join(", ")}`, ExpressionAttributeNames: names, ExpressionAttributeValues: vals }),
  );
}

/** Items of a GSI query (every page). */
export async function queryIndex(target: LocalTarget, name: TableName, index: string, hashKey: string, value: unknown): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, any> | undefined;
  do {
    const out = await db(target).send(
      new QueryCommand({
        TableName: tableOf(target, name),
        IndexName: index,
        KeyConditionExpression: "#h = :v",
        ExpressionAttributeNames: { "#h": hashKey },
        ExpressionAttributeValues: { ":v": value },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every item of a table (tests only: inspecting what the handlers wrote). */
export async function scanAll(target: LocalTarget, name: TableName): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  let start: Record<string, any> | undefined;
  do {
    const out = await db(target).send(new ScanCommand({ TableName: tableOf(target, name), ExclusiveStartKey: start, ConsistentRead: true }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

export const personByEmail = async (target: LocalTarget, email: string): Promise<Record<string, any> | undefined> =>
  (await queryIndex(target, "PeopleTable", "EmailIndex", "email", email.toLowerCase()))[0];

export const sha256Encodings = (value: string): string[] => {
  const digest = createHash("sha256").update(value, "utf8").digest();
  return [digest.toString("hex"), digest.toString("base64"), digest.toString("base64url")];
};

/**
 * Writes a person straight into PeopleTable in the contract's shape (what the registry-api app
 * writes, plus `version`), with a bcrypt hash at the target's low test cost. Returns a logged-in person.
 */
export async function seedPerson(
  target: LocalTarget,
  opts: { isAdmin?: boolean; extra?: Record<string, unknown>; login?: boolean } = {},
): Promise<TestPerson> {
  const id = randomUUID();
  const email = uniqueEmail(opts.isAdmin ? "admin" : "user");
  const password = strongPassword();
  const now = new Date().toISOString();
  await putItem(target, "PeopleTable", {
    id,
    firstName: "Test",
    lastName: opts.isAdmin ? "Admin" : "User",
    email,
    passwordHash: bcrypt.hashSync(password, 4),
    requirePasswordChange: false,
    isAdmin: opts.isAdmin ?? false,
    isActive: true,
    failedLoginAttempts: 0,
    createdAt: now,
    updatedAt: now,
    lastPasswordChange: now,
    version: 1,
    ...(opts.extra ?? {}),
  });
  const token = opts.login === false ? "" : (await login(target, email, password)).token;
  return { id, email, password, token };
}

/** A project created through the API by an admin. */
export async function createProject(target: LocalTarget, adminToken: string, body: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await send(target, "POST", "/projects", {
    token: adminToken,
    body: { name: `Project ${randomUUID().slice(0, 8)}`, description: "A test project", status: "active", maxParticipants: 0, ...body },
  });
  expectStatus(res, 201);
  return res.json;
}

// ---- the email outbox --------------------------------------------------------------------------

export interface Email {
  file: string;
  to: string;
  subject: string;
  text: string;
}

function decodeQuotedPrintable(s: string): string {
  const bytes = Buffer.from(s.replace(/=\r?\n/g, ""), "latin1");
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x3d && /^[0-9A-Fa-f]{2}$/.test(bytes.subarray(i + 1, i + 3).toString("latin1"))) {
      out.push(parseInt(bytes.subarray(i + 1, i + 3).toString("latin1"), 16));
      i += 2;
    } else out.push(bytes[i]);
  }
  return Buffer.from(out).toString("utf8");
}

const harvested = new Set<string>();

/**
 * Remembers every reset / set-password token emailed so far (only new files are read), so the
 * scanner also catches a response that echoes a token the test itself never looked at.
 */
function harvestOutbox(target: LocalTarget): void {
  if (!fs.existsSync(target.outboxDir)) return;
  for (const f of fs.readdirSync(target.outboxDir)) {
    if (!f.endsWith(".eml") || harvested.has(f)) continue;
    harvested.add(f);
    const raw = fs.readFileSync(path.join(target.outboxDir, f), "utf8");
    for (const m of raw.matchAll(/token=([A-Za-z0-9._~%-]+)/g)) rememberSecret(decodeURIComponent(m[1]));
  }
}

/** Every .eml in the outbox, with headers and the decoded text of each part. */
export function readOutbox(target: LocalTarget): Email[] {
  if (!fs.existsSync(target.outboxDir)) return [];
  return fs
    .readdirSync(target.outboxDir)
    .filter((f) => f.endsWith(".eml"))
    .map((f) => {
      const file = path.join(target.outboxDir, f);
      const raw = fs.readFileSync(file, "utf8");
      const header = (name: string): string => raw.match(new RegExp(`^${name}:\\s*(.*)$`, "im"))?.[1]?.trim() ?? "";
      // Decode every MIME part by its transfer encoding; keep the raw text as well.
      let text = raw;
      const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
      for (const part of parts) {
        const [head, ...rest] = part.split(/\r?\n\r?\n/);
        const content = rest.join("\n\n");
        if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) text += `\n${decodeQuotedPrintable(content)}`;
        else if (/content-transfer-encoding:\s*base64/i.test(head)) text += `\n${Buffer.from(content.replace(/\s+/g, ""), "base64").toString("utf8")}`;
      }
      return { file, to: header("To"), subject: header("Subject"), text };
    });
}

export const emailsTo = (target: LocalTarget, address: string): Email[] =>
  readOutbox(target).filter((e) => e.to.toLowerCase().includes(address.toLowerCase()));

/** The token of the reset / set-password link in the newest email to `address` that has one. */
export function resetTokenFromEmail(target: LocalTarget, address: string, seen: ReadonlySet<string> = new Set()): string | undefined {
  for (const email of emailsTo(target, address)) {
    const m = email.text.match(/reset-password\?token=([A-Za-z0-9._~%-]+)/);
    if (m) {
      const token = decodeURIComponent(m[1]);
      if (!seen.has(token)) {
        rememberSecret(token);
        return token;
      }
    }
  }
  return undefined;
}

/** Every reset-link token in emails to `address`. */
export function resetTokensFromEmails(target: LocalTarget, address: string): string[] {
  const tokens: string[] = [];
  for (const email of emailsTo(target, address)) {
    for (const m of email.text.matchAll(/reset-password\?token=([A-Za-z0-9._~%-]+)/g)) {
      const token = decodeURIComponent(m[1]);
      rememberSecret(token);
      if (!tokens.includes(token)) tokens.push(token);
    }
  }
  return tokens;
}

/**
 * Rate limits count in fixed windows aligned to the epoch: a burst that straddles a boundary starts
 * a fresh count. Waits, when needed, so that `seconds` more fit in the current window.
 */
export async function roomInWindow(windowSeconds: number, seconds: number): Promise<void> {
  const now = Date.now() / 1000;
  const left = windowSeconds - (now % windowSeconds);
  if (left < seconds) await new Promise((r) => setTimeout(r, (left + 0.5) * 1000));
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}
