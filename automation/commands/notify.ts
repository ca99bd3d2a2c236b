// `notify [--summary FILE] [--test-report FILE]`: the deployment notification from the reports,
// as deployment-notification.md and .json; POSTed to NOTIFY_WEBHOOK_URL when that is set.
// Exit code 0 only when the computed status is "success".
import * as path from "node:path";
import { type CommandSpec, stringOption } from "../command";
import { writeNotification } from "../verify/notify";

export const command: CommandSpec = {
  name: "notify",
  summary: "Compute the deployment status from the reports; write deployment-notification.md/.json; POST to NOTIFY_WEBHOOK_URL if set",
  usage: "[--summary FILE] [--test-report FILE]   (defaults: <reports-dir>/deployment-summary.json, <reports-dir>/test-report.json)",
  options: {
    summary: { type: "string" },
    "test-report": { type: "string" },
  },
  async run(values, ctx) {
    const summaryFile = stringOption(values, "summary");
    const testReportFile = stringOption(values, "test-report");
    const outcome = await writeNotification({
      reportsDir: ctx.reportsDir,
      summaryFile: summaryFile && path.resolve(summaryFile),
      testReportFile: testReportFile && path.resolve(testReportFile),
      env: ctx.env,
      log: ctx.log,
      signal: ctx.signal,
    });
    const n = outcome.notification;
    const lines = [`${n.status.toUpperCase()}: ${n.title}`, ...n.reasons.map((r) => `  - ${r}`), `reports: ${outcome.files.markdown}, ${outcome.files.json}`];
    if (outcome.webhook) lines.push(`webhook ${outcome.webhook.target}: ${outcome.webhook.delivered ? "delivered" : `not delivered (${outcome.webhook.error})`}`);
    return { exitCode: n.status === "success" ? 0 : 1, result: { ...n, files: outcome.files, webhook: outcome.webhook }, summary: lines.join("\n") };
  },
};
