// The driver's one entry point: `npx tsx automation/cli.ts <command> [flags]`.
// Thin on purpose: parse flags, run one command module, print its result, exit with its code.
import * as path from "node:path";
import { CommandFailure, type CommandSpec, createLogger, parseCommandArgs } from "./command";
import { REPO_ROOT } from "./shared/paths";

// require (not import()) keeps this CommonJS module loadable by tsx and by ts-node alike.
const lazy = (load: () => { command: CommandSpec }) => async () => load().command;

/** Every command, loaded lazily so one command does not pay for the others' imports. */
export const COMMANDS: Record<string, () => Promise<CommandSpec>> = {
  sync: lazy(() => require("./commands/sync")),
  detect: lazy(() => require("./commands/detect")),
  prepare: lazy(() => require("./commands/prepare")),
  smoke: lazy(() => require("./commands/smoke")),
  local: lazy(() => require("./commands/local")),
  notify: lazy(() => require("./commands/notify")),
  preview: lazy(() => require("./commands/preview")),
  deploy: lazy(() => require("./commands/deploy")),
  coordinate: lazy(() => require("./commands/coordinate")),
  ci: lazy(() => require("./commands/ci")),
  review: lazy(() => require("./commands/review")),
  drift: lazy(() => require("./commands/drift")),
  migrate: lazy(() => require("./commands/migrate")),
};

async function usage(): Promise<string> {
  const lines = ["usage: npx tsx automation/cli.ts <command> [--json] [--reports-dir DIR] [flags]", "", "commands:"];
  for (const load of Object.values(COMMANDS)) {
    const c = await load();
    lines.push(`  ${c.name.padEnd(11)} ${c.summary}`);
  }
  lines.push("", "`<command> --help` shows a command's flags.");
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const log = createLogger();
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${await usage()}\n`);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    log.error(`unknown command "${name}" (try --help)`);
    return 2;
  }
  const command = await load();
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      // CI runners follow SIGINT with SIGTERM: keep cancelling cleanly; only a second Ctrl-C forces the exit.
      if (signal === "SIGINT") process.exit(130);
      log.warn(`${signal} received: still stopping cleanly`);
      return;
    }
    log.warn(`${signal} received: stopping cleanly (Ctrl-C again exits at once)`);
    controller.abort(new CommandFailure(`interrupted by ${signal}`, 130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const values = parseCommandArgs(command, rest);
    if (values.help) {
      process.stdout.write(`usage: npx tsx automation/cli.ts ${command.name} ${command.usage}\n\n${command.summary}\n`);
      return 0;
    }
    const json = values.json === true;
    const reportsDir = path.resolve(typeof values["reports-dir"] === "string" ? values["reports-dir"] : path.join(process.cwd(), "reports"));
    const outcome = await command.run(values, { json, reportsDir, repoRoot: REPO_ROOT, log, signal: controller.signal, env: process.env });
    if (json) process.stdout.write(`${JSON.stringify(outcome.result, null, 2)}\n`);
    else if (outcome.summary) process.stdout.write(`${outcome.summary}\n`);
    return outcome.exitCode;
  } catch (err) {
    const failure = err instanceof CommandFailure ? err : undefined;
    const message = (err as Error)?.message ?? String(err);
    log.error(message.split("\n")[0]);
    if (!failure && process.env.DRIVER_DEBUG) log.error((err as Error)?.stack ?? "");
    return failure?.exitCode ?? 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
