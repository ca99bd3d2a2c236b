// Every route of the People Register API, as data. The REST API, the local API Gateway
// emulation and the handlers' routers are all generated from this list.
import type { FunctionName } from "./tables";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** public: anyone; user: the person themself or an admin; admin: isAdmin on the person item. */
export type Access = "public" | "user" | "admin";

/** Rate-limit rule a route counts against (see RATE_LIMITS). */
export type RateLimitRule = "login" | "passwordReset" | "registration" | "publicCheck" | "publicSubscribe" | "default";

export interface RouteSpec {
  method: HttpMethod;
  /** API Gateway path template, e.g. `/people/{id}`. */
  path: string;
  fn: FunctionName;
  access: Access;
  /** Public state-changing route that requires an `X-CSRF-Token` header. */
  csrf?: boolean;
  rateLimit: RateLimitRule;
  summary: string;
}

const route = (
  method: HttpMethod,
  path: string,
  fn: FunctionName,
  access: Access,
  summary: string,
  extra: { csrf?: boolean; rateLimit?: RateLimitRule } = {},
): RouteSpec => ({ method, path, fn, access, summary, rateLimit: extra.rateLimit ?? "default", ...(extra.csrf ? { csrf: true } : {}) });

export const ROUTES: readonly RouteSpec[] = [
  route("GET", "/health", "api", "public", "Service health with a database check"),
  route("GET", "/auth/csrf-token", "api", "public", "Issue a single-use CSRF token"),
  route("POST", "/auth/login", "auth", "public", "Log in with email and password", { rateLimit: "login" }),
  route("POST", "/auth/logout", "auth", "user", "End the token's own session"),
  route("GET", "/auth/me", "auth", "user", "The signed-in person"),
  route("POST", "/auth/refresh", "auth", "user", "A new token for the same session"),
  route("PUT", "/auth/password", "api", "user", "Change the own password"),
  route("POST", "/auth/password-reset", "api", "public", "Request a password reset link", { rateLimit: "passwordReset" }),
  route("GET", "/auth/password-reset", "api", "public", "Check a password reset token"),
  route("POST", "/auth/password-reset/confirm", "api", "public", "Set a new password with a reset token"),
  route("GET", "/people", "api", "admin", "List people (safe view)"),
  route("POST", "/people", "api", "public", "Register a person", { csrf: true, rateLimit: "registration" }),
  route("GET", "/people/{id}", "api", "user", "Read a person"),
  route("PUT", "/people/{id}", "api", "user", "Update a person"),
  route("DELETE", "/people/{id}", "api", "admin", "Delete a person and their subscriptions"),
  route("GET", "/people/{id}/subscriptions", "api", "user", "A person's subscriptions"),
  route("GET", "/projects", "api", "public", "List projects"),
  route("POST", "/projects", "api", "admin", "Create a project"),
  route("GET", "/projects/{id}", "api", "public", "Read a project"),
  route("PUT", "/projects/{id}", "api", "admin", "Update a project"),
  route("DELETE", "/projects/{id}", "api", "admin", "Delete a project and its subscriptions"),
  route("GET", "/projects/{id}/subscribers", "api", "admin", "A project's subscribers"),
  route("POST", "/projects/{id}/subscribe/{personId}", "api", "user", "Subscribe a person to a project"),
  route("DELETE", "/projects/{id}/unsubscribe/{personId}", "api", "user", "Unsubscribe a person from a project"),
  route("GET", "/subscriptions", "api", "admin", "List subscriptions"),
  route("POST", "/subscriptions", "api", "user", "Create a subscription"),
  route("PUT", "/subscriptions/{id}", "api", "admin", "Change a subscription's status or notes (activating checks capacity)"),
  route("DELETE", "/subscriptions/{id}", "api", "user", "Delete a subscription"),
  route("GET", "/admin/dashboard", "api", "admin", "Totals and recent audit entries"),
  route("POST", "/admin/password-reset", "api", "admin", "Send a person a password reset link"),
  // The web frontend's public subscribe page: no token and no CSRF header, so rate limits and strict
  // validation are what protect these three.
  route("POST", "/v2/people/check-email", "api", "public", "Whether a person with this email exists", { rateLimit: "publicCheck" }),
  route("POST", "/v2/subscriptions/check", "api", "public", "Whether this email is subscribed to a project", { rateLimit: "publicCheck" }),
  route("POST", "/v2/public/subscribe", "api", "public", "Ask to join a project (pending subscription; creates the person if new)", { rateLimit: "publicSubscribe" }),
];

export interface RateLimitSpec {
  /** Requests allowed per window. */
  limit: number;
  windowSeconds: number;
  /** What the counter is keyed on besides the route. */
  key: "ip" | "ip+email" | "email";
}

/**
 * Limits per rule. `login` has two counters (per IP+email and per IP); both apply.
 * Auth routes fail closed (503) when the limiter's table is unreachable; the others fail open.
 */
export const RATE_LIMITS: Readonly<Record<RateLimitRule, readonly RateLimitSpec[]>> = {
  login: [
    { limit: 10, windowSeconds: 15 * 60, key: "ip+email" },
    { limit: 30, windowSeconds: 15 * 60, key: "ip" },
  ],
  // Per IP+email, and per IP across emails (one client cannot probe or mail-bomb many addresses).
  passwordReset: [
    { limit: 3, windowSeconds: 60 * 60, key: "ip+email" },
    { limit: 10, windowSeconds: 60 * 60, key: "ip" },
  ],
  registration: [{ limit: 10, windowSeconds: 60 * 60, key: "ip" }],
  publicCheck: [{ limit: 20, windowSeconds: 60 * 60, key: "ip" }],
  publicSubscribe: [
    { limit: 10, windowSeconds: 60 * 60, key: "ip" },
    { limit: 3, windowSeconds: 60 * 60, key: "email" },
  ],
  default: [{ limit: 100, windowSeconds: 60, key: "ip" }],
};

/** Paths (templates) that exist, with the methods each allows: a known path with another method is a 405. */
export function methodsByPath(routes: readonly RouteSpec[] = ROUTES): Map<string, HttpMethod[]> {
  const byPath = new Map<string, HttpMethod[]>();
  for (const r of routes) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r.method]);
  return byPath;
}

/** Match a concrete path against a template; returns the (still URL-encoded) parameters or undefined. */
export function matchPath(template: string, path: string): Record<string, string> | undefined {
  const t = template.split("/");
  const p = path.split("/");
  if (t.length !== p.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const seg = t[i];
    if (seg.startsWith("{") && seg.endsWith("}")) {
      if (p[i] === "") return undefined;
      params[seg.slice(1, -1)] = p[i];
    } else if (seg !== p[i]) {
      return undefined;
    }
  }
  return params;
}

/** One route of the REST API as deployed: a contract route, or a catch-all to a function. */
export interface GatewayRoute {
  /** "ANY" is API Gateway's x-amazon-apigateway-any-method. */
  method: HttpMethod | "ANY";
  path: string;
  fn: FunctionName;
}

/** Greedy path that sends every other path to the synced app (integrated handler only). */
export const GREEDY_PATH = "/{proxy+}";

/** Root path: the synced app serves `/` too (HEAD answers it). */
export const ROOT_PATH = "/";

/**
 * What the REST API routes, used by the stack's OpenAPI body and by the local API Gateway emulation.
 * Enhanced handler:
 * - every contract route to its function;
 * - ANY on each contract path to the function owning that path, so the function answers the CORS
 *   preflight (OPTIONS, echoing only configured origins) and 405 for a wrong method;
 * - unmatched paths never reach a function: the gateway answers GATEWAY_NOT_FOUND.
 * With `greedy` (the integrated handler) the synced app serves every path, its own `/auth/*` included:
 * ANY `/` and ANY `/{proxy+}` to `api`; the TypeScript auth function is not routed (its tokens are not
 * the app's, so switching handler kinds ends every session).
 * Precedence when matching: an exact method beats ANY, a literal segment beats a `{param}`, the greedy path is last.
 */
export function gatewayRoutes(opts: { greedy: boolean }): GatewayRoute[] {
  if (opts.greedy) return [{ method: "ANY", path: ROOT_PATH, fn: "api" }, { method: "ANY", path: GREEDY_PATH, fn: "api" }];
  const routes: GatewayRoute[] = ROUTES.map((r) => ({ method: r.method, path: r.path, fn: r.fn }));
  const owners = new Map<string, FunctionName>();
  for (const r of ROUTES) {
    const owner = owners.get(r.path);
    if (owner && owner !== r.fn) throw new Error(`path ${r.path} is served by two functions`);
    owners.set(r.path, r.fn);
  }
  for (const [path, fn] of owners) routes.push({ method: "ANY", path, fn });
  return routes;
}

/** Status and body the gateway itself answers for a path no route matches (a Gateway Response, not a function). */
export const GATEWAY_NOT_FOUND = { statusCode: 404, body: { error: "Not found", code: "NOT_FOUND", detail: "Not found" } } as const;
