// `smoke --url URL [--write] [--origin ORIGIN] [--timeout-s N] [--retries N]`: the smoke suite against any deployment.
import { type CommandSpec, intOption, stringOption, UsageError } from "../command";
import { normaliseBaseUrl, normaliseOrigin, runSmokeTests, SmokeConfigError, type SmokeReport, writeSmokeReports } from "../verify/smoke";

/** Admin credentials for write mode: from the environment only, never from flags (they would land in shell history and CI logs). */
export function smokeCredentials(env: NodeJS.ProcessEnv): { email: string; password: string } | undefined {
  const email = env.SMOKE_ADMIN_EMAIL;
  const password = env.SMOKE_ADMIN_PASSWORD;
  return email && password ? { email, password } : undefined;
}

export function smokeSummaryLine(report: SmokeReport): string {
  const t = report.totals;
  return `smoke tests ${report.passed ? "PASSED" : "FAILED"} against ${report.base_url} (${report.mode}): ${t.passed} passed, ${t.failed} failed (${t.critical_failed} critical), ${t.skipped} skipped`;
}

export const command: CommandSpec = {
  name: "smoke",
  summary: "Smoke-test a deployed API (read-only unless --write); writes test-report.json and test-report.xml",
  usage: "--url URL [--write] [--origin ORIGIN] [--timeout-s N] [--retries N]   (write mode reads SMOKE_ADMIN_EMAIL / SMOKE_ADMIN_PASSWORD)",
  options: {
    url: { type: "string" },
    write: { type: "boolean", default: false },
    origin: { type: "string" },
    "timeout-s": { type: "string" },
    retries: { type: "string" },
  },
  async run(values, ctx) {
    const write = values.write === true;
    const timeoutS = intOption(values, "timeout-s", 10, 1, 300);
    const retries = intOption(values, "retries", 4, 0, 20);
    let baseUrl: string;
    let origin: string | undefined;
    try {
      baseUrl = normaliseBaseUrl(stringOption(values, "url", true));
      const rawOrigin = stringOption(values, "origin");
      origin = rawOrigin === undefined ? undefined : normaliseOrigin(rawOrigin);
    } catch (err) {
      if (err instanceof SmokeConfigError) throw new UsageError(err.message);
      throw err;
    }
    const credentials = write ? smokeCredentials(ctx.env) : undefined;
    if (write && !credentials) throw new UsageError("--write needs SMOKE_ADMIN_EMAIL and SMOKE_ADMIN_PASSWORD in the environment");
    const report = await ctx.log.step(`smoke tests against ${baseUrl}`, () =>
      runSmokeTests({ baseUrl, write, origin, timeoutS, retries, credentials, log: ctx.log, signal: ctx.signal }),
    );
    const files = writeSmokeReports(ctx.reportsDir, report);
    const failed = report.probes.filter((p) => p.status === "failed");
    const lines = [smokeSummaryLine(report), ...failed.map((p) => `  ✖ ${p.method} ${p.path}${p.critical ? "" : " (non-critical)"}: ${p.error}`), `reports: ${files.json}, ${files.xml}`];
    if (!report.passed && ctx.json) ctx.log.error(smokeSummaryLine(report));
    return { exitCode: report.passed ? 0 : 1, result: report, summary: lines.join("\n") };
  },
};
