// `detect`: the one sync-detection rule and the execution mode → deployment-context.json.
import { type CommandSpec, stringOption, UsageError, writeReport } from "../command";
import { buildDeploymentContext, type DeploymentContext } from "../context";
import { REPORT_FILES } from "../verify/reports";
import { HANDLER_PREFERENCES, type HandlerPreference } from "../shared/select";

export function handlerOption(values: Record<string, unknown>): HandlerPreference {
  const raw = stringOption(values as never, "handler") ?? "auto";
  if (!HANDLER_PREFERENCES.includes(raw as HandlerPreference)) throw new UsageError(`--handler must be one of ${HANDLER_PREFERENCES.join(", ")} (got "${raw}")`);
  return raw as HandlerPreference;
}

export function contextSummary(c: DeploymentContext): string {
  return [
    `${c.deployment_type} · ${c.execution_mode} (${c.trigger_type} on ${c.branch || "no branch"}) · commit ${c.commit.slice(0, 12)}`,
    `handler: ${c.handler ?? "none"} — ${c.reason}`,
    c.sync_source ? `synced from ${c.sync_source}@${(c.sync_commit ?? "").slice(0, 12)}` : "",
    c.skip_deployment ? "deployment and smoke tests will be skipped" : "",
  ].filter(Boolean).join("\n");
}

export const command: CommandSpec = {
  name: "detect",
  summary: `Detect synced API code and the execution mode; writes ${REPORT_FILES.context} (exit 1 when synced code was modified)`,
  usage: "[--mode deployment|validation] [--trigger push|pull_request|manual|…] [--branch NAME] [--handler auto|integrated|enhanced]",
  options: {
    mode: { type: "string" },
    trigger: { type: "string" },
    branch: { type: "string" },
    handler: { type: "string" },
  },
  async run(values, ctx) {
    const context = await ctx.log.step("detect sync state and execution mode", () =>
      buildDeploymentContext({
        repoRoot: ctx.repoRoot,
        preference: handlerOption(values),
        flags: { mode: stringOption(values, "mode"), trigger: stringOption(values, "trigger"), branch: stringOption(values, "branch") },
        env: ctx.env,
      }),
    );
    const file = writeReport(ctx.reportsDir, REPORT_FILES.context, context);
    const problem = context.sync_problems.length
      ? `synced code was modified after sync: ${context.sync_problems.join(", ")}`
      : context.handler === null ? `no handler can be selected: ${context.reason}` : undefined;
    // A failure still prints the context (stdout with --json) after one error line on stderr.
    if (problem) ctx.log.error(`${problem} (report: ${file})`);
    return { exitCode: problem ? 1 : 0, result: context, summary: `${contextSummary(context)}\nreport: ${file}` };
  },
};
