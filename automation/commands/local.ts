// `local` (and `npm start`): the whole pipeline once on the embedded target; exit 0 only if every
// critical smoke probe passed. `local --serve` keeps the API up after the smoke tests until Ctrl-C;
// `--frontend-url URL` (repeatable or comma-separated) sets the origins a browser frontend may call from.
import * as path from "node:path";
import { CommandFailure, type CommandSpec, intOption, stringOption, UsageError } from "../command";
import { pipelineSummaryTable, runLocalPipeline } from "../local/pipeline";
import { LocalTargetError, parseFrontendOrigins } from "../local/target";
import { HANDLER_PREFERENCES, type HandlerPreference } from "../shared/select";

export const command: CommandSpec = {
  name: "local",
  summary: "Run the whole pipeline on the embedded target (DynamoDB Local + API emulation): detect, select, build, start, smoke tests, reports",
  usage: "[--serve] [--port N] [--db-path DIR] [--outbox DIR] [--frontend-url URL ...] [--handler auto|integrated|enhanced]",
  options: {
    serve: { type: "boolean", default: false },
    port: { type: "string" },
    "db-path": { type: "string" },
    outbox: { type: "string" },
    // Allowed CORS origins (default: the Astro dev server http://localhost:4321 and Vite's http://localhost:5173).
    "frontend-url": { type: "string", multiple: true },
    handler: { type: "string" },
  },
  async run(values, ctx) {
    const serve = values.serve === true;
    const handler = (stringOption(values, "handler") ?? "auto") as HandlerPreference;
    if (!HANDLER_PREFERENCES.includes(handler)) throw new UsageError(`--handler must be one of ${HANDLER_PREFERENCES.join(", ")} (got "${handler}")`);
    const port = intOption(values, "port", 0, 0, 65535);
    if (!serve && (values.port !== undefined || values["db-path"] !== undefined || values.outbox !== undefined || values["frontend-url"] !== undefined)) {
      throw new UsageError("--port, --db-path, --outbox and --frontend-url go with --serve");
    }
    let frontendOrigins: string[] | undefined;
    if (values["frontend-url"] !== undefined) {
      const raw = values["frontend-url"];
      try {
        frontendOrigins = parseFrontendOrigins((Array.isArray(raw) ? raw : [raw]).map(String));
      } catch (err) {
        if (err instanceof LocalTargetError) throw new UsageError(`--frontend-url: ${err.message}`);
        throw err;
      }
    }
    const dir = (name: string) => {
      const v = stringOption(values, name);
      return v === undefined ? undefined : path.resolve(v);
    };
    // The AWS SDK warns that its 2027 releases need Node 22; the functions run on nodejs22.x on AWS, and
    // this warning would only bury the pipeline's progress.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    // The functions run in this process and log to stdout (as on Lambda). stdout belongs to the
    // command's result, so their lines go to stderr, with the other logs, while the pipeline runs.
    const stdoutWrite = process.stdout.write.bind(process.stdout);
    process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
    let result;
    try {
      result = await runLocalPipeline({
        repoRoot: ctx.repoRoot,
        reportsDir: ctx.reportsDir,
        env: ctx.env,
        log: ctx.log,
        signal: ctx.signal,
        preference: handler,
        port: serve ? port : 0,
        dbPath: dir("db-path"),
        outboxDir: dir("outbox"),
        ...(frontendOrigins ? { frontendOrigins } : {}),
        serve: serve
          ? {
              onListening: (url) => {
                const line = `API listening on ${url}`;
                // The line scripts wait for: on stdout, unless stdout is reserved for --json.
                if (ctx.json) ctx.log.info(line);
                else stdoutWrite(`${line}\n`);
                ctx.log.info("press Ctrl-C to stop (DynamoDB Local is stopped cleanly)");
              },
            }
          : undefined,
      });
    } finally {
      process.stdout.write = stdoutWrite;
    }
    const table = pipelineSummaryTable(result);
    if (!result.smoke && result.error) {
      // The pipeline did not get as far as the tests: the table goes to stderr, the reason is the one line.
      ctx.log.info(table);
      throw new CommandFailure(result.error);
    }
    return { exitCode: result.passed ? 0 : 1, result, summary: table };
  },
};
