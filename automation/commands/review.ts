// `review up|down|gc`: one running copy of the stack per pull request.
//   up   --pr N   create or update stack `pr-N` (stack-named tables, nothing protected, its own generated
//                secrets), deploy it with the full smoke suite (write cycle as a seeded admin), and upsert
//                the PR comment with the URL, the smoke result and the change diff;
//   down --pr N   destroy stack `pr-N` and remove it (`stack rm`); never touches a stack not named `pr-*`;
//   gc            list review stacks idle longer than --max-age-days (and destroy them with --yes).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { parse as parseYaml } from "yaml";
import { BCRYPT_COST_DEFAULT } from "../../handlers/contract";
import { CommandFailure, type CommandSpec, errorLine, existingDirsOption, intOption, type OptionValues, type StackRunOptions, stringOption, UsageError, writeReport } from "../command";
import { resolvePullRequest, type UpsertResult, upsertPullRequestComment } from "../engine/github";
import { seedAdmin } from "../local/target";
import {
  CONFIG_NAMESPACE,
  type ConfigMap,
  destroyStack,
  type EngineStack,
  type EngineWorkspace,
  openStack,
  openWorkspace,
  PROJECT_NAME,
  type RetryPolicy,
  SECRET_ENV,
  StackMissingError,
  stringOutput,
  versionsLine,
} from "../engine/pulumi";
import { type DeployRunOptions, type DeployRunResult, runDeploy } from "./deploy";
import { failureOutcome } from "./preview";

export const REVIEW_REPORTS = { up: "review-result.json", down: "review-down.json", gc: "review-gc.json" } as const;

/** Review stacks and only them: `pr-<number>` (optionally `org/` or `org/project/` in front). */
const REVIEW_STACK = /^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*\/){0,2}pr-[1-9]\d{0,9}$/;

export function reviewStackName(pr: string): string {
  if (!/^[1-9]\d{0,9}$/.test(pr)) throw new UsageError(`--pr must be a pull request number (got "${pr}")`);
  return `pr-${pr}`;
}

/** Refuses any stack that is not a review stack: review commands destroy what they touch. */
export function assertReviewStack(name: string): void {
  if (!REVIEW_STACK.test(name)) throw new CommandFailure(`refusing to touch stack "${name}": review commands only act on stacks named pr-<number>`, 2);
}

/** The PR comment's hidden first line. */
export function reviewMarker(stack: string): string {
  return `<!-- people-register-review:${PROJECT_NAME}/${stack} -->`;
}

/** What a review stack never inherits: it owns its tables and secrets, protects nothing, and leaves account-level settings to prod. */
export const REVIEW_OVERRIDES: Readonly<Record<string, string>> = {
  tableNaming: "stack",
  protect: "false",
  adoptExistingTables: "false",
  apiGatewayLogsRole: "false",
  logRetentionDays: "7",
};
/** Settings copied from the base stack's file (plain values only; never its secrets or its URLs). */
export const REVIEW_INHERITED = ["aws:region", `${CONFIG_NAMESPACE}:sesFromEmail`, `${CONFIG_NAMESPACE}:handler`, `${CONFIG_NAMESPACE}:integratedPackaging`, `${CONFIG_NAMESPACE}:stageName`];

/** The review stack's config: inherited plain settings of `Pulumi.<base>.yaml`, then the review overrides. */
export function reviewConfig(repoRoot: string, baseStack: string): ConfigMap {
  const config: ConfigMap = {};
  const file = path.join(repoRoot, `Pulumi.${baseStack}.yaml`);
  if (fs.existsSync(file)) {
    const values = ((parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {}) as Record<string, unknown>;
    for (const key of REVIEW_INHERITED) {
      const value = values[key];
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") config[key] = { value: String(value) };
    }
  }
  for (const [key, value] of Object.entries(REVIEW_OVERRIDES)) config[`${CONFIG_NAMESPACE}:${key}`] = { value };
  return config;
}

/** Secrets the stack does not have yet, generated here and stored only as secret stack config. */
async function generatedSecrets(stack: EngineStack): Promise<ConfigMap> {
  const config: ConfigMap = {};
  for (const key of Object.values(SECRET_ENV)) {
    const full = `${CONFIG_NAMESPACE}:${key}`;
    if (!(await stack.getConfigValue(full))) config[full] = { value: randomBytes(48).toString("base64"), secret: true };
  }
  return config;
}

/** What every review action takes: a stack run's options; the action picks or lists the stack itself. */
interface ReviewBase extends Omit<StackRunOptions, "stackName"> {
  retry?: RetryPolicy;
  progress?: (text: string) => void;
}

export interface ReviewUpOptions extends ReviewBase {
  pr: string;
  repo?: string;
  /** Stack whose plain settings (region, sender address…) the review stack copies; default prod. */
  baseStack?: string;
  policyPacks?: string[];
  /** Seams: the stack, the admin seeding, the deploy's detect/prepare. */
  stack?: EngineStack;
  admin?: { email: string; password: string };
  seed?: (peopleTable: string, admin: { email: string; password: string }) => Promise<void>;
  deploy?: Pick<DeployRunOptions, "detect" | "prepare" | "smokeRetries" | "smokeTimeoutS">;
}

export interface ReviewUpResult {
  stack: string;
  status: DeployRunResult["status"];
  api_url: string | null;
  frontend_url: string | null;
  smoke: DeployRunResult["smoke"];
  live_versions: DeployRunResult["live_versions"];
  error?: string;
  comment?: UpsertResult;
  comment_skipped?: string;
}

export async function runReviewUp(opts: ReviewUpOptions): Promise<ReviewUpResult> {
  const stackName = reviewStackName(opts.pr);
  const pr = opts.env.GITHUB_TOKEN ? resolvePullRequest({ repo: opts.repo, pr: opts.pr }, opts.env) : undefined;
  const stack = opts.stack ?? (await opts.log.step(`select stack ${stackName}`, () => openStack({ repoRoot: opts.repoRoot, stackName, env: opts.env, log: opts.log })));
  assertReviewStack(stack.name);
  const config = { ...reviewConfig(opts.repoRoot, opts.baseStack ?? "prod"), ...(await generatedSecrets(stack)) };
  await stack.setAllConfig(config);
  opts.log.info(`review config set: ${Object.keys(config).join(", ")}`);

  // The write cycle signs in as an admin that exists only in this stack's table, for this run.
  const admin = opts.admin ?? { email: `review-admin@example.invalid`, password: `Aa1!${randomBytes(24).toString("base64url")}` };
  const seed = opts.seed ?? ((table: string, who: { email: string; password: string }) => seedReviewAdmin(table, who, opts.env));
  // The review stack keeps its own secrets: the CI's (prod) secrets are not passed on.
  const env: NodeJS.ProcessEnv = { ...opts.env, SMOKE_ADMIN_EMAIL: admin.email, SMOKE_ADMIN_PASSWORD: admin.password };
  for (const name of Object.keys(SECRET_ENV)) delete env[name];

  let deployed: DeployRunResult | undefined;
  let failure: unknown;
  try {
    deployed = await runDeploy({
      repoRoot: opts.repoRoot,
      reportsDir: opts.reportsDir,
      stackName,
      env,
      log: opts.log,
      signal: opts.signal,
      stack,
      writeSmoke: true,
      beforeSmoke: async (outputs) => {
        const table = (outputs.tableNames as Record<string, string> | undefined)?.PeopleTable;
        if (!table) throw new CommandFailure("the review stack has no tableNames.PeopleTable output: cannot seed the smoke admin");
        await opts.log.step(`seed the smoke admin in ${table}`, () => seed(table, admin));
      },
      policyPacks: opts.policyPacks,
      retry: opts.retry,
      progress: opts.progress,
      ...opts.deploy,
    });
  } catch (err) {
    if (opts.signal.aborted) throw err;
    failure = err;
    deployed = (err as { deployResult?: DeployRunResult }).deployResult;
  }

  const result: ReviewUpResult = {
    stack: stackName,
    status: deployed?.status ?? "failed",
    api_url: deployed ? stringOutput(deployed.outputs, "apiUrl") ?? null : null,
    frontend_url: deployed ? stringOutput(deployed.outputs, "frontendUrl") ?? null : null,
    smoke: deployed?.smoke ?? { status: "skipped", reason: "the deployment did not complete" },
    live_versions: deployed?.live_versions ?? null,
    ...(deployed?.error || failure ? { error: deployed?.error ?? errorLine(failure) } : {}),
  };
  const changes = deployed?.reports.changes && fs.existsSync(deployed.reports.changes) ? fs.readFileSync(deployed.reports.changes, "utf8") : undefined;
  const body = renderReviewComment(result, changes);
  writeReport(opts.reportsDir, "review-comment.md", body);
  if (pr) {
    result.comment = await opts.log.step(`comment on ${pr.repo}#${pr.number}`, () =>
      upsertPullRequestComment({ token: opts.env.GITHUB_TOKEN!, pr, marker: reviewMarker(stackName), body, apiUrl: opts.env.GITHUB_API_URL, signal: opts.signal }),
    );
  } else {
    result.comment_skipped = "GITHUB_TOKEN is not set";
  }
  writeReport(opts.reportsDir, REVIEW_REPORTS.up, result);
  if (failure) throw Object.assign(failure as Error, { reviewResult: result });
  return result;
}

const REVIEW_DIFF_CAP = 55_000;

/** The PR comment: where the review stack runs, whether its smoke tests passed, and what the update changed. */
export function renderReviewComment(result: ReviewUpResult, changes?: string): string {
  const icon = result.status === "succeeded" ? "✅" : "⛔";
  const smoke = result.smoke.totals ? `${result.smoke.status} (${result.smoke.totals.passed} passed, ${result.smoke.totals.failed} failed)` : result.smoke.status;
  const lines = [
    reviewMarker(result.stack),
    `### ${icon} Review stack \`${result.stack}\`: ${result.status}`,
    "",
    `- API: ${result.api_url ?? "not deployed"}`,
    ...(result.frontend_url ? [`- Frontend: ${result.frontend_url}`] : []),
    `- Smoke tests (write cycle included): ${smoke}`,
    `- Live versions: ${versionsLine(result.live_versions)}`,
    ...(result.error ? ["", `> ⛔ ${result.error}`] : []),
    "",
    "The stack is destroyed when the pull request closes.",
  ];
  if (changes) {
    // GitHub refuses comments over 65,536 characters; the full diff stays in the reports.
    const diff = changes.replace(/^<!--[^\n]*-->\n/, "");
    const shown = diff.length > REVIEW_DIFF_CAP ? `${diff.slice(0, REVIEW_DIFF_CAP)}\n\n… (cut; the whole diff is in deployment-changes.md)` : diff;
    lines.push("", "<details><summary>What the update changed</summary>", "", shown, "</details>");
  }
  return `${lines.join("\n")}\n`;
}

/** Seed the admin into a review stack's real people table (credentials from the AWS environment). */
async function seedReviewAdmin(table: string, admin: { email: string; password: string }, env: NodeJS.ProcessEnv): Promise<void> {
  const client = new DynamoDBClient({ region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION });
  try {
    await seedAdmin(client, table, admin, BCRYPT_COST_DEFAULT);
  } finally {
    client.destroy();
  }
}

export interface ReviewDownOptions extends ReviewBase {
  stackName: string;
  stack?: EngineStack | null;
  workspace?: EngineWorkspace;
}

export interface ReviewDownResult {
  stack: string;
  status: "removed" | "absent";
  destroyed?: Record<string, number>;
}

export async function runReviewDown(opts: ReviewDownOptions): Promise<ReviewDownResult> {
  assertReviewStack(opts.stackName);
  let stack: EngineStack | null;
  try {
    stack = opts.stack !== undefined ? opts.stack : await openStack({ repoRoot: opts.repoRoot, stackName: opts.stackName, env: opts.env, log: opts.log, create: false });
  } catch (err) {
    if (!(err instanceof StackMissingError)) throw err;
    stack = null;
  }
  if (!stack) {
    const absent: ReviewDownResult = { stack: opts.stackName, status: "absent" };
    writeReport(opts.reportsDir, REVIEW_REPORTS.down, absent);
    return absent;
  }
  assertReviewStack(stack.name);
  const destroyed = await opts.log.step(`destroy ${stack.name}`, () => destroyStack(stack!, { signal: opts.signal, log: opts.log, ci: Boolean(opts.env.CI), progress: opts.progress, ...opts.retry }));
  const ws = opts.workspace ?? (await openWorkspace({ repoRoot: opts.repoRoot, env: opts.env, log: opts.log }));
  await opts.log.step(`remove ${stack.name}`, () => ws.removeStack(stack!.name));
  const result: ReviewDownResult = { stack: stack.name, status: "removed", destroyed: destroyed.changeSummary as Record<string, number> };
  writeReport(opts.reportsDir, REVIEW_REPORTS.down, result);
  return result;
}

export interface ReviewGcOptions extends ReviewBase {
  maxAgeDays: number;
  /** Destroy and remove the idle stacks (without it they are only listed). */
  yes: boolean;
  workspace?: EngineWorkspace;
  /** Opens a listed stack (default: the real engine). */
  open?: (name: string) => Promise<EngineStack>;
  now?: () => Date;
}

export interface ReviewGcEntry {
  stack: string;
  last_update: string | null;
  idle_days: number | null;
  action: "kept" | "listed" | "removed" | "failed";
  reason: string;
}

export async function runReviewGc(opts: ReviewGcOptions): Promise<{ max_age_days: number; stacks: ReviewGcEntry[]; failed: number }> {
  const now = (opts.now ?? (() => new Date()))();
  const ws = opts.workspace ?? (await openWorkspace({ repoRoot: opts.repoRoot, env: opts.env, log: opts.log }));
  const entries: ReviewGcEntry[] = [];
  for (const listing of await ws.listStacks()) {
    if (!REVIEW_STACK.test(listing.name)) continue;
    const updated = listing.lastUpdate ? new Date(listing.lastUpdate) : undefined;
    const idleDays = updated && !Number.isNaN(updated.getTime()) ? Math.floor((now.getTime() - updated.getTime()) / 86_400_000) : null;
    const entry: ReviewGcEntry = { stack: listing.name, last_update: updated ? updated.toISOString() : null, idle_days: idleDays, action: "kept", reason: "" };
    entries.push(entry);
    if (listing.updateInProgress) {
      entry.reason = "an update is in progress";
      continue;
    }
    if (idleDays !== null && idleDays < opts.maxAgeDays) {
      entry.reason = `updated ${idleDays} day(s) ago`;
      continue;
    }
    entry.reason = idleDays === null ? "never updated" : `idle for ${idleDays} day(s)`;
    if (!opts.yes) {
      entry.action = "listed";
      continue;
    }
    try {
      const stack = await (opts.open ?? ((name: string) => openStack({ repoRoot: opts.repoRoot, stackName: name, env: opts.env, log: opts.log, create: false })))(listing.name);
      await runReviewDown({ ...opts, reportsDir: path.join(opts.reportsDir, "review-gc"), stackName: listing.name, stack, workspace: ws });
      entry.action = "removed";
    } catch (err) {
      if (opts.signal.aborted) throw err;
      entry.action = "failed";
      entry.reason += `; ${errorLine(err)}`;
      opts.log.warn(`${listing.name}: ${entry.reason}`);
    }
  }
  const result = { max_age_days: opts.maxAgeDays, stacks: entries, failed: entries.filter((e) => e.action === "failed").length };
  writeReport(opts.reportsDir, REVIEW_REPORTS.gc, result);
  return result;
}

function reviewTarget(values: OptionValues): string {
  const pr = stringOption(values, "pr");
  const stack = stringOption(values, "stack");
  if (pr && stack) throw new UsageError("give --pr or --stack, not both");
  if (!pr && !stack) throw new UsageError("--pr is required");
  return stack ?? reviewStackName(pr!);
}

export const command: CommandSpec = {
  name: "review",
  summary: "Review stacks per pull request: up (deploy pr-N, smoke, PR comment), down (destroy and remove pr-N), gc (idle review stacks)",
  usage:
    "up --pr N [--repo OWNER/NAME] [--base-stack prod] [--policy-pack DIR]... | down --pr N (or --stack pr-N) | gc [--max-age-days N] [--yes]   (comment: GITHUB_TOKEN)",
  actions: ["up", "down", "gc"],
  options: {
    pr: { type: "string" },
    stack: { type: "string" },
    repo: { type: "string" },
    "base-stack": { type: "string" },
    "policy-pack": { type: "string", multiple: true },
    "max-age-days": { type: "string" },
    yes: { type: "boolean", default: false },
  },
  async run(values, ctx) {
    const base = { repoRoot: ctx.repoRoot, reportsDir: ctx.reportsDir, env: ctx.env, log: ctx.log, signal: ctx.signal };
    try {
      if (values.action === "up") {
        const pr = stringOption(values, "pr", true);
        const result = await runReviewUp({ ...base, pr, repo: stringOption(values, "repo"), baseStack: stringOption(values, "base-stack"), policyPacks: existingDirsOption(values, "policy-pack") });
        const summary = [`review ${result.stack}: ${result.status.toUpperCase()} at ${result.api_url ?? "(no URL)"}`, `smoke: ${result.smoke.status}; comment: ${result.comment?.action ?? result.comment_skipped}`].join("\n");
        return { exitCode: result.status === "succeeded" ? 0 : 1, result, summary };
      }
      if (values.action === "down") {
        const result = await runReviewDown({ ...base, stackName: reviewTarget(values) });
        return { exitCode: 0, result, summary: result.status === "removed" ? `review ${result.stack}: destroyed and removed` : `review ${result.stack}: no such stack, nothing to remove` };
      }
      const result = await runReviewGc({ ...base, maxAgeDays: intOption(values, "max-age-days", 7, 1, 365), yes: values.yes === true });
      const lines = result.stacks.map((s) => `  ${s.action.padEnd(7)} ${s.stack} (${s.reason})`);
      return { exitCode: result.failed ? 1 : 0, result, summary: [`review stacks idle for ${result.max_age_days}+ days${values.yes ? "" : " (listed only; --yes destroys them)"}:`, ...lines].join("\n") };
    } catch (err) {
      return failureOutcome(err, ctx.log, (err as { reviewResult?: ReviewUpResult }).reviewResult ?? { error: errorLine(err) });
    }
  },
};
