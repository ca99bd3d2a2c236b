// `coordinate [--api-source URL|PATH] [--api-ref REF] [--trigger FILE|s3://bucket/key] [--stack NAME]`:
// the coordinated deployment of the API code and the infrastructure (see automation/coordinate/coordinate.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { type CommandContext, type CommandSpec, intOption, type OptionValues, stringOption, UsageError, stackRun } from "../command";
import { COORDINATION_REPORTS, type CoordinationSteps, type DeployStepOutcome, runCoordination } from "../coordinate/coordinate";
import { type EngineStack, lastDeployedCommit, openStack } from "../engine/pulumi";
import { HANDLER_PREFERENCES, type HandlerPreference } from "../shared/select";
import { syncRepository } from "../sync/sync";
import { triggerStore } from "../coordinate/trigger";
import { type DeployRunResult, runDeploy } from "./deploy";

/** The stack when --stack is not given: PULUMI_STACK, else prod (Pulumi.prod.yaml). */
export function defaultStack(env: NodeJS.ProcessEnv): string {
  return env.PULUMI_STACK?.trim() || "prod";
}

/** How a deploy run maps onto coordination's deploy step (smoke = the old IntegrationTests). */
export function deployOutcome(result: DeployRunResult): DeployStepOutcome {
  const totals = result.smoke.totals;
  return {
    successful: result.status === "succeeded",
    stack_status: result.status,
    deployed_commit: result.deployed ? result.commit : null,
    smoke: {
      status: result.smoke.status,
      ...(totals ? { total: totals.passed + totals.failed + totals.skipped, failed: totals.failed } : {}),
      ...(result.smoke.reason ? { reason: result.smoke.reason } : {}),
      report: result.reports.test_json ?? null,
    },
    ...(result.error ? { error: result.error } : {}),
    reports: result.reports,
  };
}

/** The real steps: the stack tag for the baseline, `sync`, and `deploy` (one stack opened once). */
function realSteps(values: OptionValues, ctx: CommandContext, stackName: string): CoordinationSteps {
  let opened: Promise<EngineStack> | undefined;
  const stack = () => (opened ??= openStack({ repoRoot: ctx.repoRoot, stackName, env: ctx.env, log: ctx.log }));
  const packs = values["policy-pack"];
  const policyPacks = Array.isArray(packs) ? packs.map((p) => path.resolve(String(p))) : undefined;
  for (const dir of policyPacks ?? []) if (!fs.existsSync(dir)) throw new UsageError(`--policy-pack ${dir} does not exist`);
  const handler = (stringOption(values, "handler") ?? "auto") as HandlerPreference;
  if (!HANDLER_PREFERENCES.includes(handler)) throw new UsageError(`--handler must be one of ${HANDLER_PREFERENCES.join(", ")}`);
  return {
    lastDeployedCommit: async () => lastDeployedCommit(await stack()),
    async sync(input) {
      const summary = await syncRepository({
        repoRoot: ctx.repoRoot,
        source: input.source,
        ref: input.ref,
        reportsDir: input.reportsDir,
        deploymentStrategy: input.strategy,
        coordinated: true,
        log: ctx.log,
        signal: ctx.signal,
        env: ctx.env,
      });
      return { commit: summary.commit };
    },
    async deploy() {
      try {
        return deployOutcome(
          await runDeploy({
            ...stackRun(ctx, stackName),
            stack: await stack(),
            allowDestructive: values["allow-destructive"] === true,
            skipSmoke: values["skip-smoke"] === true,
            smokeTimeoutS: intOption(values, "smoke-timeout-s", 10, 1, 300),
            handler,
            policyPacks,
          }),
        );
      } catch (err) {
        const partial = (err as { deployResult?: DeployRunResult }).deployResult;
        if (partial) return deployOutcome(partial);
        throw err;
      }
    },
  };
}

export const command: CommandSpec = {
  name: "coordinate",
  summary: "Coordinated deployment: an API trigger and/or infrastructure changes since the last deployment decide whether to sync the API code and deploy",
  usage:
    "[--api-source URL|PATH] [--api-ref REF] [--trigger FILE|s3://bucket/key] [--stack NAME] [--allow-destructive] [--skip-smoke] [--handler auto|integrated|enhanced] [--policy-pack DIR]... [--smoke-timeout-s N]",
  options: {
    "api-source": { type: "string" },
    "api-ref": { type: "string" },
    trigger: { type: "string" },
    stack: { type: "string" },
    "allow-destructive": { type: "boolean", default: false },
    "skip-smoke": { type: "boolean", default: false },
    handler: { type: "string" },
    "policy-pack": { type: "string", multiple: true },
    "smoke-timeout-s": { type: "string" },
  },
  async run(values, ctx) {
    const stackName = stringOption(values, "stack") ?? defaultStack(ctx.env);
    const triggerValue = stringOption(values, "trigger");
    const { plan, result } = await runCoordination({
      repoRoot: ctx.repoRoot,
      reportsDir: ctx.reportsDir,
      stack: stackName,
      apiSource: stringOption(values, "api-source"),
      apiRef: stringOption(values, "api-ref"),
      trigger: triggerValue ? triggerStore(triggerValue) : undefined,
      steps: realSteps(values, ctx, stackName),
      log: ctx.log,
      signal: ctx.signal,
    });
    const lines = [
      `coordination of ${stackName}: ${result.deployment_successful ? "SUCCEEDED" : "FAILED"} — strategy ${plan.strategy} (${plan.reason})`,
      `sync: ${result.steps.sync.status} (${result.steps.sync.detail}); deploy: ${result.steps.deploy.status} (${result.steps.deploy.detail})`,
      `trigger: ${result.trigger.detail}`,
      ...(result.error ? [`error: ${result.error}`] : []),
      `reports: ${Object.values(COORDINATION_REPORTS).join(", ")} in ${ctx.reportsDir}`,
    ];
    return { exitCode: result.deployment_successful ? 0 : 1, result: { plan, result }, summary: lines.join("\n") };
  },
};
