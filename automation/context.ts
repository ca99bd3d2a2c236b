// The execution mode (deploy or validate) and the deployment context: computed in one place from
// flags or the CI environment — never from a committed file — plus the one sync-detection rule.
import { simpleGit } from "simple-git";
import { UsageError } from "./command";
import { detectSync, type HandlerKind, type HandlerPreference, HandlerSelectionError, selectHandler, type SyncState } from "./shared/select";

export type ExecutionMode = "deployment" | "validation";
export const MAIN_BRANCH = "main";

export interface ExecutionContext {
  execution_mode: ExecutionMode;
  /** Normalised: push | pull_request | manual | schedule | … */
  trigger_type: string;
  branch: string;
  is_main_branch: boolean;
  /** Where the facts came from. */
  source: "flags" | "github" | "codecatalyst" | "local";
}

export interface ExecutionFlags {
  mode?: string;
  trigger?: string;
  branch?: string;
}

const TRIGGER_ALIASES: Record<string, string> = {
  pr: "pull_request",
  pullrequest: "pull_request",
  pull_request_target: "pull_request",
  workflow_dispatch: "manual",
  repository_dispatch: "manual",
  dispatch: "manual",
};

export function normalizeTrigger(raw: string): string {
  const t = raw.trim().toLowerCase().replace(/[\s-]+/g, "_");
  if (!/^[a-z_]+$/.test(t)) throw new UsageError(`trigger must be a word like push, pull_request or manual (got "${raw}")`);
  return TRIGGER_ALIASES[t] ?? t;
}

function normalizeMode(raw: string): ExecutionMode {
  const m = raw.trim().toLowerCase();
  if (m === "deployment" || m === "deploy") return "deployment";
  if (m === "validation" || m === "validate") return "validation";
  throw new UsageError(`--mode must be deployment or validation (got "${raw}")`);
}

function normalizeBranch(raw: string): string {
  return raw.trim().replace(/^refs\/heads\//, "");
}

/** The decision table: pull request → validation; push or manual on main → deployment; else validation. */
export function decideMode(trigger: string, branch: string): ExecutionMode {
  if (trigger === "pull_request") return "validation";
  if ((trigger === "push" || trigger === "manual") && branch === MAIN_BRANCH) return "deployment";
  return "validation";
}

/**
 * Flags win (each one independently); otherwise GitHub Actions, then CodeCatalyst, then a local run
 * (a manual run on `localBranch`, the current git branch — see currentBranch()). `--mode` overrides
 * the table; without it the table decides.
 */
export function resolveExecution(flags: ExecutionFlags, env: NodeJS.ProcessEnv, localBranch?: string | null): ExecutionContext {
  let source: ExecutionContext["source"];
  let trigger: string;
  let branch: string;
  if (env.GITHUB_ACTIONS === "true" || env.GITHUB_EVENT_NAME) {
    source = "github";
    trigger = normalizeTrigger(env.GITHUB_EVENT_NAME ?? "manual");
    // For pull requests GITHUB_REF_NAME is "<n>/merge"; the branch is the PR's head.
    branch = normalizeBranch((trigger === "pull_request" ? env.GITHUB_HEAD_REF : undefined) || env.GITHUB_REF_NAME || "");
  } else if (env.CODECATALYST_TRIGGER_TYPE || env.CODECATALYST_SOURCE_BRANCH_NAME) {
    source = "codecatalyst";
    trigger = normalizeTrigger(env.CODECATALYST_TRIGGER_TYPE ?? "manual");
    branch = normalizeBranch(env.CODECATALYST_SOURCE_BRANCH_NAME ?? "");
  } else {
    source = "local";
    trigger = "manual";
    branch = normalizeBranch(localBranch ?? "");
  }
  if (flags.trigger !== undefined || flags.branch !== undefined || flags.mode !== undefined) source = "flags";
  if (flags.trigger !== undefined) trigger = normalizeTrigger(flags.trigger);
  if (flags.branch !== undefined) branch = normalizeBranch(flags.branch);
  const execution_mode = flags.mode !== undefined ? normalizeMode(flags.mode) : decideMode(trigger, branch);
  return { execution_mode, trigger_type: trigger, branch, is_main_branch: branch === MAIN_BRANCH, source };
}

/** The checked-out branch of a repository, or null (detached HEAD, not a repository). */
export async function currentBranch(repoRoot: string): Promise<string | null> {
  try {
    const name = (await simpleGit({ baseDir: repoRoot }).raw(["symbolic-ref", "--quiet", "--short", "HEAD"])).trim();
    return name || null;
  } catch {
    return null;
  }
}

/** HEAD's full SHA, or null outside a repository (or before the first commit). */
export async function headCommit(repoRoot: string): Promise<string | null> {
  try {
    const sha = (await simpleGit({ baseDir: repoRoot }).revparse(["--verify", "HEAD"])).trim();
    return /^[0-9a-f]{40,64}$/.test(sha) ? sha : null;
  } catch {
    return null;
  }
}

/** `deployment-context.json`: the old fields, plus the handler, why, and the sync's source. */
export interface DeploymentContext {
  deployment_type: "api_sync" | "infrastructure_only";
  timestamp: string;
  branch: string;
  /** The project's commit (a full SHA); "unknown" outside a git checkout without CI variables. */
  commit: string;
  api_sync_detected: boolean;
  execution_mode: ExecutionMode;
  trigger_type: string;
  is_main_branch: boolean;
  skip_deployment: boolean;
  skip_testing: boolean;
  /** The handler this repository state deploys; null when none can be selected (reason says why). */
  handler: HandlerKind | null;
  reason: string;
  sync_source: string | null;
  sync_commit: string | null;
  /** Synced files changed since the sync: "src/app.py (modified)", "(missing)", "(added)". */
  sync_problems: string[];
}

export function syncProblems(sync: SyncState): string[] {
  return [
    ...sync.modifiedFiles.map((f) => `${f} (modified)`),
    ...sync.missingFiles.map((f) => `${f} (missing)`),
    ...sync.addedFiles.map((f) => `${f} (added)`),
  ];
}

export async function buildDeploymentContext(opts: {
  repoRoot: string;
  preference?: HandlerPreference;
  flags?: ExecutionFlags;
  env?: NodeJS.ProcessEnv;
  now?: Date;
}): Promise<DeploymentContext> {
  const env = opts.env ?? process.env;
  const [branch, head] = await Promise.all([currentBranch(opts.repoRoot), headCommit(opts.repoRoot)]);
  const exec = resolveExecution(opts.flags ?? {}, env, branch);
  const sync = detectSync(opts.repoRoot);
  let handler: HandlerKind | null;
  let reason: string;
  try {
    const selection = selectHandler({ repoRoot: opts.repoRoot, preference: opts.preference ?? "auto" });
    handler = selection.kind;
    reason = selection.reason;
  } catch (err) {
    if (!(err instanceof HandlerSelectionError)) throw err;
    handler = null;
    reason = err.message;
  }
  const validation = exec.execution_mode === "validation";
  return {
    deployment_type: sync.synced ? "api_sync" : "infrastructure_only",
    timestamp: (opts.now ?? new Date()).toISOString(),
    branch: exec.branch,
    commit: head ?? env.GITHUB_SHA ?? env.CODECATALYST_SOURCE_COMMIT_ID ?? "unknown",
    api_sync_detected: sync.synced,
    execution_mode: exec.execution_mode,
    trigger_type: exec.trigger_type,
    is_main_branch: exec.is_main_branch,
    // Nothing is deployed in validation, nor when no handler can be selected (fail closed).
    skip_deployment: validation || handler === null,
    skip_testing: validation || handler === null,
    handler,
    reason,
    sync_source: sync.metadata?.source_repository ?? null,
    sync_commit: sync.metadata?.source_commit ?? null,
    sync_problems: syncProblems(sync),
  };
}
