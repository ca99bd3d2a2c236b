// The embedded target: DynamoDB Local + the contract's tables + the same bundles the stack deploys,
// loaded in this process behind the API Gateway emulation. One target per process, because the
// bundles read their configuration from process.env.
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import bcrypt from "bcryptjs";
import {
  type AppTableName,
  BCRYPT_COST_DEFAULT,
  ENV,
  type FunctionName,
  JWT_EXPIRATION_HOURS_DEFAULT,
  type TableName,
} from "../../handlers/contract";
import { bundleHandlers } from "../shared/build";
import { type Logger, silentLogger } from "../command";
import { REPO_ROOT, repoPaths } from "../shared/paths";
import { type DynamoDbLocal, portIsFree, startDynamoDbLocal } from "./dynamodb";
import { LocalTargetError } from "./errors";
import { type Gateway, type ProxyHandler, startGateway } from "./gateway";
import { createAppTables, createTables, LOCAL_AWS_ENV, localDynamoClient, tableEnv } from "./tables";
import { type PythonFunction, startPythonFunction } from "./python-worker";
import { INTEGRATED_HANDLER, type IntegratedPlan, integratedEnvironment } from "../shared/integrated";

export { LocalTargetError };

/** Prefix of the local tables' physical names (`local-PeopleTable`, …). */
export const LOCAL_TABLE_PREFIX = "local-";
/** The Vite dev server's origin. */
export const DEV_FRONTEND_ORIGIN = "http://localhost:5173";
/** The Astro dev server's origin (the People Register web frontend runs there with `npm run dev`). */
export const ASTRO_DEV_ORIGIN = "http://localhost:4321";
/** The origins CORS allows locally unless told otherwise (`local --serve --frontend-url URL`). */
export const DEFAULT_FRONTEND_ORIGINS: readonly string[] = [ASTRO_DEV_ORIGIN, DEV_FRONTEND_ORIGIN];

/**
 * Allowed CORS origins from `--frontend-url` values (each may be a comma-separated list): each must be an
 * http(s) URL with no path, query or credentials; kept as its origin (no trailing slash). `*` is refused.
 */
export function parseFrontendOrigins(values: readonly string[]): string[] {
  const origins: string[] = [];
  for (const raw of values.flatMap((v) => v.split(","))) {
    const value = raw.trim();
    if (value === "") continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new LocalTargetError(`frontend URL "${value}" is not a URL (expected e.g. http://localhost:4321)`);
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password || url.search || url.hash || url.pathname !== "/") {
      throw new LocalTargetError(`frontend URL "${value}" must be an http(s) origin such as http://localhost:4321 (no path, query or credentials)`);
    }
    if (!origins.includes(url.origin)) origins.push(url.origin);
  }
  if (origins.length === 0) throw new LocalTargetError("no frontend URL given");
  return origins;
}

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
  /** Origins CORS allows (default DEFAULT_FRONTEND_ORIGINS); the first is also the frontend URL emails link to. */
  frontendOrigins?: readonly string[];
  /** Extra environment for the functions, applied last (e.g. `{ LOG_LEVEL: "warn" }`). */
  env?: Record<string, string>;
  /** Tests only: take the client IP from this request header (see GatewayOptions.sourceIpHeader). */
  sourceIpHeader?: string;
  log?: Logger;
  signal?: AbortSignal;
  /** Repository whose handlers are bundled (default: this checkout). */
  repoRoot?: string;
  /**
   * Serve the integrated handler: the synced app (with the shim) in `taskRoot`, run by a Python worker
   * with `python` (a prepared virtualenv), given what `plan` says the app reads; it serves every path.
   */
  integrated?: { taskRoot: string; python: string; plan: IntegratedPlan };
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
  /** Integrated mode: the app's environment as the stack would give it (local values; contains secrets). */
  integratedEnv?: Record<string, string>;
  /** Integrated mode: what the Python worker reported (adapter, Python version). */
  worker?: { adapter: string; python: string };
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
  let worker: PythonFunction | undefined;

  const cleanup = async () => {
    await gateway?.close().catch(() => {});
    gateway = undefined;
    await worker?.stop().catch(() => {});
    worker = undefined;
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

    const origins = opts.frontendOrigins?.length ? [...opts.frontendOrigins] : [...DEFAULT_FRONTEND_ORIGINS];
    const frontendUrl = opts.env?.[ENV.frontendUrl] ?? origins[0];
    const env: Record<string, string> = {
      ...tableEnv(tableNames),
      [ENV.jwtSecret]: newSecret(),
      [ENV.csrfSecret]: newSecret(),
      [ENV.jwtExpirationHours]: String(JWT_EXPIRATION_HOURS_DEFAULT),
      [ENV.sesFromEmail]: "no-reply@localhost",
      [ENV.frontendUrl]: frontendUrl,
      [ENV.corsOrigins]: [...new Set([...origins, frontendUrl])].join(","),
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

    let adminId: string | undefined;
    if (opts.admin) {
      const admin = opts.admin;
      adminId = await log.step(`seed admin ${admin.email.trim().toLowerCase()}`, () =>
        seedAdmin(endpoint, tableNames.PeopleTable, admin, opts.bcryptCost ?? BCRYPT_COST_DEFAULT),
      );
    }

    checkAborted(opts.signal);
    const handlers = await log.step("bundle and load handlers", () => loadHandlers(repoRoot, log));
    let integratedEnv: Record<string, string> | undefined;
    if (opts.integrated) {
      const { plan, taskRoot, python } = opts.integrated;
      const appTables = await log.step("create the integrated app's tables", () => createAppTables(endpoint, plan.appTables.map((t) => t.table), { prefix: LOCAL_TABLE_PREFIX }));
      integratedEnv = localIntegratedEnv(plan, { tableNames, appTables, env });
      // An app with a roles table (HEAD) grants admin rights by role rows, not isAdmin: give the seeded admin one.
      if (adminId && appTables.RolesTable && opts.admin) await seedAdminRole(endpoint, appTables.RolesTable, adminId, opts.admin.email.trim().toLowerCase());
      const fnEnv = { ...integratedEnv, ...localPythonAwsEnv(endpoint) };
      worker = await log.step("start the integrated app (Python worker)", () =>
        startPythonFunction({ taskRoot, handler: INTEGRATED_HANDLER, functionName: "local-api", python, env: fnEnv, log }),
      );
      handlers.api = worker.handler;
    }
    checkAborted(opts.signal);
    gateway = await log.step("start API", () =>
      startGateway({ handlers, greedy: Boolean(opts.integrated), port: opts.port ?? 0, sourceIpHeader: opts.sourceIpHeader, log, corsOrigins: env[ENV.corsOrigins].split(",").filter(Boolean) }),
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
      ...(integratedEnv ? { integratedEnv, worker: worker!.info } : {}),
      stop: () => (stopping ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Local stand-ins for what the stack provisions for the integrated app (no S3 locally: presigned URLs are signed offline). */
export const LOCAL_IMAGES_BUCKET = "local-project-images";
export const LOCAL_IMAGES_DOMAIN = "localhost";

/** The integrated app's environment with local values, by the same rule the stack uses (env parity). */
export function localIntegratedEnv(plan: IntegratedPlan, ctx: { tableNames: Record<TableName, string>; appTables: Partial<Record<AppTableName, string>>; env: Record<string, string> }): Record<string, string> {
  return integratedEnvironment<string>(plan, {
    table: (t) => ctx.tableNames[t],
    appTable: (t) => ctx.appTables[t]!,
    secret: (s, variable) => ({ name: variable, value: ctx.env[s === "jwtSecret" ? ENV.jwtSecret : ENV.csrfSecret]! }),
    config: (c) => ctx.env[{ sesFromEmail: ENV.sesFromEmail, frontendUrl: ENV.frontendUrl, jwtExpirationHours: ENV.jwtExpirationHours, corsOrigins: ENV.corsOrigins }[c]]!,
    value: (v) => v.local,
    imagesBucket: () => LOCAL_IMAGES_BUCKET,
    imagesDomain: () => LOCAL_IMAGES_DOMAIN,
    literal: (v) => v,
  });
}

/** What Lambda's runtime would set, pointed at DynamoDB Local (boto3 honours AWS_ENDPOINT_URL_DYNAMODB). */
function localPythonAwsEnv(endpoint: string): Record<string, string> {
  return { ...LOCAL_AWS_ENV, AWS_DEFAULT_REGION: LOCAL_AWS_ENV.AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB: endpoint, AWS_EC2_METADATA_DISABLED: "true" };
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

/** A `super_admin` row in the registry-api's roles table (its item shape: user_id + role_type). */
async function seedAdminRole(endpoint: string, table: string, userId: string, email: string): Promise<void> {
  const client = localDynamoClient(endpoint);
  try {
    await client.send(new PutItemCommand({
      TableName: table,
      Item: {
        user_id: { S: userId }, role_type: { S: "super_admin" }, email: { S: email }, assigned_at: { S: new Date().toISOString() },
        assigned_by: { S: "local-target" }, is_active: { BOOL: true },
      },
    }));
  } finally {
    client.destroy();
  }
}

/** An unknown address in the stored shape (registry-api 3b58af3 reads `zipCode`, HEAD `postalCode`). */
const EMPTY_ADDRESS = { street: "", city: "", state: "", country: "", postalCode: "", zipCode: "" };

/**
 * Make sure an admin with this email and password exists: a new person item in the contract's field
 * names, or the existing one (same email) reset to admin, active, unlocked, with this password.
 */
export async function seedAdmin(endpoint: string | DynamoDBClient, peopleTable: string, admin: { email: string; password: string }, cost: number): Promise<string> {
  checkAdmin(admin);
  const email = admin.email.trim().toLowerCase();
  const passwordHash = await bcrypt.hash(admin.password, cost);
  const now = new Date().toISOString();
  // A client passed in (a real table, e.g. a review stack's) stays the caller's to close.
  const base = typeof endpoint === "string" ? localDynamoClient(endpoint) : endpoint;
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
            "SET passwordHash = :h, isAdmin = :t, isActive = :t, requirePasswordChange = :f, failedLoginAttempts = :z, updatedAt = :now, lastPasswordChange = :now, " +
            "phone = if_not_exists(phone, :empty), dateOfBirth = if_not_exists(dateOfBirth, :empty), address = if_not_exists(address, :address), emailVerified = if_not_exists(emailVerified, :t) " +
            "ADD version :one REMOVE accountLockedUntil, password",
          ExpressionAttributeValues: { ":h": passwordHash, ":t": true, ":f": false, ":z": 0, ":now": now, ":one": 1, ":empty": "", ":address": EMPTY_ADDRESS },
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
          // Every field the registry-api app's models require on a person item, so it can read this one.
          phone: "",
          dateOfBirth: "",
          address: EMPTY_ADDRESS,
          emailVerified: true,
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
    if (typeof endpoint === "string") base.destroy();
  }
}
