// Endpoint smoke tests for any deployment of the People Register API (AWS stage or the local target).
// Non-mutating by default; `write` adds a create → read → update → delete of a marked test person that
// is always cleaned up. Every probe has a set of accepted statuses, a timeout per request and bounded
// retries with backoff (while a fresh stage warms up), and says exactly what failed.
// Pure with respect to the driver: takes a URL and options, returns a report; `deploy` reuses it.
import { randomUUID } from "node:crypto";
import { Agent, errors as undiciErrors } from "undici";
import { type Logger, silentLogger, writeReport } from "./command";
import { REPORT_FILES } from "./reports";
import { runIntegratedProbes } from "./smoke-integrated";

export type ProbeStatus = "passed" | "failed" | "skipped";

/** What a probe saw: enough for its check. */
export interface ProbeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Raw body text (capped). */
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

export interface SmokeProbe {
  name: string;
  method: "GET" | "POST" | "PUT" | "DELETE" | "OPTIONS";
  /** Path below the base URL, starting with `/`. */
  path: string;
  expected: number[];
  /** A failing critical probe fails the run. */
  critical: boolean;
  headers?: Record<string, string>;
  body?: unknown;
  /**
   * Safe to repeat: retried on connection errors, timeouts, 5xx and 429. A non-idempotent probe is
   * retried only when the request never reached the server (connection refused), so a slow POST
   * can never create two records.
   */
  idempotent: boolean;
  /** Extra check on an accepted status: returns what is wrong, or undefined. */
  check?: (res: ProbeResponse) => string | undefined;
  /** When set, the probe is not sent and is reported as skipped with this reason. */
  skip?: string;
  /** Body bytes kept for the check (default 64 KiB; an app's OpenAPI document is larger). */
  maxBodyBytes?: number;
}

export interface ProbeResult {
  name: string;
  method: string;
  path: string;
  expected: number[];
  /** Last status received; null when no response arrived (or the probe was skipped). */
  actual: number | null;
  attempts: number;
  duration_ms: number;
  critical: boolean;
  passed: boolean;
  status: ProbeStatus;
  error?: string;
}

export interface SmokeReport {
  base_url: string;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  mode: "read-only" | "write";
  /** Every critical probe passed. */
  passed: boolean;
  totals: { passed: number; failed: number; skipped: number; critical_failed: number };
  probes: ProbeResult[];
}

export interface SmokeOptions {
  baseUrl: string;
  /** Run the create → read → update → delete cycle (needs admin credentials). */
  write?: boolean;
  /** Frontend origin for the CORS preflight probe; without it the probe is skipped. */
  origin?: string;
  /** Timeout per request, in seconds (default 10). */
  timeoutS?: number;
  /** Retries per probe after the first attempt (default 4). */
  retries?: number;
  /** First backoff delay in ms, doubled per retry and capped at `maxRetryDelayMs` (defaults 500 / 4000). */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Admin credentials for `write`; never logged, never reported. */
  credentials?: { email: string; password: string };
  log?: Logger;
  signal?: AbortSignal;
  /** "integrated": probe the synced app by its own OpenAPI document instead (smoke-integrated.ts). */
  handlerKind?: "enhanced" | "integrated";
}

export class SmokeConfigError extends Error {
  override name = "SmokeConfigError";
}

/** Marks the person a write run creates, so a leftover is recognisable (and never a real address). */
export const SMOKE_PERSON_FIRST_NAME = "Smoke-Test";
export const SMOKE_EMAIL_DOMAIN = "example.invalid";
const USER_AGENT = "people-register-smoke/1";
const BODY_CAP = 64 * 1024;

/** Join a base URL (possibly with a stage path and trailing slashes) and a path, with exactly one slash. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** Validate and normalise a base URL: http(s), no credentials, no query or fragment, no trailing slash. */
export function normaliseBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SmokeConfigError(`not a valid URL: "${raw}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new SmokeConfigError(`URL must be http(s): "${raw}"`);
  if (url.username || url.password) throw new SmokeConfigError("URL must not carry credentials");
  if (url.search || url.hash) throw new SmokeConfigError("URL must not carry a query or fragment");
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/** Validate a CORS origin (`scheme://host[:port]`, nothing else). */
export function normaliseOrigin(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SmokeConfigError(`origin is not a valid URL: "${raw}"`);
  }
  if (url.origin === "null" || url.origin !== raw.replace(/\/+$/, "")) throw new SmokeConfigError(`origin must look like https://app.example.com (got "${raw}")`);
  return url.origin;
}

const header = (res: ProbeResponse, name: string): string | undefined => {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(", ") : v;
};

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;

function checkHealth(res: ProbeResponse): string | undefined {
  if (res.json === undefined) return "body is not JSON";
  const status = field(res.json, "status");
  if (status !== "healthy") return `body status is ${JSON.stringify(status)}, expected "healthy"`;
  const db = field(field(res.json, "checks"), "database");
  // The contract's health check reports the database as "ok" (a string) or {status:"ok", ...}.
  const dbStatus = typeof db === "object" && db !== null ? field(db, "status") : db;
  if (dbStatus !== "ok" && dbStatus !== "healthy") return `checks.database is ${JSON.stringify(db)}, expected "ok"`;
  return undefined;
}

function checkJsonError(res: ProbeResponse): string | undefined {
  if (res.json === undefined) return "error body is not JSON";
  if (typeof field(res.json, "error") !== "string") return 'error body has no "error" message';
  return undefined;
}

/** The non-mutating probes. */
export function readOnlyProbes(origin?: string): SmokeProbe[] {
  const probes: SmokeProbe[] = [
    { name: "health with database check", method: "GET", path: "/health", expected: [200], critical: true, idempotent: true, check: checkHealth },
    { name: "auth wall on /people", method: "GET", path: "/people", expected: [401], critical: true, idempotent: true, check: checkJsonError },
    { name: "auth wall on /auth/me", method: "GET", path: "/auth/me", expected: [401], critical: true, idempotent: true, check: checkJsonError },
  ];
  probes.push({
    name: "CORS preflight from the frontend origin",
    method: "OPTIONS",
    path: "/people",
    expected: [200, 204],
    // Critical when the caller names the frontend origin: without CORS the frontend cannot call the API.
    critical: Boolean(origin),
    idempotent: true,
    headers: origin ? { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-csrf-token" } : {},
    check: (res) => {
      const allowed = header(res, "access-control-allow-origin");
      return allowed === origin ? undefined : `Access-Control-Allow-Origin is ${JSON.stringify(allowed ?? null)}, expected ${JSON.stringify(origin)}`;
    },
    ...(origin ? {} : { skip: "no --origin given" }),
  });
  probes.push(
    {
      // Never 2xx: that would store junk. 403: the CSRF check answers before validation for an anonymous
      // caller. 429: public registration allows 10 per hour per IP, which frequent CI runs from one
      // address can reach; the request was refused before anything was stored either way.
      name: "validation on POST /people",
      method: "POST",
      path: "/people",
      expected: [400, 403, 429],
      critical: true,
      idempotent: false,
      body: { firstName: "", email: "not-an-email", isAdmin: true },
      check: checkJsonError,
    },
    { name: "unknown path is 404", method: "GET", path: `/smoke-unknown-${randomUUID().slice(0, 8)}`, expected: [404], critical: false, idempotent: true },
  );
  return probes;
}

type AttemptOutcome = { kind: "response"; res: ProbeResponse } | { kind: "error"; message: string; sent: boolean };

export class Runner {
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly retries: number;
  /** Set once a probe got no response at all through every retry: later probes get one attempt each. */
  private unreachable = false;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  readonly results: ProbeResult[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly opts: SmokeOptions,
    private readonly log: Logger,
  ) {
    this.timeoutMs = Math.max(1, Math.round((opts.timeoutS ?? 10) * 1000));
    this.retries = Math.max(0, opts.retries ?? 4);
    this.retryDelayMs = Math.max(0, opts.retryDelayMs ?? 500);
    this.maxRetryDelayMs = Math.max(this.retryDelayMs, opts.maxRetryDelayMs ?? 4000);
    // A private agent: its sockets are closed at the end, so nothing keeps the process alive.
    this.agent = new Agent({ connect: { timeout: this.timeoutMs }, keepAliveTimeout: 1000 });
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }

  private async attempt(probe: SmokeProbe): Promise<AttemptOutcome> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, timeout]) : timeout;
    const headers: Record<string, string> = { "user-agent": USER_AGENT, accept: "application/json", ...lower(probe.headers) };
    let body: string | undefined;
    if (probe.body !== undefined) {
      body = JSON.stringify(probe.body);
      headers["content-type"] = "application/json";
    }
    const url = new URL(joinUrl(this.baseUrl, probe.path));
    try {
      const res = await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: probe.method,
        headers,
        body,
        signal,
      });
      // Keep the first BODY_CAP bytes, drain the rest (so the connection can be reused); decode once.
      const chunks: Buffer[] = [];
      let kept = 0;
      const cap = probe.maxBodyBytes ?? BODY_CAP;
      for await (const chunk of res.body) {
        if (kept < cap) {
          chunks.push(chunk as Buffer);
          kept += (chunk as Buffer).length;
        }
      }
      const text = Buffer.concat(chunks).subarray(0, cap).toString("utf8");
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { kind: "response", res: { status: res.statusCode, headers: res.headers, text, json } };
    } catch (err) {
      if (this.opts.signal?.aborted) throw this.opts.signal.reason ?? err;
      if (timeout.aborted) return { kind: "error", message: `no response within ${this.timeoutMs / 1000} s`, sent: true };
      return { kind: "error", ...describeNetworkError(err) };
    }
  }

  private backoff(retry: number, res?: ProbeResponse): number {
    const exponential = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** retry);
    const retryAfter = res ? Number(header(res, "retry-after")) : NaN;
    // Honour Retry-After on 429/503 but never wait longer than the cap: the run stays bounded.
    return Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(this.maxRetryDelayMs, retryAfter * 1000) : exponential;
  }

  /** Run one probe with retries; records and returns its result (and the last response). */
  async run(probe: SmokeProbe): Promise<{ result: ProbeResult; response?: ProbeResponse }> {
    const started = Date.now();
    let attempts = 0;
    let outcome: AttemptOutcome;
    for (;;) {
      attempts++;
      outcome = await this.attempt(probe);
      const retryable =
        outcome.kind === "error"
          ? probe.idempotent || !outcome.sent
          : probe.idempotent && (outcome.res.status >= 500 || outcome.res.status === 429) && !probe.expected.includes(outcome.res.status);
      if (!retryable || attempts > (this.unreachable ? 0 : this.retries)) break;
      await sleep(this.backoff(attempts - 1, outcome.kind === "response" ? outcome.res : undefined), this.opts.signal);
    }
    let error: string | undefined;
    let actual: number | null = null;
    if (outcome.kind === "error") error = outcome.message;
    else {
      actual = outcome.res.status;
      if (!probe.expected.includes(actual)) error = `expected ${probe.expected.join(" or ")}, got ${actual}${bodyHint(outcome.res)}`;
      else error = probe.check?.(outcome.res);
    }
    if (error && attempts > 1) error = `${error} (after ${attempts} attempts)`;
    // The warm-up allowance is spent once: a target that never answered is not waited for again per probe.
    if (actual === null && attempts > this.retries) this.unreachable = true;
    const result: ProbeResult = {
      name: probe.name,
      method: probe.method,
      path: probe.path,
      expected: probe.expected,
      actual,
      attempts,
      duration_ms: Date.now() - started,
      critical: probe.critical,
      passed: !error,
      status: error ? "failed" : "passed",
      ...(error ? { error } : {}),
    };
    this.record(result);
    return { result, response: outcome.kind === "response" ? outcome.res : undefined };
  }

  skip(probe: Pick<SmokeProbe, "name" | "method" | "path" | "expected" | "critical">, reason: string): void {
    this.record({ name: probe.name, method: probe.method, path: probe.path, expected: probe.expected, actual: null, attempts: 0, duration_ms: 0, critical: probe.critical, passed: false, status: "skipped", error: reason });
  }

  private record(result: ProbeResult): void {
    this.results.push(result);
    const label = `${result.method} ${result.path} (${result.name})`;
    if (result.status === "passed") this.log.info(`  ✔ ${label} → ${result.actual}`);
    else if (result.status === "skipped") this.log.info(`  - ${label}: skipped, ${result.error}`);
    else this.log.info(`  ✖ ${label}: ${result.error}${result.critical ? "" : " (non-critical)"}`);
  }
}

function lower(headers: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

function bodyHint(res: ProbeResponse): string {
  const message = field(res.json, "error") ?? field(res.json, "message");
  if (typeof message === "string") return `: ${message.slice(0, 200)}`;
  return "";
}

/** One line for a failed connection; `sent` says whether the request may have reached the server. */
function describeNetworkError(err: unknown): { message: string; sent: boolean } {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code && e.code.startsWith("UND_ERR_") && e.cause?.code ? e.cause.code : (e.code ?? e.cause?.code);
  switch (code) {
    case "ECONNREFUSED":
      return { message: "connection refused (ECONNREFUSED)", sent: false };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { message: `host not found (${code})`, sent: false };
    case "UND_ERR_CONNECT_TIMEOUT":
      return { message: "connection timed out", sent: false };
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
      return { message: `connection closed by the server (${code})`, sent: true };
    default:
      if (err instanceof undiciErrors.UndiciError) return { message: `${e.message} (${e.code})`, sent: true };
      return { message: e.message ?? String(err), sent: true };
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

type StepSpec = Pick<SmokeProbe, "name" | "method" | "path" | "expected" | "critical">;
type WriteStep = "login" | "csrf" | "create" | "read" | "update" | "delete" | "verify" | "cleanup" | "logout";

const WRITE_STEPS: Readonly<Record<WriteStep, StepSpec>> = {
  login: { name: "write: admin login", method: "POST", path: "/auth/login", expected: [200], critical: true },
  csrf: { name: "write: CSRF token", method: "GET", path: "/auth/csrf-token", expected: [200], critical: true },
  create: { name: "write: create test person", method: "POST", path: "/people", expected: [201], critical: true },
  read: { name: "write: read test person", method: "GET", path: "/people/{id}", expected: [200], critical: true },
  update: { name: "write: update test person", method: "PUT", path: "/people/{id}", expected: [200], critical: true },
  delete: { name: "write: delete test person", method: "DELETE", path: "/people/{id}", expected: [204], critical: true },
  verify: { name: "write: deleted person is gone", method: "GET", path: "/people/{id}", expected: [404], critical: true },
  cleanup: { name: "write: cleanup of test person", method: "DELETE", path: "/people/{id}", expected: [204, 404], critical: true },
  logout: { name: "write: admin logout", method: "POST", path: "/auth/logout", expected: [200], critical: false },
};

/** create → read → update → delete of a marked test person; the person is deleted whatever happens. */
async function runWriteCycle(runner: Runner, credentials: { email: string; password: string }): Promise<void> {
  const steps = WRITE_STEPS;
  const remaining = (from: WriteStep, reason: string) => {
    const order: WriteStep[] = ["csrf", "create", "read", "update", "delete", "verify"];
    for (const key of order.slice(order.indexOf(from))) runner.skip(steps[key], reason);
  };

  const login = await runner.run({
    ...steps.login,
    idempotent: true,
    // The password travels only in this body; results never include request bodies.
    body: { email: credentials.email, password: credentials.password },
    check: (res) => (typeof field(res.json, "accessToken") === "string" ? undefined : "response has no accessToken"),
  });
  const token = field(login.response?.json, "accessToken");
  if (!login.result.passed || typeof token !== "string") {
    remaining("csrf", "admin login failed");
    return;
  }
  const auth = { Authorization: `Bearer ${token}` };

  let personId: string | undefined;
  let deleted = false;
  try {
    const csrf = await runner.run({
      ...steps.csrf,
      idempotent: true,
      check: (res) => (typeof field(res.json, "csrfToken") === "string" ? undefined : "response has no csrfToken"),
    });
    const csrfToken = field(csrf.response?.json, "csrfToken");
    if (!csrf.result.passed || typeof csrfToken !== "string") {
      remaining("create", "no CSRF token");
      return;
    }

    const email = `smoke+${randomUUID()}@${SMOKE_EMAIL_DOMAIN}`;
    const create = await runner.run({
      ...steps.create,
      idempotent: false,
      headers: { ...auth, "X-CSRF-Token": csrfToken },
      body: { firstName: SMOKE_PERSON_FIRST_NAME, lastName: "Run", email },
      check: (res) => {
        // Single resources come back bare (the web frontend's shape).
        const person = res.json;
        if (typeof field(person, "id") !== "string") return "response has no person id";
        if (field(person, "passwordHash") !== undefined || field(person, "password") !== undefined) return "response leaks a password field";
        return undefined;
      },
    });
    const created = create.response?.json;
    if (typeof field(created, "id") === "string") personId = field(created, "id") as string;
    if (!create.result.passed || !personId) {
      remaining("read", "the test person was not created");
      return;
    }
    const personPath = `/people/${encodeURIComponent(personId)}`;

    const read = await runner.run({
      ...steps.read,
      path: personPath,
      idempotent: true,
      headers: auth,
      check: (res) => {
        const got = field(res.json, "email");
        return got === email ? undefined : `person.email is ${JSON.stringify(got)}, expected the test address`;
      },
    });
    const version = field(read.response?.json, "version") ?? field(created, "version");

    await runner.run({
      ...steps.update,
      path: personPath,
      idempotent: true,
      headers: auth,
      body: { lastName: "Run-Updated", ...(version !== undefined ? { version } : {}) },
      check: (res) => {
        const got = field(res.json, "lastName");
        return got === "Run-Updated" ? undefined : `person.lastName is ${JSON.stringify(got)} after the update`;
      },
    });

    const del = await runner.run({ ...steps.delete, path: personPath, idempotent: true, headers: auth });
    deleted = del.result.passed;
    await runner.run({ ...steps.verify, path: personPath, idempotent: true, headers: auth });
  } finally {
    if (personId && !deleted) {
      // Always clean up: a test person must never stay behind in a real deployment.
      await runner.run({ ...steps.cleanup, path: `/people/${encodeURIComponent(personId)}`, idempotent: true, headers: auth });
    }
    await runner.run({ ...steps.logout, idempotent: true, headers: auth });
  }
}

/** Run the smoke suite against `baseUrl`; never throws for a failing probe (the report says it), only for bad options or abort. */
export async function runSmokeTests(opts: SmokeOptions): Promise<SmokeReport> {
  const baseUrl = normaliseBaseUrl(opts.baseUrl);
  const origin = opts.origin === undefined ? undefined : normaliseOrigin(opts.origin);
  if (opts.write && (!opts.credentials?.email || !opts.credentials.password)) {
    throw new SmokeConfigError("write mode needs admin credentials (SMOKE_ADMIN_EMAIL and SMOKE_ADMIN_PASSWORD)");
  }
  const log = opts.log ?? silentLogger;
  const runner = new Runner(baseUrl, opts, log);
  const startedAt = new Date();
  try {
    if (opts.handlerKind === "integrated") await runIntegratedProbes(runner, opts);
    else {
      for (const probe of readOnlyProbes(origin)) {
        if (probe.skip) runner.skip(probe, probe.skip);
        else await runner.run(probe);
      }
      if (opts.write && opts.credentials) await runWriteCycle(runner, opts.credentials);
    }
  } finally {
    await runner.close();
  }
  const finishedAt = new Date();
  const probes = runner.results;
  const totals = {
    passed: probes.filter((p) => p.status === "passed").length,
    failed: probes.filter((p) => p.status === "failed").length,
    skipped: probes.filter((p) => p.status === "skipped").length,
    critical_failed: probes.filter((p) => p.status === "failed" && p.critical).length,
  };
  return {
    base_url: baseUrl,
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
    duration_ms: finishedAt.getTime() - startedAt.getTime(),
    mode: opts.write ? "write" : "read-only",
    passed: totals.critical_failed === 0 && !probes.some((p) => p.critical && p.status === "skipped"),
    totals,
    probes,
  };
}

function xmlEscape(s: string): string {
  // Also drop characters XML 1.0 cannot carry at all.
  return s
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** JUnit XML for CI dashboards: one testcase per probe; critical and non-critical probes as two classnames. */
export function smokeReportJUnit(report: SmokeReport): string {
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const cases = report.probes.map((p) => {
    const attrs = `classname="smoke.${p.critical ? "critical" : "non-critical"}" name="${xmlEscape(`${p.method} ${p.path} - ${p.name}`)}" time="${seconds(p.duration_ms)}"`;
    if (p.status === "passed") return `    <testcase ${attrs}/>`;
    if (p.status === "skipped") return `    <testcase ${attrs}>\n      <skipped message="${xmlEscape(p.error ?? "skipped")}"/>\n    </testcase>`;
    const detail = `expected ${p.expected.join(" or ")}, actual ${p.actual ?? "no response"}, attempts ${p.attempts}`;
    return `    <testcase ${attrs}>\n      <failure message="${xmlEscape(p.error ?? "failed")}" type="${p.critical ? "critical" : "non-critical"}">${xmlEscape(detail)}</failure>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="smoke" tests="${report.probes.length}" failures="${report.totals.failed}" skipped="${report.totals.skipped}" time="${seconds(report.duration_ms)}">`,
    `  <testsuite name="smoke ${xmlEscape(report.base_url)} (${report.mode})" tests="${report.probes.length}" failures="${report.totals.failed}" errors="0" skipped="${report.totals.skipped}" timestamp="${report.started_at}" time="${seconds(report.duration_ms)}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

/** Write test-report.json and test-report.xml; returns their paths. */
export function writeSmokeReports(reportsDir: string, report: SmokeReport): { json: string; xml: string } {
  return { json: writeReport(reportsDir, REPORT_FILES.testJson, report), xml: writeReport(reportsDir, REPORT_FILES.testXml, smokeReportJUnit(report)) };
}
