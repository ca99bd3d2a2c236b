// Small HTTP helpers for tests against a local target (undici, keep-alive, real sockets).
//
//   const client = api(target);
//   const res = await client.request("GET", "/projects?limit=5");
//   expect(res.status).to.equal(200);
//   expect(res.json.projects).to.be.an("array");
//
//   const { token } = await login(target, ADMIN_EMAIL, ADMIN_PASSWORD);
//   await client.request("POST", "/projects", { token, body: { name: "Garden" } });
//
//   const ip = randomIp();                       // CSRF tokens are bound to the client (IP + User-Agent)
//   const csrf = await csrfToken(target, ip);
//   await client.request("POST", "/people", { ip, body: { … }, headers: { "X-CSRF-Token": csrf } });
import { randomBytes } from "node:crypto";
import { request as undiciRequest } from "undici";
import type { LocalTarget } from "../../automation/local/target";

/** The header the shared test target reads the client IP from (see tests/support/target.ts). */
const DEFAULT_SOURCE_IP_HEADER = "x-test-source-ip";

/** What a test gets back from a request. */
export interface ApiResponse {
  status: number;
  /** Response headers, names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  /** The raw body text. */
  text: string;
}

export interface ApiRequestOptions {
  /**
   * The request body. A string or Buffer is sent byte for byte (use it for malformed JSON); any
   * other value is sent as JSON. Either way `Content-Type: application/json` is set unless
   * `headers` has a Content-Type.
   */
  body?: unknown;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Extra request headers; they win over the ones this helper sets. */
  headers?: Record<string, string>;
  /**
   * The client IP the gateway reports to the handlers (needs a target started with
   * `sourceIpHeader`, as the shared test target is). Defaults to the client's own IP (see `api`).
   */
  ip?: string;
}

export interface ApiClient {
  /** The IP this client sends when a request gives none. */
  readonly ip: string;
  /**
   * One request. `path` starts with `/` and may carry a query string. Never throws for an HTTP
   * status: check `status`. Throws only when the connection fails.
   */
  request(method: string, path: string, opts?: ApiRequestOptions): Promise<ApiResponse>;
}

/**
 * A random private IPv4 address (10.x.y.z). Only a header value: rate limits, lockout-by-IP and
 * CSRF fingerprints count per IP, so a fresh one gives a test its own counters.
 */
export function randomIp(): string {
  const b = randomBytes(3);
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

/**
 * A client for `target`. Each client gets its own random IP (so tests do not share rate-limit
 * counters) unless `opts.ip` is given; a request's own `ip` wins over both.
 */
export function api(target: Pick<LocalTarget, "url"> & { sourceIpHeader?: string }, opts: { ip?: string } = {}): ApiClient {
  const base = target.url.replace(/\/+$/, "");
  const ipHeader = target.sourceIpHeader ?? DEFAULT_SOURCE_IP_HEADER;
  const clientIp = opts.ip ?? randomIp();
  return {
    ip: clientIp,
    async request(method, path, req = {}) {
      const headers: Record<string, string> = { [ipHeader]: req.ip ?? clientIp };
      let body: string | Buffer | undefined;
      if (req.body !== undefined) {
        body = typeof req.body === "string" || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body);
        headers["content-type"] = "application/json";
      }
      if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
      for (const [name, value] of Object.entries(req.headers ?? {})) {
        // Replace a header this helper set, whatever the spelling of its name.
        for (const existing of Object.keys(headers)) if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
        headers[name] = value;
      }
      const res = await undiciRequest(`${base}${path}`, { method: method.toUpperCase() as "GET", headers, body });
      const text = await res.body.text();
      const flat: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
      }
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, headers: flat, json, text };
    },
  };
}

/** The result of a successful login. */
export interface LoginResult {
  /** The JWT for `Authorization: Bearer`. */
  token: string;
  expiresAt: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  user: any;
  /** The IP the login was made from. */
  ip: string;
  response: ApiResponse;
}

/**
 * `POST /auth/login` as `ip` (a random one when absent). Resolves with the token; rejects with
 * the status and body when the login does not answer 200 (use `api().request` to test failures).
 */
export async function login(target: Pick<LocalTarget, "url"> & { sourceIpHeader?: string }, email: string, password: string, ip: string = randomIp()): Promise<LoginResult> {
  const response = await api(target, { ip }).request("POST", "/auth/login", { body: { email, password } });
  if (response.status !== 200 || typeof response.json?.accessToken !== "string") {
    throw new Error(`login as ${email} answered ${response.status}: ${response.text.slice(0, 300)}`);
  }
  return { token: response.json.accessToken, expiresAt: response.json.expiresAt, user: response.json.user, ip, response };
}

/**
 * A fresh single-use CSRF token from `GET /auth/csrf-token?form=<form>` (POST /people's by default), issued to `ip`. Send it from the same
 * `ip` (and the same User-Agent: these helpers send none) as header `X-CSRF-Token`. Rejects when the
 * route does not answer 200.
 */
export async function csrfToken(target: Pick<LocalTarget, "url"> & { sourceIpHeader?: string }, ip: string, form = "post-people"): Promise<string> {
  const response = await api(target, { ip }).request("GET", `/auth/csrf-token?form=${encodeURIComponent(form)}`);
  if (response.status !== 200 || typeof response.json?.csrfToken !== "string") {
    throw new Error(`GET /auth/csrf-token answered ${response.status}: ${response.text.slice(0, 300)}`);
  }
  return response.json.csrfToken;
}
