// The deployment notification: its status is computed from the deployment summary and the smoke
// test report, never assumed. Missing, unreadable, stale or mismatched reports give "unknown", a
// failed deployment or a failed critical probe gives "failure"; only a verified run is "success".
// Rendered as Markdown and JSON; optionally POSTed to a webhook (URL from the environment).
import * as fs from "node:fs";
import * as path from "node:path";
import { Agent } from "undici";
import { type Logger, silentLogger, writeReport } from "../command";
import { type DeploymentSummary, REPORT_FILES } from "./reports";
import type { SmokeReport } from "./smoke";

export type NotificationStatus = "success" | "failure" | "unknown";

export interface Notification {
  status: NotificationStatus;
  /** One line a human reads first. */
  title: string;
  /** Why the status is what it is. */
  reasons: string[];
  timestamp: string;
  deployment: {
    successful: boolean;
    type: string;
    execution_mode: string;
    trigger_type: string;
    branch: string;
    handler_used: string;
    handler_note: string | null;
    stack: string;
    target: string;
    stack_status: string;
    duration_s: number;
    api_url: string | null;
    frontend_url: string | null;
  } | null;
  tests: {
    mode: string;
    base_url: string;
    passed: number;
    failed: number;
    skipped: number;
    critical_failed: number;
    failures: { name: string; method: string; path: string; critical: boolean; error: string }[];
  } | null;
}

/** A report file as read from disk: its parsed content, or why it could not be used. */
export type Loaded<T> = { ok: true; value: T } | { ok: false; problem: string };

export function loadJsonReport<T>(file: string): Loaded<T> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, problem: code === "ENOENT" ? `${file} not found` : `${file} unreadable (${code})` };
  }
  try {
    return { ok: true, value: JSON.parse(text) as T };
  } catch {
    return { ok: false, problem: `${file} is not valid JSON` };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function summaryProblem(s: unknown): string | undefined {
  if (!isObject(s)) return "deployment summary is not an object";
  if (typeof s.deployment_successful !== "boolean") return "deployment summary has no deployment_successful flag";
  if (typeof s.stack_status !== "string") return "deployment summary has no stack_status";
  return undefined;
}

function testReportProblem(t: unknown): string | undefined {
  if (!isObject(t)) return "test report is not an object";
  if (typeof t.passed !== "boolean" || !Array.isArray(t.probes) || !isObject(t.totals)) return "test report lacks passed/totals/probes";
  if (t.probes.length === 0) return "test report has no probes";
  return undefined;
}

/** Compute the notification from what the reports say. Missing input never reads as success. */
export function buildNotification(input: { summary: Loaded<DeploymentSummary> | null; testReport: Loaded<SmokeReport> | null; now?: Date }): Notification {
  const reasons: string[] = [];
  const now = input.now ?? new Date();
  let status: NotificationStatus = "success";
  const downgrade = (to: NotificationStatus, reason: string) => {
    reasons.push(reason);
    if (to === "failure" || status === "success") status = to;
  };

  let summary: DeploymentSummary | undefined;
  if (!input.summary) downgrade("unknown", "no deployment summary was given");
  else if (!input.summary.ok) downgrade("unknown", input.summary.problem);
  else {
    const problem = summaryProblem(input.summary.value);
    if (problem) downgrade("unknown", problem);
    else summary = input.summary.value;
  }

  const validationOnly = summary?.stack_status === "skipped";
  if (summary) {
    if (!summary.deployment_successful && !validationOnly) downgrade("failure", `deployment failed (stack status ${summary.stack_status})${summary.error ? `: ${summary.error}` : ""}`);
    else if (validationOnly) reasons.push(`nothing was deployed (${summary.execution_mode} mode)`);
    else reasons.push(`deployed to ${summary.deployment_metadata?.stack ?? "?"} in ${summary.deployment_duration} s`);
  }

  let report: SmokeReport | undefined;
  if (!input.testReport || (!input.testReport.ok && validationOnly)) {
    if (!validationOnly) downgrade("unknown", "no smoke test report: the deployment is unverified");
  } else if (!input.testReport.ok) downgrade("unknown", `${input.testReport.problem}: the deployment is unverified`);
  else {
    const problem = testReportProblem(input.testReport.value);
    if (problem) downgrade("unknown", problem);
    else report = input.testReport.value;
  }

  if (report) {
    const apiUrl = summary?.outputs?.api_url;
    const start = summary?.deployment_metadata?.start;
    if (apiUrl && report.base_url.replace(/\/+$/, "") !== apiUrl.replace(/\/+$/, "")) {
      downgrade("unknown", `the test report is for ${report.base_url}, not the deployed ${apiUrl}`);
    } else if (start && Date.parse(report.started_at) < Date.parse(start)) {
      downgrade("unknown", "the test report is older than the deployment (stale report)");
    } else if (!report.passed) {
      const critical = report.probes.filter((p) => p.critical && p.status !== "passed");
      downgrade("failure", `${report.totals.critical_failed || critical.length} critical smoke probe(s) failed: ${critical.map((p) => `${p.method} ${p.path}`).join(", ")}`);
    } else {
      reasons.push(`smoke tests passed (${report.totals.passed} passed, ${report.totals.failed} non-critical failed, ${report.totals.skipped} skipped)`);
    }
  }

  const title =
    status === "success"
      ? validationOnly
        ? "Validation completed"
        : "Deployment succeeded and passed its smoke tests"
      : status === "failure"
        ? "Deployment FAILED"
        : "Deployment status UNKNOWN";

  return {
    status,
    title,
    reasons,
    timestamp: now.toISOString(),
    deployment: summary
      ? {
          successful: summary.deployment_successful,
          type: summary.deployment_type,
          execution_mode: summary.execution_mode,
          trigger_type: summary.trigger_type,
          branch: summary.branch_name,
          handler_used: summary.handler_used,
          handler_note: summary.handler_note ?? null,
          stack: summary.deployment_metadata?.stack ?? "",
          target: summary.deployment_metadata?.target ?? "",
          stack_status: summary.stack_status,
          duration_s: summary.deployment_duration,
          api_url: summary.outputs?.api_url ?? null,
          frontend_url: summary.outputs?.frontend_url ?? null,
        }
      : null,
    tests: report
      ? {
          mode: report.mode,
          base_url: report.base_url,
          passed: report.totals.passed,
          failed: report.totals.failed,
          skipped: report.totals.skipped ?? 0,
          critical_failed: report.totals.critical_failed,
          failures: report.probes
            .filter((p) => p.status === "failed")
            .map((p) => ({ name: p.name, method: p.method, path: p.path, critical: p.critical, error: p.error ?? "failed" })),
        }
      : null,
  };
}

const ICON: Record<NotificationStatus, string> = { success: "✅", failure: "❌", unknown: "⚠️" };

/** Markdown cells: no pipes or newlines from report text can break the table. */
const cell = (v: unknown) => String(v ?? "—").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

export function notificationMarkdown(n: Notification): string {
  const lines = [`## ${ICON[n.status]} ${n.title}`, "", `**Status:** \`${n.status}\``, ""];
  for (const r of n.reasons) lines.push(`- ${r}`);
  if (n.deployment) {
    const d = n.deployment;
    lines.push("", "| | |", "|---|---|");
    const rows: [string, unknown][] = [
      ["Stack", `${d.stack} (${d.target})`],
      ["Stack status", d.stack_status],
      ["Mode / trigger", `${d.execution_mode} / ${d.trigger_type}`],
      ["Branch", d.branch],
      ["Deployment type", d.type],
      ["Handler", d.handler_note ? `${d.handler_used} (${d.handler_note})` : d.handler_used],
      ["Duration", `${d.duration_s} s`],
      ["API", d.api_url],
      ["Frontend", d.frontend_url],
    ];
    for (const [k, v] of rows) lines.push(`| ${k} | ${cell(v)} |`);
  }
  if (n.tests) {
    const t = n.tests;
    lines.push("", `### Smoke tests (${t.mode})`, "", `${t.passed} passed, ${t.failed} failed (${t.critical_failed} critical), ${t.skipped} skipped`);
    if (t.failures.length) {
      lines.push("", "| Probe | Critical | Error |", "|---|---|---|");
      for (const f of t.failures) lines.push(`| ${cell(`${f.method} ${f.path}`)} | ${f.critical ? "yes" : "no"} | ${cell(f.error)} |`);
    }
  }
  lines.push("", `_${n.timestamp}_`, "");
  return lines.join("\n");
}

/** Enough of a webhook URL to recognise it, never its path or query (they often carry a token). */
export function redactUrl(raw: string): string {
  try {
    return `${new URL(raw).origin}/…`;
  } catch {
    return "(invalid URL)";
  }
}

export interface WebhookResult {
  delivered: boolean;
  /** The redacted target. */
  target: string;
  status?: number;
  error?: string;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** POST the notification JSON to a webhook. Failures are returned (and logged), never thrown: a notifier must not break the run. */
export async function postNotification(url: string, notification: Notification, opts: { timeoutMs?: number; log?: Logger; signal?: AbortSignal } = {}): Promise<WebhookResult> {
  const log = opts.log ?? silentLogger;
  const target = redactUrl(url);
  const fail = (error: string): WebhookResult => {
    log.warn(`notification webhook ${target}: ${error}`);
    return { delivered: false, target, error };
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail("NOTIFY_WEBHOOK_URL is not a valid URL");
  }
  // Plain http only to this machine: a notification may describe a deployment and must not travel in clear.
  if (parsed.protocol !== "https:" && !(parsed.protocol === "http:" && LOOPBACK.has(parsed.hostname))) return fail("webhook URL must be https");
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const agent = new Agent({ connect: { timeout: timeoutMs } });
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await agent.request({
      origin: parsed.origin,
      path: `${parsed.pathname}${parsed.search}`,
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "people-register-notify/1" },
      body: JSON.stringify(notification),
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) return { ...fail(`answered ${res.statusCode}`), status: res.statusCode };
    log.info(`notification posted to ${target} (${res.statusCode})`);
    return { delivered: true, target, status: res.statusCode };
  } catch (err) {
    if (timeout.aborted) return fail(`no answer within ${timeoutMs / 1000} s`);
    const e = err as { code?: string; cause?: { code?: string }; message?: string };
    return fail(e.cause?.code ?? e.code ?? e.message ?? "request failed");
  } finally {
    await agent.close().catch(() => undefined);
  }
}

export interface NotifyOutcome {
  notification: Notification;
  files: { markdown: string; json: string };
  webhook: WebhookResult | null;
}

/** Build, write and (when NOTIFY_WEBHOOK_URL is set) post the notification. Shared by `notify`, `local` and `deploy`. */
export async function writeNotification(opts: {
  reportsDir: string;
  summaryFile?: string;
  testReportFile?: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  signal?: AbortSignal;
}): Promise<NotifyOutcome> {
  const summaryFile = opts.summaryFile ?? path.join(opts.reportsDir, REPORT_FILES.summary);
  const testReportFile = opts.testReportFile ?? path.join(opts.reportsDir, REPORT_FILES.testJson);
  const notification = buildNotification({
    summary: loadJsonReport<DeploymentSummary>(summaryFile),
    testReport: loadJsonReport<SmokeReport>(testReportFile),
  });
  const files = {
    markdown: writeReport(opts.reportsDir, REPORT_FILES.notificationMd, notificationMarkdown(notification)),
    json: writeReport(opts.reportsDir, REPORT_FILES.notificationJson, notification),
  };
  const url = opts.env.NOTIFY_WEBHOOK_URL;
  const webhook = url ? await postNotification(url, notification, { log: opts.log, signal: opts.signal }) : null;
  return { notification, files, webhook };
}
