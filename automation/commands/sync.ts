// `sync`: copy registry-api code into lambda/ (exact mirror, atomic swap, merged requirements).
import { type CommandSpec, intOption, stringOption } from "../command";
import { SYNC_SUMMARY_FILE, type SyncSummary, syncRepository } from "../sync/sync";

export function syncSummaryLine(s: SyncSummary): string {
  const at = s.commit ? `@${s.commit.slice(0, 12)}` : "";
  const req = s.requirements;
  const reqLine = req
    ? `requirements from ${req.source ?? "(none)"}: ${req.kept.length} kept, ${req.added.length} added, ${req.conflicts.length} conflicts, ${req.dropped.length} dev/test tools dropped`
    : "";
  return [
    `synced ${s.source}${at} into ${s.into}/: ${s.files_written} files${s.files_removed.length ? `, ${s.files_removed.length} stale removed` : ""}`,
    reqLine,
    ...(s.requirements?.conflicts ?? []).map((c) => `  conflict ${c.name}: API "${c.api}" wins over shim "${c.shim}"`),
    s.commit_branch ? `committed on ${s.commit_branch.name} (${s.commit_branch.commit.slice(0, 12)})${s.commit_branch.pruned.length ? `, pruned ${s.commit_branch.pruned.join(", ")}` : ""}` : "",
  ].filter(Boolean).join("\n");
}

export const command: CommandSpec = {
  name: "sync",
  summary: `Copy registry-api code (main.py, src/, merged requirements) into lambda/; writes ${SYNC_SUMMARY_FILE}`,
  usage: "--source <path|git-url> [--ref REF] [--into lambda] [--commit-branch] [--keep-branches N]",
  options: {
    source: { type: "string" },
    ref: { type: "string" },
    into: { type: "string" },
    "commit-branch": { type: "boolean", default: false },
    "keep-branches": { type: "string" },
  },
  async run(values, ctx) {
    const summary = await syncRepository({
      repoRoot: ctx.repoRoot,
      source: stringOption(values, "source", true),
      ref: stringOption(values, "ref"),
      into: stringOption(values, "into"),
      commitBranch: values["commit-branch"] === true,
      keepBranches: intOption(values, "keep-branches", 5, 1, 1000),
      reportsDir: ctx.reportsDir,
      log: ctx.log,
      signal: ctx.signal,
    });
    return { exitCode: 0, result: summary, summary: syncSummaryLine(summary) };
  },
};
