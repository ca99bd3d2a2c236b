// `drift --stack NAME [--markdown FILE] [--issue [--repo OWNER/NAME]]`: a refresh in preview mode (nothing
// is written to the state or the cloud) reports every resource changed outside Pulumi, with the changed
// properties, as drift-report.json and Markdown; `--issue` opens or updates one GitHub issue when drift is
// found. Exit code 0: no drift; 2: drift; 1: the check failed.
import * as fs from "node:fs";
import * as path from "node:path";
import { type CommandSpec, errorLine, stringOption, UsageError, writeReport, stackRun, type StackRunOptions } from "../command";
import { buildDriftReport, driftMarker, type DriftReport, renderDriftMarkdown } from "../engine/drift";
import { appendStepSummary, upsertIssue } from "../engine/github";
import { type EngineStack, openStack, PROJECT_NAME, refreshPreview, type RetryPolicy } from "../engine/pulumi";
import { failureOutcome } from "./preview";

export const DRIFT_REPORTS = { json: "drift-report.json", markdown: "drift-report.md" } as const;
/** Exit code when drift is found (1 stays "the check itself failed"). */
export const DRIFT_EXIT_CODE = 2;

/** 0: no drift; 2: drift found. */
export function driftExitCode(report: Pick<DriftReport, "drifted">): number {
  return report.drifted.length ? DRIFT_EXIT_CODE : 0;
}

export interface DriftRunOptions extends StackRunOptions {
  markdownFile?: string;
  /** Open or update the drift issue when drift is found (GITHUB_TOKEN; repo from `repo` or GITHUB_REPOSITORY). */
  issue?: boolean;
  repo?: string;
  stack?: EngineStack;
  retry?: RetryPolicy;
  progress?: (text: string) => void;
  now?: () => Date;
}

export interface DriftRunResult extends DriftReport {
  files: { json: string; markdown: string };
  issue?: { action: "created" | "updated"; number: number; url: string | null };
}

export async function runDrift(opts: DriftRunOptions): Promise<DriftRunResult> {
  const { log, signal } = opts;
  const repo = opts.issue ? opts.repo ?? opts.env.GITHUB_REPOSITORY : undefined;
  // Checked before the (slow) refresh, so a wrong setup fails fast.
  if (opts.issue && !repo) throw new UsageError("--issue needs --repo OWNER/NAME or GITHUB_REPOSITORY");
  if (opts.issue && !opts.env.GITHUB_TOKEN) throw new UsageError("--issue needs GITHUB_TOKEN in the environment");
  // Drift is checked on an existing stack only: never create one by accident.
  const stack = opts.stack ?? (await log.step(`select stack ${opts.stackName}`, () => openStack({ repoRoot: opts.repoRoot, stackName: opts.stackName, env: opts.env, log, create: false })));
  const refreshed = await log.step(`refresh preview of ${stack.name}`, () => refreshPreview(stack, { signal, log, ci: Boolean(opts.env.CI), progress: opts.progress, ...opts.retry }));
  const report = buildDriftReport(stack.name, refreshed.events, (opts.now ?? (() => new Date()))());
  const markdown = renderDriftMarkdown(report, PROJECT_NAME);
  const files = { json: "", markdown: writeReport(opts.reportsDir, DRIFT_REPORTS.markdown, markdown) };
  if (opts.markdownFile) {
    fs.mkdirSync(path.dirname(path.resolve(opts.markdownFile)), { recursive: true });
    fs.writeFileSync(opts.markdownFile, markdown);
  }
  appendStepSummary(opts.env, markdown);
  const result: DriftRunResult = { ...report, files };
  if (opts.issue && report.drifted.length) {
    result.issue = await log.step(`drift issue on ${repo}`, () =>
      upsertIssue({ token: opts.env.GITHUB_TOKEN!, repo: repo!, marker: driftMarker(PROJECT_NAME, stack.name), title: `Drift on ${PROJECT_NAME}/${stack.name}`, body: markdown, apiUrl: opts.env.GITHUB_API_URL, signal }),
    );
    log.info(`drift issue ${result.issue.action}${result.issue.url ? `: ${result.issue.url}` : ""}`);
  }
  files.json = writeReport(opts.reportsDir, DRIFT_REPORTS.json, result);
  return result;
}

export const command: CommandSpec = {
  name: "drift",
  summary: "Detect drift: refresh in preview mode, report drifted resources and properties (drift-report.json/.md); exit 2 on drift",
  usage: "--stack NAME [--markdown FILE] [--issue [--repo OWNER/NAME]]   (issue: GITHUB_TOKEN)",
  options: {
    stack: { type: "string" },
    markdown: { type: "string" },
    issue: { type: "boolean", default: false },
    repo: { type: "string" },
  },
  async run(values, ctx) {
    const stackName = stringOption(values, "stack", true);
    try {
      const result = await runDrift({
        ...stackRun(ctx, stackName),
        markdownFile: stringOption(values, "markdown"),
        issue: values.issue === true,
        repo: stringOption(values, "repo"),
      });
      const lines = result.drifted.length
        ? [`drift on ${result.stack}: ${result.drifted.length} resource(s)`, ...result.drifted.map((d) => `  ${d.kind} ${d.type} "${d.name}"${d.properties.length ? `: ${d.properties.join(", ")}` : ""}`)]
        : [`no drift on ${result.stack} (${result.checked} resources checked)`];
      lines.push(`reports: ${result.files.json}, ${result.files.markdown}`);
      return { exitCode: driftExitCode(result), result, summary: lines.join("\n") };
    } catch (err) {
      return failureOutcome(err, ctx.log, { error: errorLine(err) });
    }
  },
};
