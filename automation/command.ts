// The small framework every driver command shares: options, logging to stderr, progress,
// reports, and failures that end in one line and a non-zero exit code.
import * as fs from "node:fs";
import * as path from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Progress for a long step: prints when it starts and when it ends, with its duration. */
  step<T>(title: string, work: () => Promise<T> | T): Promise<T>;
}

export interface CommandContext {
  /** `--json`: stdout carries only the command's JSON result. */
  json: boolean;
  reportsDir: string;
  repoRoot: string;
  log: Logger;
  /** Aborted on SIGINT/SIGTERM: long steps stop cleanly. */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

/** What every step that runs the engine on a stack takes from the command's context. */
export interface StackRunOptions {
  repoRoot: string;
  reportsDir: string;
  stackName: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  signal: AbortSignal;
}

export function stackRun(ctx: CommandContext, stackName: string): StackRunOptions {
  return { repoRoot: ctx.repoRoot, reportsDir: ctx.reportsDir, stackName, env: ctx.env, log: ctx.log, signal: ctx.signal };
}

export interface CommandOutcome {
  exitCode: number;
  /** Printed as JSON on stdout with `--json`. */
  result: unknown;
  /** Printed on stdout without `--json`. */
  summary?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Usage line after the command name, e.g. `--source <path|git-url> [--ref REF]`. */
  usage: string;
  options: OptionSpec;
  /** Sub-actions taken as the first word (`review up|down|gc`); the chosen one is `values.action`. */
  actions?: readonly string[];
  run(values: OptionValues, ctx: CommandContext): Promise<CommandOutcome>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: OptionSpec = {
  json: { type: "boolean", default: false },
  "reports-dir": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
};

/** Parse a command's arguments exactly as the CLI does (the CI workflow test uses it too). Throws UsageError. */
export function parseCommandArgs(spec: Pick<CommandSpec, "name" | "options" | "actions">, args: string[]): OptionValues {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...spec.options }, allowPositionals: Boolean(spec.actions), strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split("\n")[0]} (see \`${spec.name} --help\`)`);
  }
  const values: OptionValues = { ...parsed.values };
  if (spec.actions && !values.help) {
    const [action, ...extra] = parsed.positionals;
    if (!action || !spec.actions.includes(action)) throw new UsageError(`${spec.name} needs one of: ${spec.actions.join(", ")}${action ? ` (got "${action}")` : ""}`);
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}" (see \`${spec.name} --help\`)`);
    values.action = action;
  }
  return values;
}

/** The first line of an error's message (or of the thrown value), for one-line reports and logs. */
export function errorLine(err: unknown): string {
  return ((err as Error)?.message ?? String(err)).split("\n")[0];
}

/** A failure the user can act on: printed as one line, exit code 1 (or the given one). */
export class CommandFailure extends Error {
  override name = "CommandFailure";
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** Bad flags or arguments: exit code 2. */
export class UsageError extends CommandFailure {
  override name = "UsageError";
  constructor(message: string) {
    super(message, 2);
  }
}

export function createLogger(stream: NodeJS.WritableStream = process.stderr): Logger {
  const write = (line: string) => stream.write(`${line}\n`);
  return {
    info: (m) => write(m),
    warn: (m) => write(`warning: ${m}`),
    error: (m) => write(`error: ${m}`),
    async step(title, work) {
      const started = Date.now();
      write(`▶ ${title}…`);
      try {
        const value = await work();
        write(`✔ ${title} (${formatDuration(Date.now() - started)})`);
        return value;
      } catch (err) {
        write(`✖ ${title} (${formatDuration(Date.now() - started)})`);
        throw err;
      }
    },
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  step: async (_title, work) => work(),
};

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Write a report atomically (temp file + rename) so a reader never sees half a file. */
export function writeReport(dir: string, name: string, content: unknown): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  const text = typeof content === "string" ? content : `${JSON.stringify(content, null, 2)}\n`;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return file;
}

/** Read a string option, with a clear error when it is required and absent. */
export function stringOption(values: OptionValues, name: string, required: true): string;
export function stringOption(values: OptionValues, name: string, required?: false): string | undefined;
export function stringOption(values: OptionValues, name: string, required = false): string | undefined {
  const value = values[name];
  if (value === undefined || value === "") {
    if (required) throw new UsageError(`--${name} is required`);
    return undefined;
  }
  if (typeof value !== "string") throw new UsageError(`--${name} takes a value`);
  return value;
}

/** Parse a positive integer option within bounds. */
export function intOption(values: OptionValues, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number (got "${raw}")`);
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max} (got ${n})`);
  return n;
}

/** A repeatable option naming folders that must exist (e.g. `--policy-pack DIR`), resolved to absolute paths. */
export function existingDirsOption(values: OptionValues, name: string): string[] | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const dirs = (Array.isArray(raw) ? raw : [raw]).map((d) => path.resolve(String(d)));
  for (const dir of dirs) if (!fs.existsSync(dir)) throw new UsageError(`--${name} ${dir} does not exist`);
  return dirs;
}
