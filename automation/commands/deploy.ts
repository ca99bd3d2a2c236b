// `deploy --stack NAME [--allow-destructive] [--skip-smoke] [--write-smoke] [--invalidate]`:
// detect → prepare → pin `live` → preview → guard → up (publishes versions) → outputs → invalidation →
// smoke the candidate stage → move `live` → smoke live (→ move `live` back on a critical failure) → reports.
import * as fs from "node:fs";
import * as path from "node:path";
import type { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { CommandFailure, type CommandSpec, errorLine, existingDirsOption, intOption, stringOption, UsageError, writeReport, stackRun, type StackRunOptions } from "../command";
import { countsLine, type PreviewDiff, renderPreviewMarkdown } from "../engine/diff";
import { appendStepSummary } from "../engine/github";
import { enforceGuard, evaluateGuard, type GuardVerdict, guardNotice } from "../engine/guard";
import { createInvalidation, decideInvalidation } from "../engine/invalidate";
import {
  applySecretsFromEnv,
  checkNoChanges,
  CONFIG_NAMESPACE,
  defaultPolicyPacks,
  deployMessage,
  diffOfFailure,
  EngineInterruptedError,
  type EngineStack,
  FRONTEND_FINGERPRINT_TAG,
  type FunctionVersions,
  type MaskedOutputs,
  maskOutputs,
  openStack,
  pinLiveVersions,
  previewStack,
  PROJECT_NAME,
  recordDeployedCommit,
  type RetryPolicy,
  stringOutput,
  upStack,
  versionsLine,
  versionsOutput,
} from "../engine/pulumi";
import type { OpMap } from "../engine/events";
import { buildDeploymentContext } from "../context";
import { prepareIntegration } from "../sync/prepare";
import { buildDeploymentSummary, type DeploymentSummary, REPORT_FILES, type StackStatus } from "../verify/reports";
import { HANDLER_PREFERENCES, type HandlerKind, type HandlerPreference } from "../shared/select";
import { runSmokeTests, type SmokeReport, writeSmokeReports } from "../verify/smoke";
import { failureOutcome } from "./preview";
import { smokeCredentials, smokeSummaryLine } from "./smoke";

export const DEPLOY_REPORTS = {
  result: "deployment-result.json",
  outputs: "stack-outputs.json",
  changes: "deployment-changes.md",
  /** The smoke run against the candidate stage, before `live` moves (test-report.json is the live run). */
  candidateTests: "candidate-test-report.json",
} as const;

/**
 * How the `live` alias moved. `promoted`: to the new versions after they passed on the candidate stage;
 * `not-promoted`: they failed there, `live` never moved; `rolled-back`: they failed on the live stage and
 * `live` went back; `unchanged`: no new version; `unpinned`: no earlier versions (first deployment), `live`
 * follows the newest; `rollback-failed`: moving back failed (the message says how to finish it by hand).
 */
export type PromotionStatus = "promoted" | "not-promoted" | "rolled-back" | "rollback-failed" | "unchanged" | "unpinned" | "not-reached";

export interface Promotion {
  status: PromotionStatus;
  /** `live` before this deployment (what a rollback returns to). */
  previous: FunctionVersions | null;
  /** The newest published versions after the update. */
  candidate: FunctionVersions | null;
  /** `live` when the run ended. */
  live: FunctionVersions | null;
  candidate_smoke?: { status: "passed" | "failed" | "skipped"; totals?: SmokeReport["totals"] };
}

/** What deploy uses from deployment-context.json (automation/context.ts). */
export interface DeployContext {
  deployment_type: string;
  api_sync_detected: boolean;
  execution_mode: string;
  trigger_type: string;
  branch: string;
  commit: string | null;
  /** The handler the repository state selects; null when none can be (then `reason` says why). */
  handler?: string | null;
  reason?: string;
}

export interface DeployRunOptions extends StackRunOptions {
  allowDestructive?: boolean;
  skipSmoke?: boolean;
  /** Run the smoke suite's write cycle (SMOKE_ADMIN_EMAIL / SMOKE_ADMIN_PASSWORD). */
  writeSmoke?: boolean;
  smokeTimeoutS?: number;
  smokeRetries?: number;
  /** Invalidate the CloudFront cache even when the frontend files look unchanged. */
  forceInvalidation?: boolean;
  handler?: HandlerPreference;
  policyPacks?: string[];
  /** Runs before each smoke run with the stack's outputs (a review stack seeds its smoke admin); must be idempotent. */
  beforeSmoke?: (outputs: MaskedOutputs) => Promise<void>;
  /** Seams: a stack instead of the real one, a CloudFront client, the detect/prepare steps. */
  stack?: EngineStack;
  cloudFront?: CloudFrontClient;
  detect?: () => Promise<DeployContext> | DeployContext;
  prepare?: (preference: HandlerPreference) => Promise<{ handler: HandlerKind } & Record<string, unknown>>;
  retry?: RetryPolicy;
  progress?: (text: string) => void;
  now?: () => Date;
}

export type DeployStatus = "succeeded" | "blocked" | "failed" | "cancelled";

export interface DeployRunResult {
  stack: string;
  status: DeployStatus;
  /** `up` ran and succeeded. */
  deployed: boolean;
  commit: string | null;
  planned_changes: OpMap;
  resource_changes: OpMap;
  guard: GuardVerdict;
  outputs: MaskedOutputs;
  smoke: { status: "passed" | "failed" | "skipped"; totals?: SmokeReport["totals"]; reason?: string };
  invalidation: { status: "created" | "skipped" | "failed"; reason: string; id?: string };
  commit_tagged: boolean;
  promotion: Promotion;
  /** The versions behind `live` when the run ended (null when unknown). */
  live_versions: FunctionVersions | null;
  warnings: string[];
  reports: Record<string, string>;
  error?: string;
}

export async function runDeploy(opts: DeployRunOptions): Promise<DeployRunResult> {
  const { log, signal } = opts;
  const now = opts.now ?? (() => new Date());
  const startedAt = now();
  const isCi = Boolean(opts.env.CI);
  const engine = { signal, log, ci: isCi, progress: opts.progress, ...opts.retry };
  const reports: Record<string, string> = {};
  const warnings: string[] = [];
  const result: DeployRunResult = {
    stack: opts.stackName,
    status: "failed",
    deployed: false,
    commit: null,
    planned_changes: {},
    resource_changes: {},
    guard: { findings: [], allowed: true, overridden: false },
    outputs: {},
    smoke: { status: "skipped", reason: "the deployment did not complete" },
    invalidation: { status: "skipped", reason: "the deployment did not complete" },
    commit_tagged: false,
    promotion: { status: "not-reached", previous: null, candidate: null, live: null },
    live_versions: null,
    warnings,
    reports,
  };

  // 1. detect → 2. prepare: the same steps `detect`/`prepare` run, so the stack deploys what they chose.
  const context = await log.step("detect", () => (opts.detect ?? defaultDetect(opts))());
  reports.context = writeReport(opts.reportsDir, REPORT_FILES.context, context);
  result.commit = context.commit && /^[0-9a-f]{40}$/i.test(context.commit) ? context.commit.toLowerCase() : null;
  // Fail closed: a repository state that selects no handler (e.g. synced code modified after the sync) is not deployed.
  if (context.handler === null) throw new CommandFailure(`nothing deployed: no handler can be selected (${context.reason ?? "see deployment-context.json"})`);
  let prepared: HandlerKind = context.handler === "integrated" ? "integrated" : "enhanced";

  let stack: EngineStack | undefined;
  let pulumiVersion: string | null = null;
  let region: string | null = opts.env.AWS_REGION ?? opts.env.AWS_DEFAULT_REGION ?? null;
  let stackStatus: StackStatus = "failed";
  let changes: PreviewDiff | undefined;
  let upStarted = false;
  try {
    const integration = await log.step("prepare", () => (opts.prepare ?? defaultPrepare(opts))(opts.handler ?? "auto"));
    reports.integration = writeReport(opts.reportsDir, REPORT_FILES.integration, integration);
    prepared = integration.handler;

    stack = opts.stack ?? (await log.step(`select stack ${opts.stackName}`, () => openStack({ repoRoot: opts.repoRoot, stackName: opts.stackName, env: opts.env, log })));
    pulumiVersion = stack.pulumiVersion ?? null;
    region ??= (await stack.getConfigValue("aws:region").catch(() => undefined)) ?? null;
    const secrets = await applySecretsFromEnv(stack, opts.env);
    if (secrets.length) log.info(`secret config set from the environment: ${secrets.join(", ")}`);
    const policyPacks = opts.policyPacks ?? defaultPolicyPacks(opts.repoRoot);

    // The update publishes new versions but must not move `live`: pin it where it is until they pass.
    const previousLive = versionsOutput(maskOutputs(await stack.outputs().catch(() => undefined)), "liveVersions");
    result.promotion.previous = previousLive ?? null;
    result.live_versions = previousLive ?? null;
    if (previousLive) await pinLiveVersions(stack, previousLive);

    // 3. preview → 4. guard: nothing is touched when a table, the bucket or the distribution would go.
    const planned = await log.step(`preview ${stack.name}`, () => previewStack(stack!, { ...engine, policyPacks }));
    result.planned_changes = planned.changeSummary;
    log.info(`planned: ${countsLine(planned.diff.counts)}`);
    result.guard = { ...evaluateGuard(planned.diff, opts.allowDestructive === true), live: previousLive ?? null };
    if (result.guard.overridden) warnings.push(`destructive changes allowed by --allow-destructive: ${result.guard.findings.map((f) => `${f.op} ${f.name}`).join(", ")}`);
    if (!result.guard.allowed) {
      result.status = "blocked";
      stackStatus = "skipped";
      changes = planned.diff;
      enforceGuard(result.guard);
    }

    // 5. up
    upStarted = true;
    const up = await log.step(`update ${stack.name}`, () => upStack(stack!, { ...engine, policyPacks, message: deployMessage(result.commit ?? undefined) }));
    changes = up.diff;
    result.deployed = true;
    stackStatus = "succeeded";
    result.resource_changes = up.changeSummary;
    result.outputs = up.outputs;
    reports.outputs = writeReport(opts.reportsDir, DEPLOY_REPORTS.outputs, up.outputs);
    if (result.commit) result.commit_tagged = await recordDeployedCommit(stack, result.commit, log);
    else warnings.push("the deployed commit is unknown (not a git checkout?): the stack was not tagged");

    // 6. determinism: right after `up`, a preview must be empty.
    const drift = await log.step("check the update is reproducible", () => checkNoChanges(stack!, { ...engine, policyPacks }));
    if (drift) {
      warnings.push(`${drift}: some input is not deterministic (a bundle, a timestamp); the next deploy will change it again`);
      log.warn(warnings.at(-1)!);
    }

    // 7. CloudFront invalidation when the frontend files changed.
    result.invalidation = await invalidateIfChanged(stack, opts, up.outputs, warnings);

    // 8. smoke tests: the candidate stage, then `live` moves, then the live stage (rollback on failure).
    await promote(stack, opts, up.outputs, previousLive, { ...engine, policyPacks, message: deployMessage(result.commit ?? undefined) }, result);
    result.status = result.smoke.status === "failed" ? "failed" : "succeeded";
  } catch (err) {
    if (err instanceof EngineInterruptedError || signal.aborted) result.status = "cancelled";
    else if (result.status !== "blocked") result.status = "failed";
    result.error = errorLine(err);
    const partial = diffOfFailure(err);
    // A failed or interrupted `up` changed what its events say it started; a failed preview changed nothing.
    if (upStarted && !result.deployed) {
      if (partial) result.resource_changes = { ...partial.counts };
      stackStatus = result.status === "cancelled" ? "cancelled" : "failed";
    } else if (!result.deployed && result.status !== "blocked") {
      stackStatus = result.status === "cancelled" ? "cancelled" : "failed";
    }
    changes = partial ?? changes;
    writeDeployReports(opts, result, context, prepared, { startedAt, finishedAt: now(), stackStatus, pulumiVersion, region, changes });
    throw Object.assign(err as Error, { deployResult: result });
  }
  writeDeployReports(opts, result, context, prepared, { startedAt, finishedAt: now(), stackStatus, pulumiVersion, region, changes });
  return result;
}

function writeDeployReports(
  opts: DeployRunOptions,
  result: DeployRunResult,
  context: DeployContext,
  prepared: HandlerKind,
  run: { startedAt: Date; finishedAt: Date; stackStatus: StackStatus; pulumiVersion: string | null; region: string | null; changes?: PreviewDiff },
): DeploymentSummary {
  const deployedKind = stringOutput(result.outputs, "handlerKind");
  const handlerUsed: HandlerKind = deployedKind === "integrated" || deployedKind === "enhanced" ? deployedKind : prepared;
  const summary = buildDeploymentSummary({
    context,
    successful: result.deployed,
    stackStatus: run.stackStatus,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    outputs: { apiUrl: stringOutput(result.outputs, "apiUrl"), frontendUrl: stringOutput(result.outputs, "frontendUrl"), bucket: stringOutput(result.outputs, "frontendBucket") },
    handlerUsed,
    handlerSelected: prepared,
    handlerNote: handlerUsed !== prepared ? `the stack deployed the ${handlerUsed} handler, prepare chose ${prepared}` : null,
    resourceChanges: result.resource_changes as Record<string, number>,
    stack: result.stack,
    region: run.region,
    pulumiVersion: run.pulumiVersion,
    target: "aws",
    liveVersions: result.live_versions,
    ...(result.error ? { error: result.error } : {}),
  });
  result.reports.summary = writeReport(opts.reportsDir, REPORT_FILES.summary, summary);
  if (run.changes) {
    const notices = [guardNotice(result.guard), promotionNotice(result.promotion), ...result.warnings.map((w) => `> ⚠️ ${w}`), result.error ? `> ⛔ ${result.error}` : undefined].filter((n): n is string => Boolean(n));
    const markdown = renderPreviewMarkdown(run.changes, { project: PROJECT_NAME, stack: result.stack, title: result.deployed ? "update" : "deploy (not applied)", context: result.commit ? `for commit \`${result.commit.slice(0, 12)}\`` : undefined, notices });
    result.reports.changes = writeReport(opts.reportsDir, DEPLOY_REPORTS.changes, markdown);
    appendStepSummary(opts.env, markdown);
  }
  result.reports.result = writeReport(opts.reportsDir, DEPLOY_REPORTS.result, result);
  return summary;
}

async function invalidateIfChanged(stack: EngineStack, opts: DeployRunOptions, outputs: MaskedOutputs, warnings: string[]): Promise<DeployRunResult["invalidation"]> {
  const configured = await stack.getConfigValue(`${CONFIG_NAMESPACE}:frontendDir`).catch(() => undefined);
  const frontendDir = configured ? path.resolve(opts.repoRoot, configured) : undefined;
  if (frontendDir && !fs.existsSync(frontendDir)) {
    warnings.push(`frontendDir ${configured} does not exist: no CloudFront invalidation`);
    return { status: "skipped", reason: warnings.at(-1)! };
  }
  const previous = await stack.getTag(FRONTEND_FINGERPRINT_TAG).catch(() => undefined);
  const decision = decideInvalidation({ frontendDir, previous: previous || undefined, force: opts.forceInvalidation, distributionId: stringOutput(outputs, "distributionId") });
  if (!decision.invalidate) return { status: "skipped", reason: decision.reason };
  try {
    const created = await opts.log.step("invalidate the CloudFront cache (/*)", () =>
      createInvalidation({ distributionId: stringOutput(outputs, "distributionId")!, callerReference: `people-register-${Date.now()}`, client: opts.cloudFront, signal: opts.signal }),
    );
    if (decision.fingerprint) await stack.setTag(FRONTEND_FINGERPRINT_TAG, decision.fingerprint).catch((err) => warnings.push(`could not record the frontend fingerprint: ${errorLine(err)}`));
    return { status: "created", reason: decision.reason, id: created.id };
  } catch (err) {
    if (opts.signal.aborted) throw err;
    // The deployment stands; the next deploy retries the invalidation because no fingerprint was recorded.
    warnings.push(`CloudFront invalidation failed (${errorLine(err)}); cached frontend files may be stale until it succeeds`);
    opts.log.warn(warnings.at(-1)!);
    return { status: "failed", reason: warnings.at(-1)! };
  }
}

/**
 * Promotion: smoke-test the new versions through the candidate stage, move `live` to them (an update that
 * only changes the aliases), smoke-test the live stage, and on a critical failure move `live` back.
 */
async function promote(
  stack: EngineStack,
  opts: DeployRunOptions,
  outputs: MaskedOutputs,
  previous: FunctionVersions | undefined,
  engine: Parameters<typeof upStack>[1],
  result: DeployRunResult,
): Promise<void> {
  const promotion = result.promotion;
  const candidate = versionsOutput(outputs, "candidateVersions");
  promotion.candidate = candidate ?? null;
  const liveNow = (o: MaskedOutputs) => versionsOutput(o, "liveVersions") ?? null;
  const finish = (o: MaskedOutputs) => {
    promotion.live = liveNow(o);
    result.live_versions = promotion.live;
  };
  if (!previous || !candidate || sameVersions(previous, candidate)) {
    // Nothing to gate: no earlier version to protect, or no new version was published.
    promotion.status = previous && candidate ? "unchanged" : "unpinned";
    finish(outputs);
    result.smoke = await smoke(opts, outputs, "apiUrl", result.reports);
    if (result.smoke.status === "failed") result.error = "smoke tests failed after the update";
    return;
  }

  if (!opts.skipSmoke) {
    const gate = await smoke(opts, outputs, "candidateUrl", result.reports);
    promotion.candidate_smoke = gate;
    if (gate.status === "failed") {
      promotion.status = "not-promoted";
      finish(outputs);
      result.smoke = gate;
      result.error = `the new versions (${versionsLine(candidate)}) failed their smoke tests on the candidate stage; live stays at ${versionsLine(previous)}`;
      opts.log.error(result.error);
      return;
    }
  }

  await pinLiveVersions(stack, candidate);
  const promoted = await opts.log.step(`move live to ${versionsLine(candidate)}`, () => upStack(stack, { ...engine, message: `${engine.message ?? "deploy"} (promote ${versionsLine(candidate)})` }));
  result.outputs = promoted.outputs;
  promotion.status = "promoted";
  finish(promoted.outputs);
  result.smoke = await smoke(opts, promoted.outputs, "apiUrl", result.reports);
  if (result.smoke.status !== "failed") return;

  // A critical probe failed on live: move `live` back to what it was.
  try {
    await pinLiveVersions(stack, previous);
    const back = await opts.log.step(`roll live back to ${versionsLine(previous)}`, () => upStack(stack, { ...engine, message: `${engine.message ?? "deploy"} (rollback to ${versionsLine(previous)})` }));
    result.outputs = back.outputs;
    promotion.status = "rolled-back";
    finish(back.outputs);
    result.error = `smoke tests failed on the live stage after live moved to ${versionsLine(candidate)}; live was moved back to ${versionsLine(previous)}`;
    opts.log.error(result.error);
  } catch (err) {
    if (opts.signal.aborted) throw err;
    promotion.status = "rollback-failed";
    result.error = `smoke tests failed on the live stage after live moved to ${versionsLine(candidate)}, and moving it back failed (${errorLine(err)}); finish the rollback by hand: pulumi config set --stack ${stack.name} people-register:liveVersions '${JSON.stringify(previous)}' then pulumi up --stack ${stack.name}`;
    throw new CommandFailure(result.error);
  }
}

function sameVersions(a: FunctionVersions, b: FunctionVersions): boolean {
  return a.api === b.api && a.auth === b.auth;
}

/** One line for the Markdown report on how `live` moved (undefined when there is nothing to say). */
export function promotionNotice(p: Promotion): string | undefined {
  if (p.status === "promoted") return `> ✅ **live** moved to ${versionsLine(p.live)} (was ${versionsLine(p.previous)}).`;
  if (p.status === "not-promoted") return `> ⛔ **Not promoted:** the new versions (${versionsLine(p.candidate)}) failed their smoke tests on the candidate stage; **live** stays at ${versionsLine(p.previous)}.`;
  if (p.status === "rolled-back") return `> ↩️ **Rolled back:** smoke tests failed on the live stage after **live** moved to ${versionsLine(p.candidate)}; **live** is back at ${versionsLine(p.live)}.`;
  if (p.status === "rollback-failed") return `> 🚨 **Rollback failed:** **live** is still at ${versionsLine(p.candidate)}; move it back to ${versionsLine(p.previous)} by hand.`;
  return undefined;
}

async function smoke(opts: DeployRunOptions, outputs: MaskedOutputs, target: "apiUrl" | "candidateUrl", reports: Record<string, string>): Promise<DeployRunResult["smoke"]> {
  if (opts.skipSmoke) return { status: "skipped", reason: "--skip-smoke" };
  const apiUrl = stringOutput(outputs, target);
  if (!apiUrl) throw new CommandFailure(`the stack has no ${target} output to smoke-test (use --skip-smoke to deploy without smoke tests)`);
  await opts.beforeSmoke?.(outputs);
  const credentials = opts.writeSmoke ? smokeCredentials(opts.env) : undefined;
  const frontendUrl = stringOutput(outputs, "frontendUrl");
  const report = await opts.log.step(`smoke tests against ${apiUrl}`, () =>
    runSmokeTests({
      baseUrl: apiUrl,
      write: opts.writeSmoke === true,
      origin: frontendUrl ? new URL(frontendUrl).origin : undefined,
      timeoutS: opts.smokeTimeoutS ?? 10,
      ...(opts.smokeRetries !== undefined ? { retries: opts.smokeRetries, retryDelayMs: 100 } : {}),
      credentials,
      // The synced app is probed by its own OpenAPI document.
      handlerKind: stringOutput(outputs, "handlerKind") === "integrated" ? "integrated" : "enhanced",
      log: opts.log,
      signal: opts.signal,
    }),
  );
  if (target === "candidateUrl") {
    reports.candidate_test_json = writeReport(opts.reportsDir, DEPLOY_REPORTS.candidateTests, report);
  } else {
    const files = writeSmokeReports(opts.reportsDir, report);
    reports.test_json = files.json;
    reports.test_xml = files.xml;
  }
  opts.log.info(smokeSummaryLine(report));
  return { status: report.passed ? "passed" : "failed", totals: report.totals };
}

function defaultDetect(opts: DeployRunOptions): () => Promise<DeployContext> {
  return () => buildDeploymentContext({ repoRoot: opts.repoRoot, preference: opts.handler ?? "auto", flags: { mode: "deployment" }, env: opts.env });
}

function defaultPrepare(opts: DeployRunOptions): (preference: HandlerPreference) => Promise<{ handler: HandlerKind } & Record<string, unknown>> {
  return async (preference) => ({ ...(await prepareIntegration({ repoRoot: opts.repoRoot, preference, log: opts.log, signal: opts.signal, installDependencies: true, env: opts.env })) });
}

export const command: CommandSpec = {
  name: "deploy",
  summary: "Deploy the stack: detect, prepare, preview, destructive-change guard, up, CloudFront invalidation, smoke tests, reports",
  usage:
    "--stack NAME [--allow-destructive] [--skip-smoke] [--write-smoke] [--invalidate] [--handler auto|integrated|enhanced] [--policy-pack DIR]... [--smoke-timeout-s N]   (secrets: JWT_SECRET, CSRF_SECRET)",
  options: {
    stack: { type: "string" },
    "allow-destructive": { type: "boolean", default: false },
    "skip-smoke": { type: "boolean", default: false },
    "write-smoke": { type: "boolean", default: false },
    invalidate: { type: "boolean", default: false },
    handler: { type: "string" },
    "policy-pack": { type: "string", multiple: true },
    "smoke-timeout-s": { type: "string" },
  },
  async run(values, ctx) {
    const stackName = stringOption(values, "stack", true);
    const handler = (stringOption(values, "handler") ?? "auto") as HandlerPreference;
    if (!HANDLER_PREFERENCES.includes(handler)) throw new UsageError(`--handler must be one of ${HANDLER_PREFERENCES.join(", ")}`);
    if (values["write-smoke"] === true && values["skip-smoke"] === true) throw new UsageError("--write-smoke and --skip-smoke contradict each other");
    if (values["write-smoke"] === true && !smokeCredentials(ctx.env)) throw new UsageError("--write-smoke needs SMOKE_ADMIN_EMAIL and SMOKE_ADMIN_PASSWORD in the environment");
    const policyPacks = existingDirsOption(values, "policy-pack");
    try {
      const result = await runDeploy({
        ...stackRun(ctx, stackName),
        allowDestructive: values["allow-destructive"] === true,
        skipSmoke: values["skip-smoke"] === true,
        writeSmoke: values["write-smoke"] === true,
        forceInvalidation: values.invalidate === true,
        smokeTimeoutS: intOption(values, "smoke-timeout-s", 10, 1, 300),
        handler,
        policyPacks,
      });
      const lines = [
        `deploy of ${result.stack}: ${result.status.toUpperCase()} (${countsLine(result.resource_changes)})`,
        `live: ${versionsLine(result.live_versions)} (${result.promotion.status})`,
        `smoke: ${result.smoke.status}${result.smoke.reason ? ` (${result.smoke.reason})` : ""}; invalidation: ${result.invalidation.status} (${result.invalidation.reason})`,
        ...result.warnings.map((w) => `warning: ${w}`),
        `reports: ${Object.values(result.reports).map((f) => path.basename(f)).join(", ")} in ${ctx.reportsDir}`,
      ];
      return { exitCode: result.status === "succeeded" ? 0 : 1, result, summary: lines.join("\n") };
    } catch (err) {
      return failureOutcome(err, ctx.log, (err as { deployResult?: DeployRunResult }).deployResult ?? { error: errorLine(err) });
    }
  },
};
