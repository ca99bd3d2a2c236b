// The embedded target: DynamoDB Local + the contract's tables + the same bundles the stack deploys,
// loaded in this process behind the API Gateway emulation. One target per process, because the
// bundles read their configuration from process.env.
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import bcrypt from "bcryptjs";
import {
  BCRYPT_COST_DEFAULT,
  ENV,
  type FunctionName,
  JWT_EXPIRATION_HOURS_DEFAULT,
  type TableName,
} from "../../handlers/contract";
import { bundleHandlers } from "../build";
import { type Logger, silentLogger } from "../command";
import { REPO_ROOT, repoPaths } from "../paths";
import { type DynamoDbLocal, portIsFree, startDynamoDbLocal } from "./dynamodb";
import { LocalTargetError } from "./errors";
import { type Gateway, type ProxyHandler, startGateway } from "./gateway";
import { createTables, LOCAL_AWS_ENV, localDynamoClient, tableEnv } from "./tables";

export { LocalTargetError };

/** Prefix of the local tables' physical names (`local-PeopleTable`, …). */
export const LOCAL_TABLE_PREFIX = "local-";
/** The Vite dev server's origin: always allowed by CORS locally. */
export const DEV_FRONTEND_ORIGIN = "http://localhost:5173";

export interface LocalTargetOptions {
  /** API port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** Keep DynamoDB Local's data in this folder; without it data is in memory and gone at stop(). */
  dbPath?: string;
  /** Where emails are written as .eml files (default `<repo>/.local/outbox`). */
  outboxDir?: string;
  /** bcrypt cost for the handlers and the seeded admin (tests lower it); default 12. */
  bcryptCost?: number;
  /** Seed (or reset) this admin account at start. */
  admin?: { email: string; password: string };
  /** Extra environment for the functions, applied last (e.g. `{ LOG_LEVEL: "warn" }`). */
  env?: Record<string, string>;
  /** Tests only: take the client IP from this request header (see GatewayOptions.sourceIpHeader). */
  sourceIpHeader?: string;
  log?: Logger;
  signal?: AbortSignal;
  /** Repository whose handlers are bundled (default: this checkout). */
  repoRoot?: string;
}

export interface LocalTarget {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  dynamoEndpoint: string;
  /** Logical table name -> physical name (`local-PeopleTable`, …). */
  tableNames: Record<TableName, string>;
  /** The environment the functions run with (contains the per-run secrets: never print it). */
  env: Record<string, string>;
  outboxDir: string;
  /** The request header the client IP is read from, when the target was started with one (tests). */
  sourceIpHeader?: string;
  /** Closes the API, stops DynamoDB Local (waits for the Java process to exit) and restores process.env. Idempotent. */
  stop(): Promise<void>;
}

let active = false;

/** A fresh random secret for this run (base64url, 64 characters). */
const newSecret = () => randomBytes(48).toString("base64url");

/** Start the whole local target. On failure everything started so far is stopped again. */
export async function startLocalTarget(opts: LocalTargetOptions = {}): Promise<LocalTarget> {
  if (active) throw new LocalTargetError("a local target is already running in this process: stop it before starting another");
  active = true;
  const log = opts.log ?? silentLogger;
  const repoRoot = opts.repoRoot ?? REPO_ROOT;
  const outboxDir = path.resolve(opts.outboxDir ?? path.join(repoPaths(repoRoot).localDir, "outbox"));
  const savedEnv = new Map<string, string | undefined>();
  let dynamo: DynamoDbLocal | undefined;
  let gateway: Gateway | undefined;

  const cleanup = async () => {
    await gateway?.close().catch(() => {});
    gateway = undefined;
    await dynamo?.stop().catch(() => {});
    dynamo = undefined;
    for (const [key, value] of savedEnv) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    savedEnv.clear();
    active = false;
  };

  try {
    if (opts.bcryptCost !== undefined && (!Number.isInteger(opts.bcryptCost) || opts.bcryptCost < 4 || opts.bcryptCost > 15)) {
      throw new LocalTargetError(`bcrypt cost must be an integer from 4 to 15 (got ${opts.bcryptCost})`);
    }
    if (opts.admin) checkAdmin(opts.admin);
    // Fail fast on a busy API port, before the slow steps (the gateway still reports a lost race).
    if (opts.port && !(await portIsFree(opts.port))) {
      throw new LocalTargetError(`port ${opts.port} is already in use: stop what is using it, or pass --port 0 for a free port`);
    }
    dynamo = await log.step("start DynamoDB Local", () => startDynamoDbLocal({ dbPath: opts.dbPath, log, signal: opts.signal }));
    const endpoint = dynamo.endpoint;
    checkAborted(opts.signal);
    const tableNames = await log.step("create tables", () => createTables(endpoint, { prefix: LOCAL_TABLE_PREFIX }));
    fs.mkdirSync(outboxDir, { recursive: true });

    const frontendUrl = opts.env?.[ENV.frontendUrl] ?? DEV_FRONTEND_ORIGIN;
    const env: Record<string, string> = {
      ...tableEnv(tableNames),
      [ENV.jwtSecret]: newSecret(),
      [ENV.csrfSecret]: newSecret(),
      [ENV.jwtExpirationHours]: String(JWT_EXPIRATION_HOURS_DEFAULT),
      [ENV.sesFromEmail]: "no-reply@localhost",
      [ENV.frontendUrl]: frontendUrl,
      [ENV.corsOrigins]: [...new Set([DEV_FRONTEND_ORIGIN, frontendUrl])].join(","),
      [ENV.handlerKind]: "enhanced",
      [ENV.serviceVersion]: serviceVersion(repoRoot),
      [ENV.dynamoDbEndpoint]: endpoint,
      [ENV.emailOutboxDir]: outboxDir,
      ...(opts.bcryptCost !== undefined ? { [ENV.bcryptCost]: String(opts.bcryptCost) } : {}),
      ...LOCAL_AWS_ENV,
      AWS_DEFAULT_REGION: LOCAL_AWS_ENV.AWS_REGION,
      // The bundles target the nodejs22.x runtime; the SDK's "Node 20 support ends" notice is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      // Never reach for instance metadata or a developer's real profile while running locally.
      AWS_EC2_METADATA_DISABLED: "true",
      ...opts.env,
    };
    // A real session token or profile would be mixed into the dummy credentials: hide them while we run.
    for (const key of ["AWS_SESSION_TOKEN", "AWS_PROFILE"]) {
      savedEnv.set(key, process.env[key]);
      delete process.env[key];
    }
    for (const [key, value] of Object.entries(env)) {
      if (!savedEnv.has(key)) savedEnv.set(key, process.env[key]);
      process.env[key] = value;
    }

    if (opts.admin) {
      const admin = opts.admin;
      await log.step(`seed admin ${admin.email.trim().toLowerCase()}`, () =>
        seedAdmin(endpoint, tableNames.PeopleTable, admin, opts.bcryptCost ?? BCRYPT_COST_DEFAULT),
      );
    }

    checkAborted(opts.signal);
    const handlers = await log.step("bundle and load handlers", () => loadHandlers(repoRoot, log));
    checkAborted(opts.signal);
    gateway = await log.step("start API", () =>
      startGateway({ handlers, port: opts.port ?? 0, sourceIpHeader: opts.sourceIpHeader, log, corsOrigins: env[ENV.corsOrigins].split(",").filter(Boolean) }),
    );

    const url = gateway.url;
    let stopping: Promise<void> | undefined;
    return {
      url,
      dynamoEndpoint: endpoint,
      tableNames,
      env,
      outboxDir,
      ...(opts.sourceIpHeader ? { sourceIpHeader: opts.sourceIpHeader } : {}),
      stop: () => (stopping ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new LocalTargetError("the local target start was cancelled");
}

function serviceVersion(repoRoot: string): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version?: string };
    return `${pkg.version ?? "0.0.0"}-local`;
  } catch {
    return "local";
  }
}

/** Bundle with the one bundler (the files the stack deploys) and require them fresh. */
function loadHandlers(repoRoot: string, log: Logger): Record<FunctionName, ProxyHandler> {
  let bundles: ReturnType<typeof bundleHandlers>;
  try {
    bundles = bundleHandlers({ repoRoot });
  } catch (err) {
    const first = (err as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors?.[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : "";
    const why = first ? `${first.text}${where}` : String((err as Error)?.message ?? err).split("\n")[0];
    throw new LocalTargetError(`could not bundle the handlers: ${why}`);
  }
  const handlers = {} as Record<FunctionName, ProxyHandler>;
  for (const bundle of Object.values(bundles)) {
    if (bundle.fallback) log.warn(`handlers/${bundle.fn}/index.ts does not exist: serving the minimal health/404 handler for "${bundle.fn}"`);
    const file = require.resolve(bundle.file);
    delete require.cache[file];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(file) as { handler?: unknown };
    if (typeof mod.handler !== "function") throw new LocalTargetError(`${path.relative(repoRoot, bundle.file)} does not export a handler function`);
    handlers[bundle.fn] = mod.handler as ProxyHandler;
  }
  return handlers;
}

function checkAdmin(admin: { email: string; password: string }): void {
  if (!/^[^@\s]+@[^@\s]+$/.test(admin.email.trim())) throw new LocalTargetError(`the admin email "${admin.email}" is not an email address`);
  if (!admin.password) throw new LocalTargetError("the admin password is empty");
}

/**
 * Make sure an admin with this email and password exists: a new person item in the contract's field
 * names, or the existing one (same email) reset to admin, active, unlocked, with this password.
 */
export async function seedAdmin(endpoint: string, peopleTable: string, admin: { email: string; password: string }, cost: number): Promise<string> {
  checkAdmin(admin);
  const email = admin.email.trim().toLowerCase();
  const passwordHash = await bcrypt.hash(admin.password, cost);
  const now = new Date().toISOString();
  const base = localDynamoClient(endpoint);
  const client = DynamoDBDocumentClient.from(base);
  try {
    const found = await client.send(
      new QueryCommand({ TableName: peopleTable, IndexName: "EmailIndex", KeyConditionExpression: "email = :e", ExpressionAttributeValues: { ":e": email }, Limit: 1 }),
    );
    const existingId = found.Items?.[0]?.id as string | undefined;
    if (existingId) {
      await client.send(
        new UpdateCommand({
          TableName: peopleTable,
          Key: { id: existingId },
          UpdateExpression:
            "SET passwordHash = :h, isAdmin = :t, isActive = :t, requirePasswordChange = :f, failedLoginAttempts = :z, updatedAt = :now, lastPasswordChange = :now ADD version :one REMOVE accountLockedUntil, password",
          ExpressionAttributeValues: { ":h": passwordHash, ":t": true, ":f": false, ":z": 0, ":now": now, ":one": 1 },
        }),
      );
      return existingId;
    }
    const id = randomUUID();
    await client.send(
      new PutCommand({
        TableName: peopleTable,
        Item: {
          id,
          firstName: "Local",
          lastName: "Admin",
          email,
          passwordHash,
          isAdmin: true,
          isActive: true,
          requirePasswordChange: false,
          failedLoginAttempts: 0,
          createdAt: now,
          updatedAt: now,
          lastPasswordChange: now,
          version: 1,
        },
        ConditionExpression: "attribute_not_exists(id)",
      }),
    );
    return id;
  } finally {
    base.destroy();
  }
}
