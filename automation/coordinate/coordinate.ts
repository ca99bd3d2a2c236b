// Coordinated deployment: decide from an API trigger and from infrastructure changes since the last
// successful deployment which steps run (sync the API code, deploy), run them, consume the trigger
// on success and write the four coordination reports (names kept from the old workflow).
import * as fs from "node:fs";
import { simpleGit, type SimpleGit } from "simple-git";
import { errorLine, formatDuration, type Logger, UsageError, writeReport } from "../command";
import type { ConsumeResult, LoadedTrigger, TriggerStore } from "./trigger";

export const COORDINATION_REPORTS = {
  plan: "coordination-plan.json",
  sync: "sync-summary.json",
  result: "coordinated-deployment-result.json",
  integration: "integration-test-report.json",
} as const;

export type Strategy = "full_coordinated" | "api_triggered" | "infrastructure_only" | "manual_trigger";

/** The strategy decides the steps. First match wins, as in the old workflow. */
export const STRATEGY_STEPS: Readonly<Record<Strategy, { sync: boolean; deploy: boolean; why: string }>> = {
  full_coordinated: { sync: true, deploy: true, why: "an API request (trigger or --api-ref) and infrastructure changes: sync the API code, then deploy both" },
  api_triggered: { sync: true, deploy: true, why: "an API request (trigger or --api-ref): sync the API code at the requested commit, then deploy" },
  infrastructure_only: { sync: false, deploy: true, why: "infrastructure changes only: deploy with the API code already synced" },
  manual_trigger: { sync: false, deploy: false, why: "no API request and no infrastructure changes since the last deployment: nothing to do (run `deploy` to redeploy anyway)" },
};

export function chooseStrategy(apiTriggered: boolean, infrastructureChanged: boolean): Strategy {
  if (apiTriggered && infrastructureChanged) return "full_coordinated";
  if (apiTriggered) return "api_triggered";
  if (infrastructureChanged) return "infrastructure_only";
  return "manual_trigger";
}

/**
 * Paths whose change needs a deployment: the program, the handlers, the policy pack, the driver the
 * program imports (selection, build), project/stack files and dependencies. Not lambda/ (synced API
 * code arrives through triggers), not docs, tests or reports.
 */
const INFRASTRUCTURE_PATTERNS: readonly RegExp[] = [
  /^stacks\//,
  /^handlers\//,
  /^policy\//,
  /^automation\//,
  /^Pulumi(\.[^/]+)?\.ya?ml$/,
  /^package(-lock)?\.json$/,
  /^tsconfig\.json$/,
];

export function isInfrastructurePath(file: string): boolean {
  const posix = file.replace(/\\/g, "/").replace(/^\.\//, "");
  return INFRASTRUCTURE_PATTERNS.some((p) => p.test(posix));
}

export interface InfrastructureChanges {
  changed: boolean;
  /** Infrastructure files that differ from the baseline (committed or not), sorted. */
  files: string[];
  base_commit: string | null;
  head_commit: string | null;
  /** How the answer was reached. */
  method: "diff" | "no-baseline" | "baseline-unavailable" | "not-a-git-repository";
  /** One line for the plan and the log (what was compared, or why it was treated as changed). */
  note: string;
  /** What was fetched to find the baseline in a shallow clone, if anything. */
  fetched: string | null;
}

/** Variables simple-git refuses to pass through (they can run commands): every GIT_* and these. */
const UNSAFE_GIT_ENV = new Set(["EDITOR", "VISUAL", "PAGER", "PREFIX", "SSH_ASKPASS"]);

function git(dir: string, signal?: AbortSignal): SimpleGit {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^GIT_/i.test(key) && !UNSAFE_GIT_ENV.has(key.toUpperCase())) env[key] = value;
  }
  // Never wait for a credentials prompt in CI.
  env.GIT_TERMINAL_PROMPT = "0";
  return simpleGit({ baseDir: dir, abort: signal, allowEnvironment: ["GIT_TERMINAL_PROMPT"] }).env(env);
}

async function hasCommit(g: SimpleGit, sha: string): Promise<boolean> {
  try {
    await g.raw(["cat-file", "-e", `${sha}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

const short = (sha: string) => sha.slice(0, 12);

/**
 * Which infrastructure files changed since `baseCommit` (the last successful deployment), including
 * uncommitted and untracked ones. A shallow clone that lacks the baseline is deepened (full history,
 * then the commit itself); when it still cannot be found, everything counts as changed and the note says so.
 */
export async function detectInfrastructureChanges(opts: { repoRoot: string; baseCommit?: string; log: Logger; signal?: AbortSignal }): Promise<InfrastructureChanges> {
  const g = git(opts.repoRoot, opts.signal);
  const base = opts.baseCommit ?? null;
  const result = (fields: Omit<InfrastructureChanges, "base_commit">): InfrastructureChanges => ({ base_commit: base, ...fields });
  if (!(await g.checkIsRepo().catch(() => false))) {
    return result({ changed: true, files: [], head_commit: null, method: "not-a-git-repository", note: `${opts.repoRoot} is not a git repository: infrastructure treated as changed`, fetched: null });
  }
  const head = (await g.revparse(["HEAD"]).catch(() => "")).trim() || null;
  if (!base) {
    return result({ changed: true, files: [], head_commit: head, method: "no-baseline", note: "no record of a successful deployment (stack tag people-register:last-deployed-commit): infrastructure treated as changed", fetched: null });
  }

  let fetched: string | null = null;
  if (!(await hasCommit(g, base))) {
    const shallow = (await g.revparse(["--is-shallow-repository"]).catch(() => "false")).trim() === "true";
    const attempts: { what: string; args: string[] }[] = [
      ...(shallow ? [{ what: "the full history (shallow clone)", args: ["fetch", "--no-tags", "--unshallow", "origin"] }] : []),
      { what: `commit ${short(base)} from origin`, args: ["fetch", "--no-tags", "origin", base] },
    ];
    for (const attempt of attempts) {
      opts.log.info(`baseline ${short(base)} is not in this clone: fetching ${attempt.what}`);
      try {
        await g.raw(attempt.args);
      } catch (err) {
        opts.log.warn(`fetching ${attempt.what} failed: ${((err as Error).message ?? "").split("\n")[0]}`);
        continue;
      }
      fetched = attempt.what;
      if (await hasCommit(g, base)) break;
    }
    if (!(await hasCommit(g, base))) {
      return result({
        changed: true,
        files: [],
        head_commit: head,
        method: "baseline-unavailable",
        note: `the last deployed commit ${short(base)} is not in this clone${shallow ? " (shallow)" : ""} and could not be fetched: infrastructure treated as changed`,
        fetched,
      });
    }
  }

  // Against the working tree: committed, staged and unstaged changes; plus untracked files. Paths are
  // relative to repoRoot (--relative), which matters when the project sits in a larger repository.
  const diffed = (await g.raw(["diff", "--name-only", "--no-renames", "--relative", base, "--"])).split("\n").filter(Boolean);
  const untracked = (await g.raw(["ls-files", "--others", "--exclude-standard"])).split("\n").filter(Boolean);
  const files = [...new Set([...diffed, ...untracked])].filter(isInfrastructurePath).sort();
  return result({
    changed: files.length > 0,
    files,
    head_commit: head,
    method: "diff",
    note: files.length
      ? `${files.length} infrastructure file(s) changed since the last deployment (${short(base)})`
      : `no infrastructure file changed since the last deployment (${short(base)})`,
    fetched,
  });
}

/** What the deploy step reports back (the real one runs `deploy`; it needs AWS). */
export interface DeployStepOutcome {
  successful: boolean;
  stack_status: string;
  /** The commit that was deployed (recorded as the stack tag by the deploy step). */
  deployed_commit?: string | null;
  /** Post-deployment smoke tests (the old workflow's "IntegrationTests"). */
  smoke: { status: "passed" | "failed" | "skipped"; total?: number; failed?: number; failures?: string[]; report?: string | null; reason?: string };
  error?: string;
  reports?: Record<string, string>;
}

export interface SyncStepInput {
  source: string;
  ref?: string;
  strategy: Strategy;
  reportsDir: string;
}

/** The steps coordination drives. The command wires the real implementations; tests pass recording ones. */
export interface CoordinationSteps {
  /** The commit of the last successful deployment, or undefined when unknown. */
  lastDeployedCommit(): Promise<string | undefined>;
  /** Sync the API code; writes sync-summary.json (also when it fails, then throws). Returns the synced commit. */
  sync(input: SyncStepInput): Promise<{ commit: string | null }>;
  deploy(input: { strategy: Strategy }): Promise<DeployStepOutcome>;
}

export interface CoordinationOptions {
  repoRoot: string;
  reportsDir: string;
  stack: string;
  /** `--api-source`: a git URL or a local path. */
  apiSource?: string;
  /** `--api-ref`: used when no trigger names a commit. */
  apiRef?: string;
  trigger?: TriggerStore;
  steps: CoordinationSteps;
  log: Logger;
  signal?: AbortSignal;
  now?: () => Date;
}

export type StepStatus = "succeeded" | "failed" | "skipped";

export interface CoordinationPlan {
  strategy: Strategy;
  reason: string;
  stack: string;
  timestamp: string;
  api_trigger_detected: boolean;
  /** What asked for the API code: a trigger, `--api-ref`, or nothing. */
  api_request: "trigger" | "flag" | null;
  infrastructure_changes_detected: boolean;
  steps: { sync: boolean; deploy: boolean };
  trigger: { location: string | null; source: string | null; trigger_type: string | null; source_commit: string | null };
  api_source: { source: string | null; ref: string | null };
  infrastructure: InfrastructureChanges;
}

export interface CoordinationResult {
  deployment_successful: boolean;
  strategy: Strategy;
  stack: string;
  timestamp: string;
  duration_seconds: number;
  steps: { sync: { status: StepStatus; detail: string }; deploy: { status: StepStatus; detail: string } };
  synced_commit: string | null;
  deployed_commit: string | null;
  trigger: { location: string | null; consumed: boolean; detail: string };
  reports: Record<keyof typeof COORDINATION_REPORTS, string>;
  error?: string;
}

export async function runCoordination(opts: CoordinationOptions): Promise<{ plan: CoordinationPlan; result: CoordinationResult }> {
  const { log } = opts;
  const now = opts.now ?? (() => new Date());
  const started = now();
  const reportPath = (name: keyof typeof COORDINATION_REPORTS) => `${opts.reportsDir}/${COORDINATION_REPORTS[name]}`;

  // 1. The trigger (an invalid one fails the run: fail closed, never guess).
  const loaded: LoadedTrigger | null = opts.trigger ? await log.step(`read trigger ${opts.trigger.location}`, () => opts.trigger!.read()) : null;
  if (opts.trigger && !loaded) log.info(`no trigger at ${opts.trigger.location}`);

  // 2. Infrastructure changes since the last successful deployment.
  let baseline: string | undefined;
  try {
    baseline = await opts.steps.lastDeployedCommit();
  } catch (err) {
    log.warn(`could not read the last deployed commit: ${errorLine(err)}`);
  }
  const infrastructure = await log.step("infrastructure changes", () => detectInfrastructureChanges({ repoRoot: opts.repoRoot, baseCommit: baseline, log, signal: opts.signal }));
  log.info(infrastructure.note);

  // 3. The strategy, and the steps it implies.
  // An API request is a trigger, or an operator asking for an API ref explicitly (--api-ref on a manual run).
  const apiRequest: CoordinationPlan["api_request"] = loaded ? "trigger" : opts.apiRef ? "flag" : null;
  const strategy = chooseStrategy(apiRequest !== null, infrastructure.changed);
  const steps = STRATEGY_STEPS[strategy];
  const syncRef = loaded?.trigger.source_commit ?? opts.apiRef ?? null;
  // Where the code comes from is configuration, never trigger content: whoever can write a trigger
  // chooses a commit of the configured repository, not which repository gets deployed.
  const syncSource = opts.apiSource ?? null;
  if (steps.sync && !syncSource) {
    throw new UsageError(`strategy ${strategy} syncs the API code: pass --api-source (the registry-api git URL or path); the trigger only names the commit`);
  }
  if (loaded && opts.apiRef && opts.apiRef !== loaded.trigger.source_commit) log.warn(`--api-ref ${opts.apiRef} ignored: the trigger names commit ${loaded.trigger.source_commit}`);

  const plan: CoordinationPlan = {
    strategy,
    reason: steps.why,
    stack: opts.stack,
    timestamp: started.toISOString(),
    api_trigger_detected: apiRequest !== null,
    api_request: apiRequest,
    infrastructure_changes_detected: infrastructure.changed,
    steps: { sync: steps.sync, deploy: steps.deploy },
    trigger: { location: opts.trigger?.location ?? null, source: loaded?.trigger.source ?? null, trigger_type: loaded?.trigger.trigger_type ?? null, source_commit: loaded?.trigger.source_commit ?? null },
    api_source: { source: steps.sync ? syncSource : opts.apiSource ?? null, ref: steps.sync ? syncRef : opts.apiRef ?? null },
    infrastructure,
  };
  writeReport(opts.reportsDir, COORDINATION_REPORTS.plan, plan);
  log.info(`strategy ${strategy}: ${steps.why}`);

  const result: CoordinationResult = {
    deployment_successful: false,
    strategy,
    stack: opts.stack,
    timestamp: "",
    duration_seconds: 0,
    steps: { sync: { status: "skipped", detail: "" }, deploy: { status: "skipped", detail: "" } },
    synced_commit: null,
    deployed_commit: null,
    trigger: { location: opts.trigger?.location ?? null, consumed: false, detail: loaded ? "" : "no trigger" },
    reports: { plan: reportPath("plan"), sync: reportPath("sync"), result: reportPath("result"), integration: reportPath("integration") },
  };
  let failed = false;

  // 4. Sync (the sync step writes sync-summary.json itself; "skipped" is recorded as a status).
  if (steps.sync) {
    fs.rmSync(reportPath("sync"), { force: true }); // never mistake an earlier run's summary for this one's
    try {
      const synced = await log.step(`sync ${syncSource}${syncRef ? `@${syncRef}` : ""}`, () => opts.steps.sync({ source: syncSource!, ref: syncRef ?? undefined, strategy, reportsDir: opts.reportsDir }));
      result.synced_commit = synced.commit;
      result.steps.sync = { status: "succeeded", detail: `synced ${synced.commit ?? "(unversioned)"}` };
    } catch (err) {
      failed = true;
      result.steps.sync = { status: "failed", detail: errorLine(err) };
      result.error = `sync failed: ${errorLine(err)}`;
      if (!fs.existsSync(reportPath("sync"))) writeReport(opts.reportsDir, COORDINATION_REPORTS.sync, { status: "failed", timestamp: now().toISOString(), error: errorLine(err) });
    }
  } else {
    result.steps.sync.detail = `not needed for ${strategy}`;
    writeReport(opts.reportsDir, COORDINATION_REPORTS.sync, { status: "skipped", timestamp: now().toISOString(), strategy, reason: `not needed for ${strategy}` });
  }

  // 5. Deploy (with its smoke tests), unless the strategy says not to or the sync failed.
  let outcome: DeployStepOutcome | null = null;
  if (steps.deploy && !failed) {
    try {
      outcome = await log.step(`deploy ${opts.stack}`, () => opts.steps.deploy({ strategy }));
      result.deployed_commit = outcome.deployed_commit ?? null;
      result.steps.deploy = { status: outcome.successful ? "succeeded" : "failed", detail: outcome.error ?? `stack ${outcome.stack_status}` };
      if (!outcome.successful) {
        failed = true;
        result.error = `deploy failed: ${outcome.error ?? `stack ${outcome.stack_status}`}`;
      }
    } catch (err) {
      failed = true;
      result.steps.deploy = { status: "failed", detail: errorLine(err) };
      result.error = `deploy failed: ${errorLine(err)}`;
    }
  } else {
    result.steps.deploy.detail = steps.deploy ? "not run: the sync failed" : `not needed for ${strategy}`;
  }

  const integration = outcome
    ? { ...outcome.smoke, strategy, stack: opts.stack, timestamp: now().toISOString() }
    : { status: "skipped" as const, reason: result.steps.deploy.detail, strategy, stack: opts.stack, timestamp: now().toISOString() };
  writeReport(opts.reportsDir, COORDINATION_REPORTS.integration, integration);

  // 6. Consume the trigger only after a fully successful run; a failed run leaves it for a retry.
  result.deployment_successful = !failed;
  if (loaded && opts.trigger) {
    if (failed) {
      result.trigger.detail = "left in place: the run failed (the next run retries it)";
    } else {
      let consumed: ConsumeResult;
      try {
        consumed = await opts.trigger.consume(loaded, { consumed_at: now().toISOString(), strategy, deployed_commit: result.deployed_commit });
      } catch (err) {
        consumed = { consumed: false, reason: `could not mark it consumed: ${errorLine(err)}` };
        result.deployment_successful = false;
        result.error = `the deployment succeeded but the trigger could not be marked consumed (it would fire again): ${errorLine(err)}`;
      }
      result.trigger.consumed = consumed.consumed;
      result.trigger.detail = consumed.consumed ? `consumed: moved to ${consumed.moved_to}` : consumed.reason ?? "not consumed";
      log.info(`trigger ${result.trigger.detail}`);
    }
  }

  const finished = now();
  result.timestamp = finished.toISOString();
  result.duration_seconds = Math.round((finished.getTime() - started.getTime()) / 100) / 10;
  writeReport(opts.reportsDir, COORDINATION_REPORTS.result, result);
  log.info(`coordination ${result.deployment_successful ? "succeeded" : "failed"} (${strategy}, ${formatDuration(finished.getTime() - started.getTime())})`);
  return { plan, result };
}
