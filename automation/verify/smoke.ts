// Endpoint smoke tests for any deployment of the People Register API (AWS stage or the local target).
// Non-mutating by default; `write` adds a create → read → update → delete of a marked test person that
// is always cleaned up. Every probe has a set of accepted statuses, a timeout per request and bounded
// retries with backoff (while a fresh stage warms up), and says exactly what failed.
// Pure with respect to the driver: takes a URL and options, returns a report; `deploy` reuses it.
import { randomUUID } from "node:crypto";
import { silentLogger, writeReport } from "../command";
import { REPORT_FILES } from "./reports";
import {
  field, header, normaliseBaseUrl, normaliseOrigin, type ProbeResponse, Runner, SMOKE_EMAIL_DOMAIN,
  SMOKE_PERSON_FIRST_NAME, SmokeConfigError, type SmokeOptions, type SmokeProbe, type SmokeReport,
} from "./probe-runner";
import { runIntegratedProbes } from "./smoke-integrated";

// What callers import from the smoke suite.
export {
  joinUrl, normaliseBaseUrl, normaliseOrigin, type ProbeResponse, type ProbeResult, type ProbeStatus, Runner, SMOKE_EMAIL_DOMAIN,
  SMOKE_PERSON_FIRST_NAME, SmokeConfigError, type SmokeOptions, type SmokeProbe, type SmokeReport,
} from "./probe-runner";

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
