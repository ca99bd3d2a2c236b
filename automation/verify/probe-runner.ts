// The probe runner shared by the smoke suites (the enhanced handler's and the integrated app's): the
// report types, URL rules, and a Runner that sends one probe with a timeout, bounded retries and backoff,
// and records what happened.
import { Agent, errors as undiciErrors } from "undici";
import { type Logger } from "../command";

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

export const header = (res: ProbeResponse, name: string): string | undefined => {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(", ") : v;
};

export const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;

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
