// `ci`: the one entry point for CI systems. The execution mode comes from the CI environment
// (GitHub Actions or CodeCatalyst; see automation/context.ts) and picks the command:
// pull request → `preview --comment` (a comment on GitHub only); push/manual on main → `deploy`;
// anything else → `preview`. Flags meant for the chosen command are passed through.
import { type CommandContext, type CommandOutcome, type CommandSpec, type OptionSpec, type OptionValues, stringOption } from "../command";
import { currentBranch, type ExecutionContext, resolveExecution } from "../context";
import { defaultStack } from "./coordinate";
import { command as deployCommand } from "./deploy";
import { command as previewCommand } from "./preview";

export interface CiRoute {
  command: "preview" | "deploy";
  /** Upsert the PR comment (preview of a GitHub pull request). */
  comment: boolean;
  why: string;
}

/** The routing table, on top of the execution mode. */
export function routeCi(execution: ExecutionContext, opts: { prGiven?: boolean } = {}): CiRoute {
  if (execution.execution_mode === "deployment") return { command: "deploy", comment: false, why: `${execution.trigger_type} on ${execution.branch}: deployment` };
  if (execution.trigger_type === "pull_request") {
    // The comment goes through the GitHub API: on GitHub, or when --pr names the pull request.
    const comment = execution.source === "github" || opts.prGiven === true;
    return { command: "preview", comment, why: `pull request${execution.branch ? ` from ${execution.branch}` : ""}: validation${comment ? " with a PR comment" : ""}` };
  }
  return { command: "preview", comment: false, why: `${execution.trigger_type} on ${execution.branch || "(no branch)"}: validation` };
}

/** `ci`'s own flags (override what the environment says, like `detect`). */
const OWN_OPTIONS: OptionSpec = {
  mode: { type: "string" },
  trigger: { type: "string" },
  branch: { type: "string" },
  explain: { type: "boolean", default: false },
};

const TARGETS = { preview: previewCommand, deploy: deployCommand } as const;

/** Every flag of preview and deploy, so one workflow line can carry what either needs. */
const PASS_THROUGH: OptionSpec = { ...previewCommand.options, ...deployCommand.options };
delete PASS_THROUGH.comment; // decided by the route

export async function runCi(values: OptionValues, ctx: CommandContext, targets: Record<CiRoute["command"], Pick<CommandSpec, "options" | "run">> = TARGETS): Promise<CommandOutcome> {
  const execution = resolveExecution(
    { mode: stringOption(values, "mode"), trigger: stringOption(values, "trigger"), branch: stringOption(values, "branch") },
    ctx.env,
    await currentBranch(ctx.repoRoot),
  );
  const route = routeCi(execution, { prGiven: stringOption(values, "pr") !== undefined });
  const stack = stringOption(values, "stack") ?? defaultStack(ctx.env);
  ctx.log.info(`ci: ${execution.source} ${execution.trigger_type} on ${execution.branch || "(no branch)"} → ${route.command}${route.comment ? " --comment" : ""} --stack ${stack}`);

  const target = targets[route.command];
  const forwarded: OptionValues = { stack };
  const ignored: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (name in OWN_OPTIONS || name === "stack" || value === undefined || value === false) continue;
    if (name in target.options) forwarded[name] = value;
    else if (name in PASS_THROUGH) ignored.push(`--${name}`);
  }
  if (route.command === "preview") forwarded.comment = route.comment;
  if (ignored.length) ctx.log.warn(`ignored for ${route.command}: ${ignored.join(", ")}`);

  const decision = { execution, route, stack, forwarded, ignored };
  if (values.explain === true) {
    return { exitCode: 0, result: decision, summary: `${route.command}${route.comment ? " --comment" : ""} --stack ${stack} (${route.why})` };
  }
  const outcome = await target.run(forwarded, ctx);
  return { ...outcome, result: { ci: decision, [route.command]: outcome.result } };
}

export const command: CommandSpec = {
  name: "ci",
  summary: "The entry point for CI: pull request → preview with a PR comment; push/manual on main → deploy; otherwise preview",
  usage:
    "[--stack NAME] [--mode deployment|validation] [--trigger T] [--branch B] [--explain] [preview/deploy flags: --markdown FILE --policy-pack DIR --allow-destructive --skip-smoke --write-smoke --invalidate --handler H --repo O/R --pr N --smoke-timeout-s N]",
  options: { ...PASS_THROUGH, ...OWN_OPTIONS },
  run: (values, ctx) => runCi(values, ctx),
};
