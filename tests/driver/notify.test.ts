// Notification status logic (never success by default), its Markdown/JSON, the webhook POST (real
// HTTP on 127.0.0.1, failures not fatal, URL never printed in full) and the `notify` command.
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { createLogger, type CommandContext } from "../../automation/command";
import { command as notifyCommand } from "../../automation/commands/notify";
import { buildNotification, type Loaded, notificationMarkdown, postNotification, redactUrl } from "../../automation/verify/notify";
import { buildDeploymentSummary, type DeploymentSummary } from "../../automation/verify/reports";
import type { SmokeReport } from "../../automation/verify/smoke";
import { refusingPort } from "../e2e/support/probe-server";

const START = new Date("2026-01-02T10:00:00.000Z");
const END = new Date("2026-01-02T10:03:30.000Z");
const API = "https://abc.execute-api.eu-west-1.amazonaws.com/prod";

function summary(over: Partial<Parameters<typeof buildDeploymentSummary>[0]> = {}): DeploymentSummary {
  return buildDeploymentSummary({
    context: { deployment_type: "infrastructure_only", api_sync_detected: false, execution_mode: "deployment", trigger_type: "push", branch: "main" },
    successful: true,
    stackStatus: "succeeded",
    startedAt: START,
    finishedAt: END,
    outputs: { apiUrl: `${API}/`, frontendUrl: "https://d1.cloudfront.net", bucket: "frontend-bucket" },
    handlerUsed: "enhanced",
    stack: "prod",
    region: "eu-west-1",
    pulumiVersion: "3.248.0",
    target: "aws",
    ...over,
  });
}

function testReport(over: Partial<SmokeReport> = {}): SmokeReport {
  return {
    base_url: API,
    started_at: "2026-01-02T10:03:31.000Z",
    finished_at: "2026-01-02T10:03:33.000Z",
    duration_ms: 2000,
    mode: "read-only",
    passed: true,
    totals: { passed: 2, failed: 0, skipped: 0, critical_failed: 0 },
    probes: [
      { name: "health", method: "GET", path: "/health", expected: [200], actual: 200, attempts: 1, duration_ms: 20, critical: true, passed: true, status: "passed" },
      { name: "auth wall", method: "GET", path: "/people", expected: [401], actual: 401, attempts: 1, duration_ms: 20, critical: true, passed: true, status: "passed" },
    ],
    ...over,
  };
}

const ok = <T>(value: T): Loaded<T> => ({ ok: true, value });
const failedReport = () =>
  testReport({
    passed: false,
    totals: { passed: 1, failed: 1, skipped: 0, critical_failed: 1 },
    probes: [
      testReport().probes[0],
      { name: "auth wall", method: "GET", path: "/people", expected: [401], actual: 200, attempts: 1, duration_ms: 20, critical: true, passed: false, status: "failed", error: "expected 401, got 200 | leaked" },
    ],
  });

describe("notification status", () => {
  it("is unknown when there is nothing to go on", () => {
    const n = buildNotification({ summary: null, testReport: null });
    expect(n.status).to.equal("unknown");
    expect(n.deployment).to.equal(null);
  });

  it("is success only for a successful deployment with a passing, matching, fresh test report", () => {
    const n = buildNotification({ summary: ok(summary()), testReport: ok(testReport()) });
    expect(n.status).to.equal("success");
    expect(n.title).to.equal("Deployment succeeded and passed its smoke tests");
    expect(n.deployment).to.include({ api_url: API, stack: "prod", handler_used: "enhanced" });
  });

  it("is unknown when the deployment succeeded but the test report is missing or unreadable", () => {
    expect(buildNotification({ summary: ok(summary()), testReport: null }).status).to.equal("unknown");
    const missing = buildNotification({ summary: ok(summary()), testReport: { ok: false, problem: "reports/test-report.json not found" } });
    expect(missing.status).to.equal("unknown");
    expect(missing.reasons.join(" ")).to.include("test-report.json not found: the deployment is unverified");
    const malformed = buildNotification({ summary: ok(summary()), testReport: ok({ passed: "yes" } as unknown as SmokeReport) });
    expect(malformed.status).to.equal("unknown");
  });

  it("is failure when a critical probe failed, naming it", () => {
    const n = buildNotification({ summary: ok(summary()), testReport: ok(failedReport()) });
    expect(n.status).to.equal("failure");
    expect(n.reasons.join(" ")).to.include("1 critical smoke probe(s) failed: GET /people");
    expect(n.tests?.failures).to.have.length(1);
  });

  it("is failure when the deployment failed, whatever the tests say", () => {
    const failed = summary({ successful: false, stackStatus: "failed", error: "update failed: AccessDenied\nstack trace" });
    expect(failed.deployment_successful).to.equal(false);
    for (const report of [ok(testReport()), null]) {
      const n = buildNotification({ summary: ok(failed), testReport: report });
      expect(n.status).to.equal("failure");
      expect(n.reasons[0]).to.equal("deployment failed (stack status failed): update failed: AccessDenied");
    }
  });

  it("is unknown for a stale test report or one made against another URL", () => {
    const stale = buildNotification({ summary: ok(summary()), testReport: ok(testReport({ started_at: "2026-01-02T09:00:00.000Z" })) });
    expect(stale.status).to.equal("unknown");
    expect(stale.reasons.join(" ")).to.include("stale");
    const other = buildNotification({ summary: ok(summary()), testReport: ok(testReport({ base_url: "http://127.0.0.1:3000" })) });
    expect(other.status).to.equal("unknown");
    expect(other.reasons.join(" ")).to.include("not the deployed");
  });

  it("does not need tests when nothing was deployed (validation)", () => {
    const validation = summary({ successful: false, stackStatus: "skipped", context: { deployment_type: "infrastructure_only", api_sync_detected: false, execution_mode: "validation", trigger_type: "pull_request", branch: "feature" } });
    const n = buildNotification({ summary: ok(validation), testReport: { ok: false, problem: "not found" } });
    expect(n.status).to.equal("success");
    expect(n.title).to.equal("Validation completed");
  });

  it("renders Markdown whose tables survive pipes and newlines in report text", () => {
    const md = notificationMarkdown(buildNotification({ summary: ok(summary()), testReport: ok(failedReport()) }));
    expect(md).to.match(/^## ❌ Deployment FAILED/);
    expect(md).to.include("**Status:** `failure`");
    expect(md).to.include("| GET /people | yes | expected 401, got 200 \\| leaked |");
    expect(md).to.include(`| API | ${API} |`);
  });
});

describe("notification webhook", () => {
  let server: http.Server;
  let url: string;
  let received: { path?: string; body: string; contentType?: string }[];
  let answer: number;
  let hang: boolean;
  beforeEach(async () => {
    received = [];
    answer = 200;
    hang = false;
    server = http.createServer(async (req, res) => {
      let body = "";
      for await (const c of req) body += c;
      received.push({ path: req.url, body, contentType: req.headers["content-type"] });
      if (hang) return;
      res.writeHead(answer);
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/T0KEN-SECRET?key=abc`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const notification = () => buildNotification({ summary: ok(summary()), testReport: ok(testReport()) });

  it("POSTs the notification JSON", async () => {
    const result = await postNotification(url, notification());
    expect(result).to.include({ delivered: true, status: 200 });
    expect(received).to.have.length(1);
    expect(received[0].path).to.equal("/hooks/T0KEN-SECRET?key=abc");
    expect(received[0].contentType).to.equal("application/json");
    expect(JSON.parse(received[0].body)).to.include({ status: "success" });
  });

  it("reports a failing webhook without throwing and without printing its secret path", async () => {
    answer = 500;
    const lines: string[] = [];
    const log = createLogger({ write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream);
    const result = await postNotification(url, notification(), { log });
    expect(result).to.include({ delivered: false, status: 500, error: "answered 500" });
    expect(result.target).to.match(/^http:\/\/127\.0\.0\.1:\d+\/…$/);
    expect(lines.join("")).to.include("answered 500");
    expect(lines.join("") + JSON.stringify(result)).not.to.include("T0KEN");
  });

  it("gives up on a webhook that never answers, and on one that refuses", async () => {
    hang = true;
    const slow = await postNotification(url, notification(), { timeoutMs: 200 });
    expect(slow).to.include({ delivered: false, error: "no answer within 0.2 s" });
    const refused = await postNotification(`http://127.0.0.1:${await refusingPort()}/x`, notification());
    expect(refused).to.include({ delivered: false, error: "ECONNREFUSED" });
  });

  it("refuses plain http to another host", async () => {
    const result = await postNotification("http://hooks.example.test/T0KEN", notification());
    expect(result).to.include({ delivered: false, error: "webhook URL must be https" });
    expect(redactUrl("https://hooks.slack.com/services/T0/B0/SECRET")).to.equal("https://hooks.slack.com/…");
  });
});

describe("notify command", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "notify-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const ctx = (env: NodeJS.ProcessEnv = {}): CommandContext => ({
    json: true,
    reportsDir: dir,
    repoRoot: dir,
    log: createLogger({ write: () => true } as unknown as NodeJS.WritableStream),
    signal: new AbortController().signal,
    env,
  });

  it("writes the Markdown and JSON and exits 0 only on success", async () => {
    fs.writeFileSync(path.join(dir, "deployment-summary.json"), JSON.stringify(summary()));
    const missing = await notifyCommand.run({}, ctx());
    expect(missing.exitCode).to.equal(1);
    expect(JSON.parse(fs.readFileSync(path.join(dir, "deployment-notification.json"), "utf8")).status).to.equal("unknown");

    fs.writeFileSync(path.join(dir, "test-report.json"), JSON.stringify(testReport()));
    const good = await notifyCommand.run({}, ctx());
    expect(good.exitCode).to.equal(0);
    expect(fs.readFileSync(path.join(dir, "deployment-notification.md"), "utf8")).to.match(/^## ✅/);
  });

  it("reads explicit report paths, and survives a broken webhook", async () => {
    const other = path.join(dir, "elsewhere");
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, "s.json"), JSON.stringify(summary()));
    fs.writeFileSync(path.join(other, "t.json"), "{not json");
    const port = await refusingPort();
    const outcome = await notifyCommand.run({ summary: path.join(other, "s.json"), "test-report": path.join(other, "t.json") }, ctx({ NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${port}/secret` }));
    const result = outcome.result as { status: string; reasons: string[]; webhook: { delivered: boolean } };
    expect(result.status).to.equal("unknown");
    expect(result.reasons.join(" ")).to.include("t.json is not valid JSON");
    expect(result.webhook.delivered).to.equal(false);
    expect(outcome.exitCode).to.equal(1);
  });
});
