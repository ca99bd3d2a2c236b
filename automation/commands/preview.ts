// `preview --stack NAME [--markdown FILE] [--comment] [--policy-pack DIR]`: what a deployment would change,
// as a structured diff (preview.json), Markdown (FILE, the job summary) and optionally one PR comment.
import * as fs from "node:fs";
import * as path from "node:path";
import { CommandFailure, type CommandOutcome, type CommandSpec, errorLine, existingDirsOption, type Logger, stringOption, UsageError, writeReport, stackRun, type StackRunOptions } from "../command";
import { countsLine, type PreviewDiff, previewMarker, renderPreviewMarkdown } from "../engine/diff";
import { appendStepSummary, resolvePullRequest, type UpsertResult, upsertPullRequestComment } from "../engine/github";
import { evaluateGuard, type GuardFinding, guardNotice } from "../engine/guard";
import {
  applySecretsFromEnv,
  defaultPolicyPacks,
  diffOfFailure,
  type EngineStack,
  openStack,
  previewStack,
  PROJECT_NAME,
  type RetryPolicy,
} from "../engine/pulumi";
import type { OpMap } from "../engine/events";

export const PREVIEW_REPORT = "preview.json";

export interface PreviewRunOptions extends StackRunOptions {
  /** Write the Markdown here too. */
  markdownFile?: string;
  /** Upsert the PR comment (GITHUB_TOKEN; repo/PR from `repo`/`pr` or the Actions environment). */
  comment?: boolean;
  repo?: string;
  pr?: string;
  /** Policy pack folders; default: `policy/` when it holds a PulumiPolicy.yaml. */
  policyPacks?: string[];
  /** A stack to use instead of opening the real one (tests, or a caller that already opened it). */
  stack?: EngineStack;
  retry?: RetryPolicy;
  progress?: (text: string) => void;
}

export interface PreviewRunResult {
  stack: string;
  /** The engine's preview succeeded (changes or not). */
  succeeded: boolean;
  error?: string;
  change_summary: OpMap;
  changes: number;
  /** Deletes/replacements a deploy would refuse without --allow-destructive. */
  destructive: GuardFinding[];
  policy_violations: { mandatory: number; warning: number };
  markdown: string;
  files: { report: string; markdown?: string };
  step_summary: boolean;
  comment?: UpsertResult;
}

export async function runPreview(opts: PreviewRunOptions): Promise<PreviewRunResult> {
  const { log, signal } = opts;
  const isCi = Boolean(opts.env.CI);
  // Resolve the PR before the (slow) preview, so a wrong flag fails fast.
  const pr = opts.comment ? resolvePullRequest({ repo: opts.repo, pr: opts.pr }, opts.env) : undefined;
  if (opts.comment && !opts.env.GITHUB_TOKEN) throw new UsageError("--comment needs GITHUB_TOKEN in the environment");

  const stack = opts.stack ?? (await log.step(`select stack ${opts.stackName}`, () => openStack({ repoRoot: opts.repoRoot, stackName: opts.stackName, env: opts.env, log })));
  const secrets = await applySecretsFromEnv(stack, opts.env);
  if (secrets.length) log.info(`secret config set from the environment: ${secrets.join(", ")}`);
  const policyPacks = opts.policyPacks ?? defaultPolicyPacks(opts.repoRoot);

  let diff: PreviewDiff | undefined;
  let changeSummary: OpMap = {};
  let failure: unknown;
  try {
    const preview = await log.step(`preview ${stack.name}`, () => previewStack(stack, { signal, log, ci: isCi, policyPacks, progress: opts.progress, ...opts.retry }));
    diff = preview.diff;
    changeSummary = preview.changeSummary;
  } catch (err) {
    if (signal.aborted) throw err;
    failure = err;
    diff = diffOfFailure(err);
    if (!diff) throw err;
  }

  const verdict = evaluateGuard(diff, false);
  const notices = [guardNotice(verdict), failure ? `> ⛔ **The preview failed:** ${errorLine(failure)}` : undefined].filter((n): n is string => Boolean(n));
  const markdown = renderPreviewMarkdown(diff, { project: PROJECT_NAME, stack: stack.name, context: commitContext(opts.env), notices });

  const files: PreviewRunResult["files"] = { report: "" };
  if (opts.markdownFile) {
    fs.mkdirSync(path.dirname(path.resolve(opts.markdownFile)), { recursive: true });
    fs.writeFileSync(opts.markdownFile, markdown);
    files.markdown = path.resolve(opts.markdownFile);
  }
  const stepSummary = appendStepSummary(opts.env, markdown);

  let comment: UpsertResult | undefined;
  if (pr) {
    comment = await log.step(`comment on ${pr.repo}#${pr.number}`, () =>
      upsertPullRequestComment({ token: opts.env.GITHUB_TOKEN!, pr, marker: previewMarker(PROJECT_NAME, stack.name), body: markdown, apiUrl: opts.env.GITHUB_API_URL, signal }),
    );
    log.info(`PR comment ${comment.action}${comment.url ? `: ${comment.url}` : ""}`);
  }

  const result: PreviewRunResult = {
    stack: stack.name,
    succeeded: !failure,
    ...(failure ? { error: errorLine(failure) } : {}),
    change_summary: changeSummary,
    changes: diff.changes.length,
    destructive: verdict.findings,
    policy_violations: {
      mandatory: diff.policies.filter((p) => p.enforcementLevel === "mandatory").length,
      warning: diff.policies.filter((p) => p.enforcementLevel === "warning").length,
    },
    markdown,
    files,
    step_summary: stepSummary,
    ...(comment ? { comment } : {}),
  };
  const { markdown: _md, ...report } = result;
  files.report = writeReport(opts.reportsDir, PREVIEW_REPORT, { ...report, resources: diff.changes, diagnostics: diff.diagnostics, policies: diff.policies });
  if (failure) throw Object.assign(failure as Error, { previewResult: result });
  return result;
}

/** "for commit abc1234" when the CI names the commit. */
function commitContext(env: NodeJS.ProcessEnv): string | undefined {
  const sha = env.GITHUB_SHA ?? env.CODECATALYST_SOURCE_COMMIT_ID ?? env.CI_COMMIT_SHA;
  return sha && /^[0-9a-f]{7,40}$/i.test(sha) ? `for commit \`${sha.slice(0, 12)}\`` : undefined;
}

/** Log every line of a multi-line failure (the CLI prints only the first) and turn it into an outcome. */
export function failureOutcome(err: unknown, log: Logger, result: unknown): CommandOutcome {
  if (!(err instanceof CommandFailure)) throw err;
  const [first, ...rest] = err.message.split("\n");
  log.error(first);
  for (const line of rest) log.info(line);
  return { exitCode: err.exitCode, result, summary: undefined };
}

export const command: CommandSpec = {
  name: "preview",
  summary: "Preview the stack: structured diff (preview.json), Markdown (--markdown, job summary) and an optional PR comment",
  usage: "--stack NAME [--markdown FILE] [--comment [--repo OWNER/NAME] [--pr N]] [--policy-pack DIR]...   (secrets: JWT_SECRET, CSRF_SECRET; comment: GITHUB_TOKEN)",
  options: {
    stack: { type: "string" },
    markdown: { type: "string" },
    comment: { type: "boolean", default: false },
    repo: { type: "string" },
    pr: { type: "string" },
    "policy-pack": { type: "string", multiple: true },
  },
  async run(values, ctx) {
    const stackName = stringOption(values, "stack", true);
    const policyPacks = existingDirsOption(values, "policy-pack");
    try {
      const result = await runPreview({
        ...stackRun(ctx, stackName),
        markdownFile: stringOption(values, "markdown"),
        comment: values.comment === true,
        repo: stringOption(values, "repo"),
        pr: stringOption(values, "pr"),
        policyPacks,
      });
      const { markdown: _markdown, ...json } = result;
      const lines = [`preview of ${result.stack}: ${countsLine(result.change_summary)}`];
      if (result.destructive.length) lines.push(`a deploy would stop at the guard: ${result.destructive.map((f) => `${f.op} ${f.name}`).join(", ")}`);
      lines.push(`report: ${result.files.report}${result.files.markdown ? `, markdown: ${result.files.markdown}` : ""}`);
      return { exitCode: 0, result: json, summary: lines.join("\n") };
    } catch (err) {
      const partial = (err as { previewResult?: PreviewRunResult }).previewResult;
      const { markdown: _markdown, ...json } = partial ?? ({ markdown: "" } as PreviewRunResult);
      return failureOutcome(err, ctx.log, partial ? json : { error: errorLine(err) });
    }
  },
};
