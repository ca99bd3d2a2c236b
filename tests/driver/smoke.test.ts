// The smoke runner against a real HTTP server that serves the probes, then broken on purpose:
// each failure must be reported exactly (probe, expected, actual, attempts) and the run must stay bounded.
import { execFileSync } from "node:child_process";
import { expect } from "chai";
import { joinUrl, normaliseBaseUrl, type ProbeResult, runSmokeTests, SmokeConfigError, type SmokeReport, smokeReportJUnit } from "../../automation/verify/smoke";
import { ADMIN, type ProbeServer, refusingPort, startProbeServer } from "../e2e/support/probe-server";

const FAST = { retries: 2, retryDelayMs: 5, maxRetryDelayMs: 20, timeoutS: 5 };
const ORIGIN = "https://app.example.test";

const probe = (report: SmokeReport, method: string, path: string, name?: RegExp): ProbeResult => {
  const found = report.probes.find((p) => p.method === method && (p.path === path || (path === "/people/{id}" && p.path.startsWith("/people/"))) && (!name || name.test(p.name)));
  if (!found) throw new Error(`no probe ${method} ${path} in ${report.probes.map((p) => `${p.method} ${p.path}`).join(", ")}`);
  return found;
};

describe("smoke runner", () => {
  let server: ProbeServer;
  beforeEach(async () => {
    server = await startProbeServer({ allowedOrigin: ORIGIN });
  });
  afterEach(async () => {
    await server.close();
  });

  describe("against a healthy API", () => {
    it("passes every read-only probe and skips CORS without an origin", async () => {
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      expect(report.mode).to.equal("read-only");
      expect(report.passed).to.equal(true);
      expect(report.totals).to.deep.equal({ passed: 5, failed: 0, skipped: 1, critical_failed: 0 });
      const cors = probe(report, "OPTIONS", "/people");
      expect(cors).to.include({ status: "skipped", critical: false, attempts: 0, actual: null });
      expect(probe(report, "GET", "/health")).to.include({ actual: 200, attempts: 1, passed: true, critical: true });
      expect(probe(report, "GET", "/people")).to.include({ actual: 401, passed: true });
      expect(probe(report, "POST", "/people")).to.include({ actual: 403, passed: true });
      expect(server.people.size, "read-only mode must not create anything").to.equal(0);
      for (const p of report.probes) expect(p).to.have.all.keys(p.error === undefined ? ["name", "method", "path", "expected", "actual", "attempts", "duration_ms", "critical", "passed", "status"] : ["name", "method", "path", "expected", "actual", "attempts", "duration_ms", "critical", "passed", "status", "error"]);
    });

    it("checks the CORS preflight against the given origin, and fails it for an origin the API does not allow", async () => {
      const ok = await runSmokeTests({ baseUrl: server.url, origin: ORIGIN, ...FAST });
      expect(probe(ok, "OPTIONS", "/people")).to.include({ status: "passed", critical: true, actual: 204 });
      const bad = await runSmokeTests({ baseUrl: server.url, origin: "https://evil.example.test", ...FAST });
      const cors = probe(bad, "OPTIONS", "/people");
      expect(cors.status).to.equal("failed");
      expect(cors.error).to.match(/Access-Control-Allow-Origin is null, expected "https:\/\/evil\.example\.test"/);
      expect(bad.passed).to.equal(false);
    });

    it("runs create → read → update → delete in write mode, leaves nothing behind and never reports the password", async () => {
      const report = await runSmokeTests({ baseUrl: server.url, write: true, credentials: ADMIN, ...FAST });
      expect(report.mode).to.equal("write");
      expect(report.passed, JSON.stringify(report.probes.filter((p) => !p.passed))).to.equal(true);
      const names = report.probes.filter((p) => p.name.startsWith("write:")).map((p) => p.name);
      expect(names).to.deep.equal([
        "write: admin login",
        "write: CSRF token",
        "write: create test person",
        "write: read test person",
        "write: update test person",
        "write: delete test person",
        "write: deleted person is gone",
        "write: admin logout",
      ]);
      expect(server.people.size).to.equal(0);
      expect(server.sessions.size, "the smoke session is logged out").to.equal(0);
      expect(JSON.stringify(report)).not.to.include(ADMIN.password);
      expect(smokeReportJUnit(report)).not.to.include(ADMIN.password);
    });

    it("refuses write mode without credentials before sending anything", async () => {
      let error: unknown;
      try {
        await runSmokeTests({ baseUrl: server.url, write: true, ...FAST });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(SmokeConfigError);
      expect(server.hits.size).to.equal(0);
    });
  });

  describe("against a broken API", () => {
    it("retries a 500 a bounded number of times and reports the last status", async () => {
      server.fault("GET /health", { kind: "status", status: 500 });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      const health = probe(report, "GET", "/health");
      expect(health).to.include({ passed: false, actual: 500, attempts: 3, critical: true });
      expect(health.error).to.match(/^expected 200, got 500: broken on purpose \(after 3 attempts\)$/);
      expect(server.hits.get("GET /health")).to.equal(3);
      expect(report.passed).to.equal(false);
      expect(report.totals.critical_failed).to.equal(1);
    });

    it("passes once a warming-up stage stops answering 503", async () => {
      server.fault("GET /health", { kind: "status", status: 503, times: 2 });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      expect(probe(report, "GET", "/health")).to.include({ passed: true, attempts: 3, actual: 200 });
      expect(report.passed).to.equal(true);
    });

    it("does not retry a wrong 4xx or a wrong body", async () => {
      server.fault("GET /people", { kind: "status", status: 403, body: { error: "Forbidden" } });
      server.fault("GET /health", { kind: "body", body: { status: "degraded", checks: { database: "ok" } } });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      const people = probe(report, "GET", "/people");
      expect(people).to.include({ attempts: 1, actual: 403, passed: false });
      expect(people.error).to.equal("expected 401, got 403: Forbidden");
      const health = probe(report, "GET", "/health");
      expect(health).to.include({ attempts: 1, actual: 200, passed: false });
      expect(health.error).to.equal('body status is "degraded", expected "healthy"');
    });

    it("fails health when the database check is not ok", async () => {
      server.fault("GET /health", { kind: "body", body: { status: "healthy", checks: { database: "error" } } });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      expect(probe(report, "GET", "/health").error).to.equal('checks.database is "error", expected "ok"');
    });

    it("flags an open data route (200 instead of 401) as a critical failure", async () => {
      server.fault("GET /people", { kind: "body", body: { people: [] } });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      expect(probe(report, "GET", "/people")).to.include({ passed: false, critical: true, error: "expected 401, got 200" });
      expect(report.passed).to.equal(false);
    });

    it("flags a POST /people that accepts an invalid body as a critical failure, without retrying it", async () => {
      server.fault("POST /people", { kind: "status", status: 201, body: { id: "x" } });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      expect(probe(report, "POST", "/people")).to.include({ passed: false, critical: true, attempts: 1, actual: 201, error: "expected 400 or 403 or 429, got 201" });
      expect(server.hits.get("POST /people")).to.equal(1);
    });

    it("a failing non-critical probe does not fail the run", async () => {
      server.fault("GET /smoke-unknown-*", { kind: "status", status: 200 });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      const unknown = report.probes.find((p) => p.path.startsWith("/smoke-unknown-"));
      expect(unknown).to.include({ passed: false, critical: false, actual: 200 });
      expect(report.passed).to.equal(true);
      expect(report.totals).to.include({ failed: 1, critical_failed: 0 });
    });

    it("times out a slow answer per request and retries only idempotent probes", async () => {
      server.fault("GET /health", { kind: "slow", delayMs: 5000 });
      server.fault("POST /people", { kind: "slow", delayMs: 5000 });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST, retries: 1, timeoutS: 0.3 });
      const health = probe(report, "GET", "/health");
      expect(health).to.include({ attempts: 2, actual: null, passed: false });
      expect(health.error).to.equal("no response within 0.3 s (after 2 attempts)");
      const post = probe(report, "POST", "/people");
      expect(post, "a POST that may have arrived is never repeated").to.include({ attempts: 1, actual: null, passed: false });
      expect(post.error).to.equal("no response within 0.3 s");
    });

    it("reports a connection closed mid-request, retrying GET but not POST", async () => {
      server.fault("GET /auth/me", { kind: "hangup" });
      server.fault("POST /people", { kind: "hangup" });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      const me = probe(report, "GET", "/auth/me");
      expect(me).to.include({ attempts: 3, actual: null });
      expect(me.error).to.match(/^connection closed by the server|other side closed/);
      expect(probe(report, "POST", "/people")).to.include({ attempts: 1, actual: null, passed: false });
    });

    it("honours Retry-After on 429 but caps the wait, so the run stays bounded", async () => {
      server.fault("GET /auth/me", { kind: "status", status: 429, headers: { "retry-after": "3600" }, body: { error: "Too many requests" } });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      expect(probe(report, "GET", "/auth/me")).to.include({ attempts: 3, actual: 429, passed: false });
    });

    it("reports every probe against a port that refuses connections, spending the warm-up retries once", async () => {
      const port = await refusingPort();
      const report = await runSmokeTests({ baseUrl: `http://127.0.0.1:${port}`, ...FAST });
      expect(report.passed).to.equal(false);
      const [first, ...rest] = report.probes.filter((p) => p.status !== "skipped");
      expect(first).to.include({ path: "/health", attempts: 3, actual: null, passed: false, error: "connection refused (ECONNREFUSED) (after 3 attempts)" });
      // Once the target never answered through every retry, each later probe is tried once: the run stays short.
      expect(rest).to.have.length(4);
      for (const p of rest) expect(p).to.include({ attempts: 1, actual: null, passed: false, error: "connection refused (ECONNREFUSED)" });
    });

    it("keeps retrying later probes when the target did answer", async () => {
      server.fault("GET /health", { kind: "status", status: 502 });
      server.fault("GET /people", { kind: "status", status: 503, times: 1 });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST });
      expect(probe(report, "GET", "/health")).to.include({ attempts: 3, actual: 502 });
      expect(probe(report, "GET", "/people")).to.include({ attempts: 2, actual: 401, passed: true });
    });

    it("stops at once when aborted", async () => {
      server.fault("GET /health", { kind: "slow", delayMs: 5000 });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error("stop")), 100);
      let error: unknown;
      try {
        await runSmokeTests({ baseUrl: server.url, ...FAST, signal: controller.signal });
      } catch (err) {
        error = err;
      }
      expect((error as Error)?.message).to.equal("stop");
      expect(server.hits.get("GET /health")).to.equal(1);
    });
  });

  describe("write mode when a step fails", () => {
    it("always deletes the test person, even when the delete step itself fails", async () => {
      server.fault("DELETE /people/:id", { kind: "status", status: 500, times: 3 });
      const report = await runSmokeTests({ baseUrl: server.url, write: true, credentials: ADMIN, ...FAST });
      expect(probe(report, "DELETE", "/people/{id}", /delete test person/)).to.include({ passed: false, attempts: 3, actual: 500 });
      expect(probe(report, "DELETE", "/people/{id}", /cleanup/)).to.include({ passed: true, actual: 204 });
      expect(server.people.size).to.equal(0);
      expect(report.passed).to.equal(false);
    });

    it("still deletes the person when the update fails, and reports a failed cleanup", async () => {
      server.fault("PUT /people/:id", { kind: "status", status: 409, body: { error: "Version mismatch" } });
      const ok = await runSmokeTests({ baseUrl: server.url, write: true, credentials: ADMIN, ...FAST });
      expect(probe(ok, "PUT", "/people/{id}")).to.include({ passed: false, error: "expected 200, got 409: Version mismatch" });
      expect(server.people.size).to.equal(0);

      server.fault("DELETE /people/:id", { kind: "status", status: 500 });
      const leaked = await runSmokeTests({ baseUrl: server.url, write: true, credentials: ADMIN, ...FAST });
      const cleanup = probe(leaked, "DELETE", "/people/{id}", /cleanup/);
      expect(cleanup).to.include({ passed: false, critical: true, actual: 500 });
      expect(server.people.size, "the leftover is the one the report names").to.equal(1);
      expect(cleanup.path).to.equal(`/people/${[...server.people.keys()][0]}`);
    });

    it("skips the cycle with a reason when the login fails", async () => {
      const report = await runSmokeTests({ baseUrl: server.url, write: true, credentials: { email: ADMIN.email, password: "wrong" }, ...FAST });
      const login = probe(report, "POST", "/auth/login");
      expect(login).to.include({ passed: false, attempts: 1, actual: 401 });
      const skipped = report.probes.filter((p) => p.status === "skipped" && p.name.startsWith("write:"));
      expect(skipped.map((p) => p.error)).to.deep.equal(Array(6).fill("admin login failed"));
      expect(report.passed).to.equal(false);
    });
  });

  describe("urls and reports", () => {
    it("joins URLs with exactly one slash and keeps the stage path", () => {
      expect(joinUrl("https://x.execute-api.eu-west-1.amazonaws.com/prod/", "/health")).to.equal("https://x.execute-api.eu-west-1.amazonaws.com/prod/health");
      expect(joinUrl("http://127.0.0.1:3000", "health")).to.equal("http://127.0.0.1:3000/health");
      expect(joinUrl("http://h//", "//people")).to.equal("http://h/people");
      expect(normaliseBaseUrl("https://h.example/prod//")).to.equal("https://h.example/prod");
      expect(() => normaliseBaseUrl("ftp://h")).to.throw(SmokeConfigError);
      expect(() => normaliseBaseUrl("https://user:pw@h")).to.throw(/credentials/);
      expect(() => normaliseBaseUrl("not a url")).to.throw(/not a valid URL/);
    });

    it("sends probes below a stage path", async () => {
      const report = await runSmokeTests({ baseUrl: `${server.url}/prod/`, ...FAST, retries: 0 });
      // The probe server has no /prod prefix, so health answers 404: proof the prefix was sent once, not dropped or doubled.
      expect(probe(report, "GET", "/health")).to.include({ actual: 404 });
      expect(server.hits.get("GET /prod/health")).to.equal(1);
    });

    it("writes JUnit XML that parses, with failures and skips counted and text escaped", async () => {
      server.fault("GET /health", { kind: "status", status: 500, body: { error: "<boom> & \"quotes\"" } });
      const report = await runSmokeTests({ baseUrl: server.url, ...FAST, retries: 0 });
      const xml = smokeReportJUnit(report);
      const parsed = execFileSync(
        "python3",
        ["-c", "import sys,xml.etree.ElementTree as E; r=E.parse(sys.stdin).getroot(); s=r.find('testsuite'); print(s.get('tests'), s.get('failures'), s.get('skipped'), r.find('.//failure').get('message'))"],
        { input: xml },
      )
        .toString()
        .trim();
      expect(parsed).to.equal('6 1 1 expected 200, got 500: <boom> & "quotes"');
    });
  });
});
