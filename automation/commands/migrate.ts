// `migrate --old-stack CFN_STACK [--stack NAME] [--region REGION] [--dry-run]`: move the CDK stack's tables
// into the Pulumi stack with backups, an import update, an index update and item-count checks.
import { type CommandSpec, errorLine, stringOption, UsageError } from "../command";
import { createClients, MIGRATE_REPORT, type MigrationResult, renderPlan, runMigration } from "../engine/migrate";
import { openStack } from "../engine/pulumi";
import { failureOutcome } from "./preview";

const CFN_STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

export const command: CommandSpec = {
  name: "migrate",
  summary: "Move the old CDK stack's tables into the Pulumi stack safely (plan, backups, import, indexes, counts); --dry-run prints the plan",
  usage: "--old-stack CFN_STACK [--stack NAME] [--region REGION] [--dry-run]   (AWS credentials from the environment)",
  options: {
    "old-stack": { type: "string" },
    stack: { type: "string" },
    region: { type: "string" },
    "dry-run": { type: "boolean", default: false },
  },
  async run(values, ctx) {
    const oldStack = stringOption(values, "old-stack", true);
    if (!CFN_STACK_NAME.test(oldStack)) throw new UsageError(`--old-stack "${oldStack}" is not a CloudFormation stack name`);
    const dryRun = values["dry-run"] === true;
    const stackName = stringOption(values, "stack");
    if (!dryRun && !stackName) throw new UsageError("--stack is required unless --dry-run");
    const region = stringOption(values, "region") ?? ctx.env.AWS_REGION ?? ctx.env.AWS_DEFAULT_REGION;
    if (region !== undefined && !REGION.test(region)) throw new UsageError(`--region "${region}" is not an AWS region`);
    try {
      const stack = dryRun ? undefined : await ctx.log.step(`select stack ${stackName}`, () => openStack({ repoRoot: ctx.repoRoot, stackName: stackName!, env: ctx.env, log: ctx.log }));
      const result = await runMigration({ oldStack, clients: createClients(region), stack, region, dryRun, reportsDir: ctx.reportsDir, log: ctx.log, signal: ctx.signal });
      return { exitCode: result.plan.ready ? 0 : 1, result, summary: summarize(result) };
    } catch (err) {
      return failureOutcome(err, ctx.log, { error: errorLine(err), report: MIGRATE_REPORT });
    }
  },
};

function summarize(result: MigrationResult): string {
  const lines = [renderPlan(result.plan)];
  if (!result.dryRun && result.plan.ready) {
    lines.push("", `backups: ${result.backups.map((b) => b.backupArn).join(", ")}`);
    lines.push(`import update: ${result.updates.import}, index update: ${result.updates.indexes}; item counts kept`);
    lines.push(result.oldStackSafeToDelete
      ? "The old stack holds nothing that its deletion would destroy: step 6 of the runbook may delete it."
      : "The old stack still holds resources its deletion would destroy: do NOT delete it yet.");
  }
  lines.push(`report: ${result.report}`);
  return lines.join("\n");
}
