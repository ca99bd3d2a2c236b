// Smoke probes for the integrated handler (a synced registry-api app): what the app itself says it
// serves. /health and /openapi.json, every GET route its OpenAPI document lists without a security
// requirement or path parameter, and — when the document shows a login and a people collection with
// create/read/delete — a write cycle through the app's own routes that always removes its test person.
import { randomUUID } from "node:crypto";
import { field, type ProbeResponse, type Runner, SMOKE_PERSON_FIRST_NAME, type SmokeOptions } from "./probe-runner";

/** email-validator (the app's EmailStr) refuses special-use domains such as .invalid; example.com is reserved too (RFC 2606). */
export const APP_SMOKE_EMAIL_DOMAIN = "example.com";

type OpenApiDoc = { openapi?: unknown; security?: unknown[]; paths?: Record<string, Record<string, { security?: unknown[]; requestBody?: { required?: boolean } } | undefined>> };

/** The first string found at any of these paths (`a.b`), for the two revisions' different envelopes. */
const pick = (value: unknown, paths: string[]): string | undefined => {
  for (const p of paths) {
    const v = p.split(".").reduce<unknown>((acc, k) => field(acc, k), value);
    if (typeof v === "string" && v) return v;
  }
  return undefined;
};
/** Where the two revisions put the access token and the created person's id. */
const TOKEN_PATHS = ["access_token", "accessToken", "data.accessToken", "data.access_token"];
const PERSON_ID_PATHS = ["id", "data.id", "person.id", "data.person.id"];

function checkAppHealth(res: ProbeResponse): string | undefined {
  const status = field(res.json, "status") ?? field(field(res.json, "data"), "status");
  return status === "healthy" ? undefined : `health status is ${JSON.stringify(status ?? null)}, expected "healthy"`;
}

/** GET paths the document lists without a security requirement and without path parameters. */
export function publicGetPaths(doc: OpenApiDoc): string[] {
  const globalSecurity = Array.isArray(doc.security) && doc.security.length > 0;
  return Object.entries(doc.paths ?? {})
    .filter(([path, item]) => !path.includes("{") && item?.get && !(item.get.security ?? (globalSecurity ? doc.security : []))!.length)
    .map(([path]) => path)
    .filter((p) => p !== "/health" && p !== "/openapi.json")
    .sort();
}

/**
 * The login path and a people collection with create, read and delete, when the document has them. A
 * delete that needs a request body (registry-api 3b58af3's two-step confirmation) does not count: the
 * cycle only creates a test person it can remove.
 */
export function writeCycleRoutes(doc: OpenApiDoc): { login: string; collection: string; item: string } | undefined {
  const paths = doc.paths ?? {};
  const login = Object.keys(paths).find((p) => /\/auth\/login\/?$/.test(p) && paths[p]?.post);
  const collection = Object.keys(paths).filter((p) => /^(\/v\d+)?\/people\/?$/.test(p) && paths[p]?.post).sort()[0];
  if (!login || !collection) return undefined;
  const base = collection.replace(/\/$/, "");
  const item = Object.keys(paths).find((p) => new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/\\{[^/}]+\\}$`).test(p) && paths[p]?.get && paths[p]?.delete && !paths[p]?.delete?.requestBody?.required);
  return item ? { login, collection, item } : undefined;
}

/** Run the integrated handler's probes on a runner (called by runSmokeTests). */
export async function runIntegratedProbes(runner: Runner, opts: SmokeOptions): Promise<void> {
  await runner.run({ name: "app health", method: "GET", path: "/health", expected: [200], critical: true, idempotent: true, check: checkAppHealth });
  const openapi = await runner.run({
    name: "app OpenAPI document",
    method: "GET",
    path: "/openapi.json",
    expected: [200],
    critical: true,
    idempotent: true,
    maxBodyBytes: 8 * 1024 * 1024,
    check: (res) => (typeof field(res.json, "openapi") === "string" && typeof field(res.json, "paths") === "object" ? undefined : "not an OpenAPI document"),
  });
  const doc = (openapi.result.passed ? openapi.response?.json : undefined) as OpenApiDoc | undefined;
  if (!doc) return;
  for (const path of publicGetPaths(doc)) {
    // Public by the document, but an app may still guard it in middleware (401/403) or shadow it with a
    // `{id}` route (404): what must never happen is a server error or a gateway that does not reach the app.
    await runner.run({
      name: "public GET from the app's OpenAPI answers without a server error", method: "GET", path, expected: [200, 401, 403, 404], critical: true, idempotent: true,
      check: (res) => (res.headers["x-amzn-errortype"] ? `answered by the gateway (${String(res.headers["x-amzn-errortype"])}), not the app` : undefined),
    });
  }
  if (!opts.write || !opts.credentials) return;
  const routes = writeCycleRoutes(doc);
  if (!routes) {
    runner.skip({ name: "write: app login + create", method: "POST", path: "/auth/login", expected: [200], critical: false }, "the app's OpenAPI shows no login with a people create, read and a delete that needs no request body (the cycle must be able to remove its test person)");
    return;
  }
  await appWriteCycle(runner, routes, opts.credentials);
}

async function appWriteCycle(runner: Runner, routes: { login: string; collection: string; item: string }, credentials: { email: string; password: string }): Promise<void> {
  const login = await runner.run({
    name: "write: admin login through the app", method: "POST", path: routes.login, expected: [200], critical: true, idempotent: true,
    body: { email: credentials.email, password: credentials.password },
    check: (res) => (pick(res.json, TOKEN_PATHS) ? undefined : "response has no access token"),
  });
  const token = pick(login.response?.json, TOKEN_PATHS);
  if (!token) return;
  const auth = { Authorization: `Bearer ${token}` };
  const email = `smoke+${randomUUID()}@${APP_SMOKE_EMAIL_DOMAIN}`;
  const itemPath = (id: string) => routes.item.replace(/\{[^}]+\}/, encodeURIComponent(id));
  let id: string | undefined;
  let deleted = false;
  try {
    const create = await runner.run({
      name: "write: create test person through the app", method: "POST", path: routes.collection, expected: [200, 201], critical: true, idempotent: false, headers: auth,
      body: {
        firstName: SMOKE_PERSON_FIRST_NAME, lastName: "Run", email, phone: "", dateOfBirth: "2000-01-01",
        address: { street: "-", city: "-", state: "-", postalCode: "00000", zipCode: "00000", country: "-" },
      },
      check: (res) => (pick(res.json, PERSON_ID_PATHS) ? undefined : "response has no person id"),
    });
    id = pick(create.response?.json, PERSON_ID_PATHS);
    if (!id) return;
    await runner.run({
      name: "write: read test person through the app", method: "GET", path: itemPath(id), expected: [200], critical: true, idempotent: true, headers: auth,
      check: (res) => (pick(res.json, ["email", "data.email", "person.email"])?.toLowerCase() === email ? undefined : "the person read back is not the test person"),
    });
    const del = await runner.run({ name: "write: delete test person through the app", method: "DELETE", path: itemPath(id), expected: [200, 204], critical: true, idempotent: true, headers: auth });
    deleted = del.result.passed;
    if (deleted) await runner.run({ name: "write: deleted person is gone", method: "GET", path: itemPath(id), expected: [404], critical: true, idempotent: true, headers: auth });
  } finally {
    if (id && !deleted) await runner.run({ name: "write: cleanup of test person", method: "DELETE", path: itemPath(id), expected: [200, 204, 404], critical: true, idempotent: true, headers: auth });
  }
}
