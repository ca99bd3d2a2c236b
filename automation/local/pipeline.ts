// The whole pipeline on the embedded target (`local`, `npm start`): detect → select → build →
// start the local target → smoke tests (with a write cycle as a seeded admin) → reports → stop.
// The same step modules as a cloud deployment; only "deploy" is replaced by the local target.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatDuration, type Logger, writeReport } from "../command";
import { buildDeploymentContext, type DeploymentContext } from "../context";
import { appReads, integratedPlan } from "../shared/integrated";
import { ensureVenv } from "./python-worker";
import { type LocalTarget, type LocalTargetOptions, startLocalTarget } from "./target";
import { repoPaths } from "../shared/paths";
import { type NotificationStatus, writeNotification } from "../verify/notify";
import { prepareIntegration } from "../sync/prepare";
import { buildDeploymentSummary, type DeploymentSummary, REPORT_FILES } from "../verify/reports";
import { type HandlerKind, type HandlerPreference, selectHandler } from "../shared/select";
import { runSmokeTests, type SmokeReport, writeSmokeReports } from "../verify/smoke";

/** bcrypt cost for the one-shot run's throw-away data (production and `--serve` use the contract's default). */
export const ONE_SHOT_BCRYPT_COST = 10;

export type StepName = "detect" | "select" | "build" | "start local target" | "smoke tests" | "reports" | "stop";
export interface PipelineStep {
  name: StepName;
  status: "ok" | "failed";
  duration_ms: number;
  detail?: string;
}

export interface LocalPipelineOptions {
  repoRoot: string;
  reportsDir: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  signal: AbortSignal;
  preference?: HandlerPreference;
  /** Keep serving after the smoke tests until `signal` aborts; `onListening` is called with the URL. */
  serve?: { onListening(url: string): void };
  port?: number;
  dbPath?: string;
  outboxDir?: string;
  /** Allowed CORS origins (the target's default: the Astro and Vite dev servers). */
  frontendOrigins?: readonly string[];
}

export interface LocalPipelineResult {
  /** Every critical smoke probe passed (and every step before them worked). */
  passed: boolean;
  steps: PipelineStep[];
  handler: { selected: HandlerKind | null; used: HandlerKind | null; note: string | null };
  url: string | null;
  dynamoEndpoint: string | null;
  smoke: SmokeReport | null;
  summary: DeploymentSummary | null;
  notification: NotificationStatus | null;
  reports: Record<string, string>;
  /** One line: why the run failed. */
  error?: string;
}

/** The admin the local target seeds: from LOCAL_ADMIN_EMAIL/LOCAL_ADMIN_PASSWORD, else generated for this run only. */
export function localAdmin(env: NodeJS.ProcessEnv): { email: string; password: string; generated: boolean } {
  if (env.LOCAL_ADMIN_EMAIL && env.LOCAL_ADMIN_PASSWORD) return { email: env.LOCAL_ADMIN_EMAIL, password: env.LOCAL_ADMIN_PASSWORD, generated: false };
  // Meets the password policy (upper, lower, digit, special); lives only in this process's memory.
  return { email: env.LOCAL_ADMIN_EMAIL || "local-admin@example.com", password: `Aa1!${randomBytes(24).toString("base64url")}`, generated: true };
}

export async function runLocalPipeline(opts: LocalPipelineOptions): Promise<LocalPipelineResult> {
  const { log, signal } = opts;
  const steps: PipelineStep[] = [];
  const reports: Record<string, string> = {};
  const startedAt = new Date();
  const result: LocalPipelineResult = { passed: false, steps, handler: { selected: null, used: null, note: null }, url: null, dynamoEndpoint: null, smoke: null, summary: null, notification: null, reports };

  const step = async <T>(name: StepName, work: () => Promise<T> | T, detail?: (value: T) => string | undefined): Promise<T> => {
    const started = Date.now();
    try {
      const value = await log.step(name, work);
      steps.push({ name, status: "ok", duration_ms: Date.now() - started, ...(detail?.(value) ? { detail: detail(value) } : {}) });
      return value;
    } catch (err) {
      steps.push({ name, status: "failed", duration_ms: Date.now() - started, detail: oneLine(err) });
      throw err;
    }
  };

  let target: LocalTarget | undefined;
  let starting: Promise<LocalTarget> | undefined;
  let context: DeploymentContext | undefined;
  let targetReady: Date | undefined;
  const tempDirs: string[] = [];
  const admin = localAdmin(opts.env);
  // Reports left by an earlier run would be read as this run's (the notification reads the files): start from none.
  for (const name of Object.values(REPORT_FILES)) fs.rmSync(path.join(opts.reportsDir, name), { force: true });
  try {
    context = await step(
      "detect",
      () => buildDeploymentContext({ repoRoot: opts.repoRoot, preference: opts.preference ?? "auto", flags: { mode: "deployment", trigger: "manual" }, env: opts.env }),
      (c) => `${c.deployment_type}, ${c.handler}`,
    );
    reports.context = writeReport(opts.reportsDir, REPORT_FILES.context, context);

    const selection = await step("select", () => selectHandler({ repoRoot: opts.repoRoot, preference: opts.preference ?? "auto" }), (s) => `${s.kind}: ${s.reason}`);
    result.handler.selected = selection.kind;

    // DynamoDB Local's JVM boots in its own process: start the target first and build while it boots.
    // The integrated handler's worker needs the built package and its virtualenv first.
    const outboxDir = opts.outboxDir ?? (opts.serve ? undefined : mkTemp(tempDirs, "outbox-"));
    const startTarget = (integrated?: LocalTargetOptions["integrated"]) => {
      starting = step(
        "start local target",
        () =>
          startLocalTarget({
            repoRoot: opts.repoRoot,
            port: opts.port ?? 0,
            dbPath: opts.dbPath,
            outboxDir,
            ...(opts.frontendOrigins ? { frontendOrigins: opts.frontendOrigins } : {}),
            admin: { email: admin.email, password: admin.password },
            // A one-shot run keeps its data in memory and throws it away: a lower bcrypt cost saves a
            // second per hash there. A served target keeps the production cost.
            ...(opts.serve ? {} : { bcryptCost: ONE_SHOT_BCRYPT_COST }),
            env: opts.serve ? {} : { LOG_LEVEL: "warn" },
            ...(integrated ? { integrated } : {}),
            log,
            signal,
          }),
        (t) => t.url,
      );
      // Settled below in every path; this only keeps an early rejection from being reported as unhandled.
      starting.catch(() => undefined);
    };
    if (selection.kind !== "integrated") startTarget();

    let integratedRun: LocalTargetOptions["integrated"];
    const integration = await step(
      "build",
      async () => {
        if (selection.kind !== "integrated") return prepareIntegration({ repoRoot: opts.repoRoot, preference: opts.preference ?? "auto", log, signal });
        // The synced app runs on this machine through the real shim: the package's code (synced app +
        // shim) and a cached virtualenv for the host's Python built from the package's requirements.
        const built = await prepareIntegration({ repoRoot: opts.repoRoot, preference: "integrated", log, signal, installDependencies: false });
        const paths = repoPaths(opts.repoRoot);
        const venv = await ensureVenv({ requirementsText: fs.readFileSync(path.join(paths.integratedDir, "requirements.txt"), "utf8"), cacheDir: path.join(paths.localDir, "venvs"), env: opts.env, log, signal });
        const plan = integratedPlan(appReads(paths.lambdaDir, selection.sync.metadata?.reads));
        integratedRun = { taskRoot: paths.integratedDir, python: venv.python, plan };
        const adapter = venv.adapter === "mangum" ? "mangum" : "the local worker's own Lambda-event -> ASGI adapter (mangum is not installable from the configured package index)";
        if (venv.substitutions.length) log.warn(`local run: ${venv.substitutions.length} requirements replaced by the newest available versions (see ${REPORT_FILES.integration})`);
        return {
          ...built,
          local_run: {
            handler: "integrated" as const,
            python: venv.pythonVersion,
            lambda_python: built.python?.version ?? null,
            virtualenv: path.relative(opts.repoRoot, venv.dir),
            virtualenv_cached: venv.cached,
            adapter,
            // The Lambda package keeps the exact pins (and `prepare` fails clearly when they cannot be had).
            substitutions: venv.substitutions,
          },
        };
      },
      (r) => r.handler,
    );
    result.handler.used = selection.kind;
    reports.integration = writeReport(opts.reportsDir, REPORT_FILES.integration, integration);
    if (integratedRun) startTarget(integratedRun);

    target = await starting!;
    targetReady = new Date();
    result.url = target.url;
    result.dynamoEndpoint = target.dynamoEndpoint;

    result.smoke = await step(
      "smoke tests",
      () =>
        runSmokeTests({
          baseUrl: target!.url,
          write: true,
          origin: firstCorsOrigin(target!.env),
          credentials: { email: admin.email, password: admin.password },
          // The local target is up once it has started: short retries are enough.
          timeoutS: 10,
          retries: 2,
          retryDelayMs: 200,
          handlerKind: result.handler.used ?? "enhanced",
          log,
          signal,
        }),
      (r) => `${r.totals.passed} passed, ${r.totals.failed} failed, ${r.totals.skipped} skipped`,
    );
    result.passed = result.smoke.passed;
    const testFiles = writeSmokeReports(opts.reportsDir, result.smoke);
    reports.test_json = testFiles.json;
    reports.test_xml = testFiles.xml;
  } catch (err) {
    result.error = oneLine(err);
    // A target that was still starting when a later step failed is stopped like any other.
    target ??= await starting?.catch(() => undefined);
    if (signal.aborted) {
      await stopTarget(target, steps, log);
      cleanup(tempDirs);
      // The interruption is the reason, not whatever a step said while it was being cancelled.
      throw signal.reason ?? err;
    }
  }

  // Reports are written whatever happened: they say what happened.
  try {
    await step("reports", async () => {
      if (context) {
        result.summary = buildDeploymentSummary({
          context,
          successful: Boolean(targetReady),
          stackStatus: targetReady ? "succeeded" : "failed",
          startedAt,
          finishedAt: targetReady ?? new Date(),
          outputs: { apiUrl: result.url },
          handlerUsed: result.handler.used ?? "enhanced",
          handlerSelected: result.handler.selected ?? undefined,
          handlerNote: result.handler.note,
          stack: "local",
          target: "embedded",
          ...(targetReady || !result.error ? {} : { error: result.error }),
        });
        reports.summary = writeReport(opts.reportsDir, REPORT_FILES.summary, result.summary);
      }
      // Local runs never post to the team's webhook.
      const { NOTIFY_WEBHOOK_URL: _ignored, ...env } = opts.env;
      const notification = await writeNotification({ reportsDir: opts.reportsDir, env, log, signal });
      result.notification = notification.notification.status;
      reports.notification_md = notification.files.markdown;
      reports.notification_json = notification.files.json;
    });
  } catch (err) {
    result.error ??= oneLine(err);
    result.passed = false;
  }

  if (opts.serve && target && !signal.aborted) {
    if (!result.passed) log.warn("the smoke tests failed; serving anyway so you can look");
    log.info(`DynamoDB Local on ${target.dynamoEndpoint}`);
    if (admin.generated) log.info(`admin ${admin.email} has a random password for this run only: set LOCAL_ADMIN_EMAIL and LOCAL_ADMIN_PASSWORD to log in as admin`);
    else log.info(`admin ${admin.email} (password from LOCAL_ADMIN_PASSWORD)`);
    opts.serve.onListening(target.url);
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
  }
  await stopTarget(target, steps, log);
  cleanup(tempDirs);
  return result;
}

async function stopTarget(target: LocalTarget | undefined, steps: PipelineStep[], log: Logger): Promise<void> {
  if (!target) return;
  const started = Date.now();
  try {
    await log.step("stop", () => target.stop());
    steps.push({ name: "stop", status: "ok", duration_ms: Date.now() - started });
  } catch (err) {
    steps.push({ name: "stop", status: "failed", duration_ms: Date.now() - started, detail: oneLine(err) });
  }
}

function mkTemp(list: string[], name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `people-register-local-${name}`));
  list.push(dir);
  return dir;
}

function cleanup(dirs: string[]): void {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
}

function firstCorsOrigin(env: Record<string, string | undefined>): string | undefined {
  return env.CORS_ORIGINS?.split(",").map((s) => s.trim()).find(Boolean);
}

export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split("\n")[0];
}

/** The closing table: steps with durations, the probes, where the reports are. */
export function pipelineSummaryTable(result: LocalPipelineResult): string {
  const rows = result.steps.map((s) => `  ${s.status === "ok" ? "✔" : s.status === "failed" ? "✖" : "-"} ${s.name.padEnd(20)} ${formatDuration(s.duration_ms).padStart(8)}  ${s.detail ?? ""}`.trimEnd());
  const lines = ["", "Local pipeline", ...rows];
  if (result.smoke) {
    const t = result.smoke.totals;
    lines.push("", `Smoke probes: ${t.passed} passed, ${t.failed} failed (${t.critical_failed} critical), ${t.skipped} skipped`);
    for (const p of result.smoke.probes.filter((x) => x.status === "failed")) lines.push(`  ✖ ${p.method} ${p.path}${p.critical ? "" : " (non-critical)"}: ${p.error}`);
  }
  if (result.handler.note) lines.push("", `Handler: ${result.handler.note}`);
  const dirs = new Set(Object.values(result.reports).map((f) => path.dirname(f)));
  if (dirs.size) lines.push("", `Reports in ${[...dirs].join(", ")}: ${Object.values(result.reports).map((f) => path.basename(f)).join(", ")}`);
  lines.push("", result.passed ? "PASSED: every critical probe passed" : `FAILED${result.error ? `: ${result.error}` : ": a critical probe failed"}`);
  return lines.join("\n");
}
