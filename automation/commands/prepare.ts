// `prepare`: select the handler and build what it deploys → api-integration.json.
import { type CommandSpec, stringOption, writeReport } from "../command";
import { type IntegrationReport, prepareIntegration } from "../sync/prepare";
import { REPORT_FILES } from "../verify/reports";
import { handlerOption } from "./detect";

export function integrationSummary(r: IntegrationReport): string {
  const req = r.requirements;
  return [
    `handler: ${r.handler}${r.forced ? " (forced)" : ""} — ${r.reason}`,
    r.package_dir ? `package: ${r.package_dir} (${r.installed?.length ?? 0} distributions installed)` : `bundles: ${r.files_written.join(", ")}`,
    req ? `requirements: ${req.kept.length} kept, added ${req.added.join(", ") || "nothing"}, ${req.conflicts.length} conflicts, dropped ${req.dropped.join(", ") || "nothing"}` : "",
    ...(req?.conflicts ?? []).map((c) => `  conflict ${c.name}: API "${c.api}" wins over shim "${c.shim}"`),
  ].filter(Boolean).join("\n");
}

export const command: CommandSpec = {
  name: "prepare",
  summary: `Select the handler and build it (bundles, or the integrated Python package); writes ${REPORT_FILES.integration}`,
  usage: "[--handler auto|integrated|enhanced] [--pip-find-links DIR] [--python-version 3.12]   (PIP_INDEX_URL is honoured)",
  options: {
    handler: { type: "string" },
    "pip-find-links": { type: "string" },
    "python-version": { type: "string" },
  },
  async run(values, ctx) {
    const report = await prepareIntegration({
      repoRoot: ctx.repoRoot,
      preference: handlerOption(values),
      pipFindLinks: stringOption(values, "pip-find-links"),
      pythonVersion: stringOption(values, "python-version"),
      log: ctx.log,
      signal: ctx.signal,
      env: ctx.env,
    });
    const file = writeReport(ctx.reportsDir, REPORT_FILES.integration, report);
    return { exitCode: 0, result: report, summary: `${integrationSummary(report)}\nreport: ${file}` };
  },
};
