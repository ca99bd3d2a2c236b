// Handler benchmarks (`npm run bench -- handlers`). Every figure is a ratio against a baseline
// measured in the same run, on this machine, over loopback only:
// - bundle sizes (every file of a function's folder) vs the 600 KB per-function target (and an empty
//   handler's bundle), with index.js alone: what a cold start parses;
// - cold start (fresh Node process: load the bundle + first request) vs an empty handler bundle, split
//   into module evaluation and the first request;
// - the DynamoDB seam's cold start phase by phase (module evaluation, client construction, first and
//   second GetItem) vs the same GetItem as one unsigned node:http POST, next to the AWS SDK v3
//   document client the handlers used before;
// - throughput and p50/p99 of GET /projects, GET /people/{id}, POST /people at concurrency 16 vs the
//   same DynamoDB calls made directly with the AWS SDK v3 document client (and, for reference, with
//   the handlers' own client, handlers/lib/db.ts);
// - login p50 vs one bcrypt verify at cost 12 (the target runs at the production cost 12).
// Figures are printed, never asserted: the machines are shared and noisy.
import { execFile } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import bcrypt from "bcryptjs";
import { buildSync } from "esbuild";
import { bundleHandlers, ESBUILD_SETTINGS } from "../automation/shared/build";
import { type LocalTarget, startLocalTarget } from "../automation/local/target";
import { BCRYPT_COST_DEFAULT } from "../handlers/contract";
import * as Sdk from "@aws-sdk/lib-dynamodb";
import { localDynamoClient } from "../automation/local/tables";
import * as Own from "../handlers/lib/db";

const run$ = promisify(execFile);

const SOURCE_IP_HEADER = "x-bench-source-ip";
const CONCURRENCY = 16;
const TARGETS = { bundleKB: 600, coldStart: 2, overhead: 1.5, login: 1.25 };

// ---- small statistics ----------------------------------------------------------------------------

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const median = (xs: number[]): number => quantile([...xs].sort((a, b) => a - b), 0.5);
const fmt = (n: number, digits = 1): string => n.toFixed(digits);
const ratio = (n: number, target: number): string => `${fmt(n, 2)}x (target <= ${target}x${n <= target ? ", met" : ", NOT met"})`;
const ip = (): string => {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}`;
};

interface Load {
  rps: number;
  p50: number;
  p99: number;
}

/** A DynamoDB client and its command classes: the direct calls run the same code on either. */
interface Direct {
  send(command: unknown): Promise<unknown>;
  Get: new (input: any) => unknown;
  Put: new (input: any) => unknown;
  Query: new (input: any) => unknown;
  Scan: new (input: any) => unknown;
  Update: new (input: any) => unknown;
}

interface Sample {
  latencies: number[];
  seconds: number;
}

/** Runs `total` calls of `op` with `concurrency` in flight; latencies in ms. */
async function sample(total: number, concurrency: number, op: (i: number) => Promise<void>): Promise<Sample> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await op(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

function summarise(samples: Sample[]): Load {
  const latencies = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0);
  return { rps: latencies.length / seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

/**
 * Measures several ways of doing the same work in alternating rounds, so that a change in the shared
 * machine's load hits every side alike.
 */
async function compare(total: number, rounds: number, ways: Array<(i: number) => Promise<void>>): Promise<Load[]> {
  const samples: Sample[][] = ways.map(() => []);
  const per = Math.ceil(total / rounds);
  for (let r = 0; r < rounds; r++) for (const [w, way] of ways.entries()) samples[w]!.push(await sample(per, CONCURRENCY, way));
  return samples.map(summarise);
}

// ---- HTTP over loopback ----------------------------------------------------------------------------

async function call(target: LocalTarget, method: string, urlPath: string, opts: { token?: string; body?: unknown; expect: number }): Promise<any> {
  const headers: Record<string, string> = { [SOURCE_IP_HEADER]: ip() };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${target.url}${urlPath}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  if (res.status !== opts.expect) throw new Error(`${method} ${urlPath}: expected ${opts.expect}, got ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

// ---- parts -------------------------------------------------------------------------------------------

/** An empty handler, bundled exactly like the real ones: the baseline for size and cold start. */
function emptyBundle(dir: string): string {
  const entry = path.join(dir, "empty.ts");
  fs.writeFileSync(entry, 'export const handler = async () => ({ statusCode: 200, headers: { "Content-Type": "application/json" }, body: "{\\"status\\":\\"healthy\\"}" });\n');
  const file = path.join(dir, "empty", "index.js");
  buildSync({ ...ESBUILD_SETTINGS, entryPoints: [entry], outfile: file });
  return file;
}

function sizes(outDir: string, emptyFile: string): Record<string, string> {
  const bundles = bundleHandlers({ outDir });
  const emptyBytes = fs.statSync(emptyFile).size;
  process.stdout.write(`\n### Bundle sizes (minified, per function)\n`);
  process.stdout.write(`empty handler baseline: ${fmt(emptyBytes / 1024, 2)} KB\n`);
  for (const b of Object.values(bundles)) {
    const kb = b.bytes / 1024;
    const lazy = b.chunks.length ? `; index.js ${fmt(b.indexBytes / 1024)} KB (what a cold start parses), ${b.chunks.join(", ")} on first use` : "";
    process.stdout.write(`${b.fn}: ${fmt(kb)} KB = ${fmt(kb / TARGETS.bundleKB, 2)} of the ${TARGETS.bundleKB} KB target (${kb <= TARGETS.bundleKB ? "met" : "NOT met"})${lazy}${b.fallback ? " [fallback handler]" : ""}\n`);
  }
  return Object.fromEntries(Object.values(bundles).map((b) => [b.fn, b.file]));
}

/** The first request of a cold start: GET /health for api; auth has no /health, so GET /auth/me (401 after the rate-limit write). */
const firstEvent = (fn: string) => {
  const p = fn === "auth" ? "/auth/me" : "/health";
  return { ...HEALTH_EVENT, resource: p, path: p, requestContext: { ...HEALTH_EVENT.requestContext, path: `/api${p}`, resourcePath: p } };
};

const HEALTH_EVENT = {
  resource: "/health",
  path: "/health",
  httpMethod: "GET",
  headers: null,
  multiValueHeaders: null,
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  pathParameters: null,
  stageVariables: null,
  body: null,
  isBase64Encoded: false,
  requestContext: { requestId: "bench-cold-start", requestTimeEpoch: 0, stage: "api", path: "/api/health", resourcePath: "/health", httpMethod: "GET", identity: { sourceIp: "127.0.0.1", userAgent: "bench" } },
};

/** One fresh Node process: require the bundle and answer one request. Wall time from spawn to exit. */
async function coldStart(file: string, event: object, env: Record<string, string>): Promise<{ wallMs: number; cpuMs: number; evalMs: number; firstMs: number; status: number }> {
  const script = `
    const t0 = performance.now();
    const { handler } = require(${JSON.stringify(file)});
    const t1 = performance.now();
    handler(${JSON.stringify(event)}, { awsRequestId: "bench" }).then((r) => {
      const firstMs = performance.now() - t1;
      const cpu = process.cpuUsage();
      process.stdout.write(JSON.stringify({ evalMs: t1 - t0, firstMs, cpuMs: (cpu.user + cpu.system) / 1000, status: r.statusCode }));
    });`;
  const t0 = performance.now();
  const { stdout } = await run$(process.execPath, ["-e", script], { env: { PATH: process.env.PATH ?? "", ...env } });
  const wallMs = performance.now() - t0;
  const out = JSON.parse(stdout) as { evalMs: number; firstMs: number; cpuMs: number; status: number };
  return { wallMs, ...out };
}

const COLD_RUNS = 15;

async function coldStarts(files: Record<string, string>, emptyFile: string, env: Record<string, string>): Promise<void> {
  const results: Record<string, { wall: number[]; cpu: number[]; eval: number[]; first: number[]; status: number }> = {};
  // Alternating runs: a change in the shared machine's load hits every bundle alike.
  for (let i = 0; i < COLD_RUNS; i++) {
    for (const [name, file] of [["empty", emptyFile], ...Object.entries(files)] as const) {
      const r = await coldStart(file, firstEvent(name), { ...env, LOG_LEVEL: "error" });
      const entry = (results[name] ??= { wall: [], cpu: [], eval: [], first: [], status: r.status });
      entry.wall.push(r.wallMs);
      entry.cpu.push(r.cpuMs);
      entry.eval.push(r.evalMs);
      entry.first.push(r.firstMs);
    }
  }
  process.stdout.write(`\n### Cold start (fresh process: load bundle + first request — api: GET /health, auth: GET /auth/me; median of ${COLD_RUNS})\n`);
  process.stdout.write(
    `floor: the two DynamoDB calls of a cold GET /health (rate-limit UpdateItem, GetItem) over raw node:http, nothing else. Process CPU (user + system, from spawn to the answer) varies less with the machine's load than wall time.\n`,
  );
  process.stdout.write(`| bundle | wall ms (spawn to exit) | ratio to empty | process CPU ms | CPU ratio | module evaluation ms | first request ms | status |\n|---|---|---|---|---|---|---|---|\n`);
  const base = median(results.empty.wall);
  const baseCpu = median(results.empty.cpu);
  for (const [name, r] of Object.entries(results)) {
    const wall = median(r.wall);
    const cpu = median(r.cpu);
    const isBase = name === "empty";
    process.stdout.write(
      `| ${name} | ${fmt(wall)} | ${isBase ? "baseline" : ratio(wall / base, TARGETS.coldStart)} | ${fmt(cpu)} | ${isBase ? "baseline" : `${fmt(cpu / baseCpu, 2)}x`} | ${fmt(median(r.eval))} | ${fmt(median(r.first))} | ${r.status} |\n`,
    );
  }
}

const PHASES = ["module evaluation", "client construction", "first GetItem", "second GetItem"] as const;

/** Bundles a probe (bench/probes/*.ts) with the functions' settings; it exports `client()` and `get(client)`. */
function probeBundle(dir: string, name: string): string {
  const file = path.join(dir, "probes", name, "index.js");
  buildSync({ ...ESBUILD_SETTINGS, entryPoints: [path.join(__dirname, "probes", `${name}.ts`)], outfile: file });
  return file;
}

/** One fresh process: the four phases of a client's cold start, in ms. */
async function probe(file: string, env: Record<string, string>): Promise<number[]> {
  const script = `
    (async () => {
      const t = [performance.now()];
      const p = require(${JSON.stringify(file)});
      t.push(performance.now());
      const c = p.client();
      t.push(performance.now());
      await p.get(c);
      t.push(performance.now());
      await p.get(c);
      t.push(performance.now());
      process.stdout.write(JSON.stringify(t.slice(1).map((v, i) => v - t[i])));
      process.exit(0);
    })();`;
  const { stdout } = await run$(process.execPath, ["-e", script], { env: { PATH: process.env.PATH ?? "", ...env } });
  return JSON.parse(stdout) as number[];
}

/** The DynamoDB seam's cold start phase by phase, next to the floor (raw node:http) and the AWS SDK v3. */
async function seamPhases(dir: string, env: Record<string, string>): Promise<void> {
  const probes = { raw: probeBundle(dir, "raw"), db: probeBundle(dir, "db"), sdk: probeBundle(dir, "sdk") };
  const runs: Record<keyof typeof probes, number[][]> = { raw: [], db: [], sdk: [] };
  for (let i = 0; i < COLD_RUNS; i++) for (const name of Object.keys(probes) as Array<keyof typeof probes>) runs[name].push(await probe(probes[name], env));
  const phase = (name: keyof typeof probes, i: number): number => median(runs[name].map((r) => r[i]));
  const kb = (file: string): string => fmt(fs.statSync(file).size / 1024);
  process.stdout.write(`\n### DynamoDB client cold start by phase (fresh process each; median of ${COLD_RUNS}; ratio to the raw node:http baseline)\n`);
  process.stdout.write(`| phase | raw node:http (baseline) | handlers/lib/db.ts | ratio | AWS SDK v3 document client | ratio |\n|---|---|---|---|---|---|\n`);
  process.stdout.write(`| bundle KB | ${kb(probes.raw)} | ${kb(probes.db)} | | ${kb(probes.sdk)} | |\n`);
  const rows = [...PHASES.map((p, i) => [p, i] as const), ["total", -1] as const];
  for (const [label, i] of rows) {
    const v = (name: keyof typeof probes): number => (i < 0 ? median(runs[name].map((r) => r.reduce((a, b) => a + b, 0))) : phase(name, i));
    const base = v("raw");
    process.stdout.write(`| ${label} | ${fmt(base)} ms | ${fmt(v("db"))} ms | ${fmt(v("db") / base, 2)}x | ${fmt(v("sdk"))} ms | ${fmt(v("sdk") / base, 2)}x |\n`);
  }
}

async function throughput(target: LocalTarget): Promise<void> {
  // Direct calls, made two ways: the AWS SDK v3 document client (the baseline of the target ratio)
  // and the handlers' own client (this process has the target's environment), for the handler's own overhead.
  const sdkDoc = Sdk.DynamoDBDocumentClient.from(localDynamoClient(target.dynamoEndpoint), { marshallOptions: { removeUndefinedValues: true } });
  const clients: Record<"sdk" | "own", Direct> = {
    sdk: { send: (c) => sdkDoc.send(c as never), Get: Sdk.GetCommand, Put: Sdk.PutCommand, Query: Sdk.QueryCommand, Scan: Sdk.ScanCommand, Update: Sdk.UpdateCommand },
    own: { send: (c) => Own.ddb().send(c as never), Get: Own.GetCommand, Put: Own.PutCommand, Query: Own.QueryCommand, Scan: Own.ScanCommand, Update: Own.UpdateCommand },
  };
  const T = target.tableNames;
  // Data: 60 projects (a full page of 50 for the list), one user.
  const now = new Date().toISOString();
  for (let i = 0; i < 60; i++) {
    await Own.ddb().send(new Own.PutCommand({ TableName: T.ProjectsTable, Item: { id: randomUUID(), name: `Bench ${i}`, description: "A benchmark project", status: "active", maxParticipants: 0, subscriberCount: 0, createdBy: "bench", createdAt: now, updatedAt: now, version: 1 } }));
  }
  const userPassword = `Bench-${randomBytes(6).toString("hex")}-1!`;
  const user = { id: randomUUID(), email: `bench-${randomUUID().slice(0, 8)}@example.test` };
  await Own.ddb().send(
    new Own.PutCommand({
      TableName: T.PeopleTable,
      Item: { ...user, firstName: "Bench", lastName: "User", passwordHash: bcrypt.hashSync(userPassword, BCRYPT_COST_DEFAULT), isAdmin: false, isActive: true, requirePasswordChange: false, failedLoginAttempts: 0, createdAt: now, updatedAt: now, version: 1 },
    }),
  );
  const adminPassword = `Bench-${randomBytes(6).toString("hex")}-1!`;
  const admin = { id: randomUUID(), email: `bench-admin-${randomUUID().slice(0, 8)}@example.test` };
  await Own.ddb().send(
    new Own.PutCommand({
      TableName: T.PeopleTable,
      Item: { ...admin, firstName: "Bench", lastName: "Admin", passwordHash: bcrypt.hashSync(adminPassword, BCRYPT_COST_DEFAULT), isAdmin: true, isActive: true, requirePasswordChange: false, failedLoginAttempts: 0, createdAt: now, updatedAt: now, version: 1 },
    }),
  );
  const userToken: string = (await call(target, "POST", "/auth/login", { body: { email: user.email, password: userPassword }, expect: 200 })).accessToken;
  const adminToken: string = (await call(target, "POST", "/auth/login", { body: { email: admin.email, password: adminPassword }, expect: 200 })).accessToken;
  const sid = (token: string) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sid as string;

  // The DynamoDB calls each route makes (rate-limit counter, session + caller, then the route's own).
  const rateLimit = (d: Direct) =>
    d.send(
      new d.Update({
        TableName: T.RateLimitTable,
        Key: { id: `bench#${ip()}#${Math.floor(Date.now() / 60000)}` },
        UpdateExpression: "ADD requestCount :one SET endpoint = :e, lastReset = :r, #ttl = :ttl",
        ExpressionAttributeNames: { "#ttl": "ttl" },
        ExpressionAttributeValues: { ":one": 1, ":e": "bench", ":r": now, ":ttl": Math.floor(Date.now() / 1000) + 120 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
  const authenticate = (d: Direct, token: string, personId: string) =>
    Promise.all([
      d.send(new d.Get({ TableName: T.SessionTrackingTable, Key: { sessionId: sid(token) }, ConsistentRead: true })),
      d.send(new d.Get({ TableName: T.PeopleTable, Key: { id: personId }, ConsistentRead: true })),
    ]);
  const byEmail = (d: Direct, email: string) =>
    d.send(new d.Query({ TableName: T.PeopleTable, IndexName: "EmailIndex", KeyConditionExpression: "email = :e", ExpressionAttributeValues: { ":e": email } }));

  const scenarios: Array<{ name: string; total: number; http: (i: number) => Promise<void>; direct: (d: Direct) => (i: number) => Promise<void> }> = [
    {
      name: "GET /projects",
      total: 600,
      http: async () => void (await call(target, "GET", "/projects", { expect: 200 })),
      direct: (d) => async () => {
        await rateLimit(d);
        await d.send(new d.Scan({ TableName: T.ProjectsTable, Limit: 50 }));
      },
    },
    {
      name: "GET /people/{id}",
      total: 600,
      http: async () => void (await call(target, "GET", `/people/${user.id}`, { token: userToken, expect: 200 })),
      direct: (d) => async () => {
        await rateLimit(d);
        await authenticate(d, userToken, user.id);
        await d.send(new d.Get({ TableName: T.PeopleTable, Key: { id: user.id }, ConsistentRead: true }));
      },
    },
    {
      name: "POST /people",
      total: 300,
      http: async (i) =>
        void (await call(target, "POST", "/people", { token: adminToken, body: { firstName: "Load", lastName: `Test ${i}`, email: `load-${randomUUID()}@example.test` }, expect: 201 })),
      direct: (d) => async (i) => {
        const email = `direct-${randomUUID()}@example.test`;
        const id = randomUUID();
        const stamp = new Date().toISOString();
        await rateLimit(d);
        await authenticate(d, adminToken, admin.id);
        await byEmail(d, email);
        await d.send(
          new d.Put({
            TableName: T.PeopleTable,
            Item: { id, firstName: "Load", lastName: `Test ${i}`, email, isAdmin: false, isActive: true, requirePasswordChange: false, failedLoginAttempts: 0, createdAt: stamp, updatedAt: stamp, version: 1 },
            ConditionExpression: "attribute_not_exists(id)",
          }),
        );
        await byEmail(d, email);
        const token = createHash("sha256").update(randomBytes(32)).digest("hex");
        await d.send(new d.Put({ TableName: T.PasswordResetTokensTable, Item: { resetToken: token, email, personId: id, createdAt: stamp, expiresAt: Math.floor(Date.now() / 1000) + 86400 } }));
        await d.send(new d.Put({ TableName: T.EmailTrackingTable, Item: { emailId: randomUUID(), recipientEmail: email, templateType: "welcome", status: "sent", createdAt: stamp, ttl: Math.floor(Date.now() / 1000) + 86400 } }));
        await d.send(new d.Put({ TableName: T.AuditLogsTable, Item: { id: randomUUID(), timestamp: stamp, personId: id, action: "PERSON_CREATED", success: true, ipAddress: "10.0.0.1", userAgent: "bench", details: {} } }));
      },
    },
  ];

  process.stdout.write(`\n### Throughput and latency at concurrency ${CONCURRENCY} (handler over HTTP vs the same DynamoDB calls made directly: AWS SDK v3 = baseline; handlers/lib/db.ts for reference)\n`);
  process.stdout.write(
    `| route | requests | handler req/s | SDK req/s | db.ts req/s | handler p50 / p99 ms | SDK p50 / p99 ms | db.ts p50 / p99 ms | p50 overhead vs SDK | p50 vs db.ts | throughput ratio (SDK / handler) |\n|---|---|---|---|---|---|---|---|---|---|---|\n`,
  );
  for (const s of scenarios) {
    const ways = [s.http, s.direct(clients.sdk), s.direct(clients.own)];
    for (const way of ways) await sample(40, CONCURRENCY, way); // warm every path
    const [http, sdk, own] = (await compare(s.total, 4, ways)) as [Load, Load, Load];
    process.stdout.write(
      `| ${s.name} | ${s.total} | ${fmt(http.rps, 0)} | ${fmt(sdk.rps, 0)} | ${fmt(own.rps, 0)} | ${fmt(http.p50)} / ${fmt(http.p99)} | ${fmt(sdk.p50)} / ${fmt(sdk.p99)} | ${fmt(own.p50)} / ${fmt(own.p99)} | ${ratio(http.p50 / sdk.p50, TARGETS.overhead)} | ${fmt(http.p50 / own.p50, 2)}x | ${fmt(sdk.rps / http.rps, 2)}x |\n`,
    );
  }

  // Login at the production cost vs one bcrypt verify at cost 12 (the same library the handlers use).
  const hash = bcrypt.hashSync(userPassword, BCRYPT_COST_DEFAULT);
  const verifies: number[] = [];
  const logins: number[] = [];
  for (let i = 0; i < 15; i++) {
    let t0 = performance.now();
    await bcrypt.compare(userPassword, hash);
    verifies.push(performance.now() - t0);
    t0 = performance.now();
    await call(target, "POST", "/auth/login", { body: { email: user.email, password: userPassword }, expect: 200 });
    logins.push(performance.now() - t0);
  }
  process.stdout.write(`\n### Login at bcrypt cost ${BCRYPT_COST_DEFAULT} (sequential, median of ${logins.length})\n`);
  process.stdout.write(`bcrypt verify (cost ${BCRYPT_COST_DEFAULT}, baseline): ${fmt(median(verifies))} ms\n`);
  process.stdout.write(`POST /auth/login: ${fmt(median(logins))} ms = ${ratio(median(logins) / median(verifies), TARGETS.login)}\n`);
  sdkDoc.destroy();
}

/** What `npm run bench` passes (bench/index.ts): `--cold-only` runs only sizes and cold starts. */
export interface HandlersBenchOptions {
  coldOnly?: boolean;
}

export async function run(opts: HandlersBenchOptions = {}): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-handlers-"));
  let target: LocalTarget | undefined;
  try {
    const emptyFile = emptyBundle(work);
    const files = sizes(path.join(work, "bundles"), emptyFile);
    target = await startLocalTarget({
      bcryptCost: BCRYPT_COST_DEFAULT,
      sourceIpHeader: SOURCE_IP_HEADER,
      outboxDir: path.join(work, "outbox"),
      env: { LOG_LEVEL: "error" },
    });
    await coldStarts({ floor: probeBundle(work, "floor"), ...files }, emptyFile, target.env);
    if (opts.coldOnly) return;
    await seamPhases(work, target.env);
    await throughput(target);
  } finally {
    await target?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
