// The integrated (Python) package: what `sync`, `prepare`, the local target and the stack must agree on
// lives once here: which Python, what the synced code reads, and the environment that answers it.
// No heavy imports: the Pulumi program loads this file too.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseToml } from "smol-toml";
import { APP_TABLES, type AppTableName, type EnvProvider, HARDCODED_TABLES, INTEGRATED_ENV, type TableName } from "../../handlers/contract";

/** The command that prepares the integrated package (named in every error about it). */
export const INTEGRATED_PREPARE_COMMAND = "npx tsx automation/cli.ts prepare --handler integrated";
/** The shim's file, copied into the package root. */
export const SHIM_FILE = "integrated_api_handler.py";
/** Entry point of the Python shim inside the integrated package. */
export const INTEGRATED_HANDLER = "integrated_api_handler.handler";
/** The Python used when the synced app does not ask for a newer one. */
export const INTEGRATED_PYTHON_VERSION = "3.12";
/** The Lambda Python runtimes the integrated handler may run on, oldest first. */
export const LAMBDA_PYTHON_VERSIONS = ["3.12", "3.13"] as const;
export type LambdaPythonVersion = (typeof LAMBDA_PYTHON_VERSIONS)[number];
export const INTEGRATED_PLATFORM = "manylinux2014_x86_64";

/** What `prepare` writes to `repoPaths().integratedMarker` once the dependencies are installed. */
export interface IntegratedMarker {
  source_commit: string | null;
  requirements_sha256: string;
  python_version: string;
  platform: string;
  prepared_at: string;
}

export class IntegratedAppError extends Error {
  override name = "IntegratedAppError";
}

// ---------------------------------------------------------------- which Python

const minor = (v: string): number => Number(v.split(".")[1]);

/** The lowest 3.x a `requires-python` specifier accepts (`>=3.13`, `~=3.12`, `==3.13.*`), or undefined. */
function floorOf(spec: string): string | undefined {
  for (const part of spec.split(",").map((s) => s.trim())) {
    const m = /^(>=|~=|==|>)\s*3\.(\d+)/.exec(part);
    if (m) return `3.${m[1] === ">" ? Number(m[2]) + 1 : Number(m[2])}`;
  }
  return undefined;
}

/**
 * The Lambda Python for the synced app: the oldest supported runtime at or above what its
 * `.python-version` or `pyproject.toml` `requires-python` asks for; 3.12 when it asks for nothing.
 */
export function integratedPythonVersion(lambdaDir: string): { version: LambdaPythonVersion; reason: string } {
  const wanted: Array<{ v: string; from: string }> = [];
  const pinFile = path.join(lambdaDir, ".python-version");
  if (fs.existsSync(pinFile)) {
    const m = /^\s*(?:python-?|cpython-?)?3\.(\d+)/i.exec(fs.readFileSync(pinFile, "utf8"));
    if (m) wanted.push({ v: `3.${m[1]}`, from: ".python-version" });
  }
  const pyproject = path.join(lambdaDir, "pyproject.toml");
  if (fs.existsSync(pyproject)) {
    try {
      const spec = (parseToml(fs.readFileSync(pyproject, "utf8")) as { project?: { "requires-python"?: unknown } }).project?.["requires-python"];
      const floor = typeof spec === "string" ? floorOf(spec) : undefined;
      if (floor) wanted.push({ v: floor, from: `requires-python "${spec}"` });
    } catch {
      // An unreadable pyproject.toml is the requirements merge's to report.
    }
  }
  if (!wanted.length) return { version: INTEGRATED_PYTHON_VERSION, reason: "the app names no Python version" };
  const highest = wanted.reduce((a, b) => (minor(b.v) > minor(a.v) ? b : a));
  const fit = LAMBDA_PYTHON_VERSIONS.find((v) => minor(v) >= minor(highest.v));
  if (!fit) throw new IntegratedAppError(`the synced app needs Python ${highest.v} (${highest.from}); the integrated handler runs on ${LAMBDA_PYTHON_VERSIONS.join(" or ")}`);
  return { version: fit, reason: wanted.map((w) => `${w.from} asks for ${w.v}`).join("; ") };
}

// ---------------------------------------------------------------- what the code reads

/** What the synced code reads, as `sync` records it in sync-metadata.json. */
export interface AppReads {
  /** Every environment variable name read through os.getenv / os.environ.get / os.environ[...] / getenv, sorted. */
  environment_variables: string[];
  /** Every table name passed as a literal to Table(...), TableName=... or assigned to a `table_name`, sorted. */
  hardcoded_tables: string[];
}

const q = String.raw`\s*(?:[rbuRBU]{0,2})(["'])([^"'\\\n]+)\1`;
const ENV_PATTERNS = [
  new RegExp(String.raw`\bos\s*\.\s*getenv\s*\(${q}`, "g"),
  new RegExp(String.raw`\bos\s*\.\s*environ\s*\.\s*(?:get|setdefault|pop)\s*\(${q}`, "g"),
  new RegExp(String.raw`\bos\s*\.\s*environ\s*\[${q}\s*\]`, "g"),
  // `from os import getenv` / `environ`
  new RegExp(String.raw`(?<![.\w])getenv\s*\(${q}`, "g"),
  new RegExp(String.raw`(?<![.\w])environ\s*(?:\.\s*(?:get|setdefault|pop)\s*\(|\[)${q}`, "g"),
];
const TABLE_PATTERNS = [
  new RegExp(String.raw`\.Table\s*\(${q}`, "g"),
  new RegExp(String.raw`\bTableName\s*=${q}`, "g"),
  new RegExp(String.raw`\btable_name\s*(?::\s*\w+\s*)?=${q}`, "g"),
];
/** pydantic-settings fields read the upper-cased field name (plus an env_prefix): `class X(BaseSettings): jwt_secret: str`. */
const SETTINGS_CLASS = /^class\s+\w+\s*\(\s*(?:[\w.]*\.)?BaseSettings\s*\)\s*:\s*\n((?:[ \t]+.*\n|[ \t]*\n)*)/gm;

/** Python comments and docstrings would be scanned too; strip `#` comments (not inside strings, roughly). */
function withoutComments(source: string): string {
  return source.replace(/^[ \t]*#.*$/gm, "");
}

function settingsFields(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(SETTINGS_CLASS)) {
    const body = m[1]!;
    const prefix = /env_prefix\s*=\s*["']([^"']*)["']/.exec(body)?.[1] ?? "";
    for (const f of body.matchAll(/^[ \t]+([a-z_][a-z0-9_]*)\s*:\s*[^=\n]+(?:=.*)?$/gim)) {
      if (f[1] === "model_config" || f[1]!.startsWith("_")) continue;
      out.push(`${prefix}${f[1]}`.toUpperCase());
    }
  }
  return out;
}

/** Scan Python sources (file path -> text) for the variables and table names they read. */
export function scanPythonSources(sources: Iterable<string>): AppReads {
  const env = new Set<string>();
  const tables = new Set<string>();
  for (const raw of sources) {
    const text = withoutComments(raw);
    for (const re of ENV_PATTERNS) for (const m of text.matchAll(re)) env.add(m[2]!);
    for (const re of TABLE_PATTERNS) for (const m of text.matchAll(re)) tables.add(m[2]!);
    for (const name of settingsFields(text)) env.add(name);
  }
  return { environment_variables: [...env].sort(), hardcoded_tables: [...tables].sort() };
}

/** Scan every .py file of a synced tree (main.py and src/). */
export function scanAppDir(dir: string): AppReads {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === "__pycache__" || e.name.startsWith(".")) continue;
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && e.name.endsWith(".py")) files.push(full);
    }
  };
  if (fs.existsSync(path.join(dir, "main.py"))) files.push(path.join(dir, "main.py"));
  if (fs.existsSync(path.join(dir, "src"))) walk(path.join(dir, "src"));
  return scanPythonSources(files.sort().map((f) => fs.readFileSync(f, "utf8")));
}

/** What sync recorded, or (for a lambda/ synced before the scan existed) a scan of the tree itself. */
export function appReads(lambdaDir: string, recorded?: AppReads | null): AppReads {
  if (recorded && Array.isArray(recorded.environment_variables) && Array.isArray(recorded.hardcoded_tables)) return recorded;
  return scanAppDir(lambdaDir);
}

// ---------------------------------------------------------------- what provides it

/** The integrated function's needs, derived from what the app reads and the contract's providers. */
export interface IntegratedPlan {
  /** Variable -> provider, for every variable the function's environment carries. */
  variables: Record<string, Exclude<EnvProvider, { kind: "runtime" | "unset" | "forbidden" }>>;
  /** Variables read that nothing provides: `prepare` stops on these. */
  unknown: string[];
  /** Variables read and deliberately not set, with why. */
  unset: Record<string, string>;
  /** Contract tables the app uses, with DescribeTable where it calls it. */
  tables: Array<{ table: TableName; describe: boolean }>;
  /** App tables to provision, with DescribeTable where it calls it. */
  appTables: Array<{ table: AppTableName; describe: boolean }>;
  /** Hard-coded table names the contract does not know (kept as warnings: they may sit in modules the app never imports). */
  unknownTables: string[];
  imagesBucket: boolean;
}

/** Always set for the integrated function, whatever the app reads: identifies the handler in the console and the reports. */
export const INTEGRATED_ALWAYS: Readonly<Record<string, string>> = { HANDLER_KIND: "integrated" };

export function integratedPlan(reads: AppReads): IntegratedPlan {
  const plan: IntegratedPlan = { variables: {}, unknown: [], unset: {}, tables: [], appTables: [], unknownTables: [], imagesBucket: false };
  const tables = new Map<TableName, boolean>();
  const appTables = new Map<AppTableName, boolean>();
  for (const name of reads.environment_variables) {
    const provider = Object.hasOwn(INTEGRATED_ENV, name) ? INTEGRATED_ENV[name]! : undefined;
    if (!provider) {
      plan.unknown.push(name);
      continue;
    }
    switch (provider.kind) {
      case "runtime":
        break;
      case "unset":
      case "forbidden":
        plan.unset[name] = provider.why;
        break;
      default:
        plan.variables[name] = provider;
        if (provider.kind === "table") tables.set(provider.table, (tables.get(provider.table) ?? false) || Boolean(provider.describe));
        if (provider.kind === "appTable") appTables.set(provider.table, (appTables.get(provider.table) ?? false) || Boolean(provider.describe));
        if (provider.kind === "imagesBucket" || provider.kind === "imagesDomain") plan.imagesBucket = true;
    }
  }
  for (const literal of reads.hardcoded_tables) {
    const app = Object.hasOwn(HARDCODED_TABLES, literal) ? HARDCODED_TABLES[literal]! : undefined;
    if (app) appTables.set(app, appTables.get(app) ?? false);
    else plan.unknownTables.push(literal);
  }
  plan.tables = [...tables].map(([table, describe]) => ({ table, describe })).sort((a, b) => a.table.localeCompare(b.table));
  plan.appTables = APP_TABLES.filter((t) => appTables.has(t.name)).map((t) => ({ table: t.name, describe: appTables.get(t.name)! }));
  return plan;
}

/** How one target (the stack, the local target) turns providers into values. */
export interface EnvResolver<T> {
  /** `v2Name`: the variable, when it is a V2 table variable (config may name an existing table). */
  table(table: TableName, variable: string): T;
  appTable(table: AppTableName): T;
  /**
   * The variable and value that carry a secret: locally the app's own variable with the value; on AWS
   * `<variable>_PARAMETER` with the SSM parameter's name (the shim reads it into `<variable>` before import).
   */
  secret(secret: "jwtSecret" | "csrfSecret", variable: string): { name: string; value: T };
  config(value: "sesFromEmail" | "frontendUrl" | "jwtExpirationHours" | "corsOrigins"): T;
  value(provider: { aws: string; local: string }): T;
  imagesBucket(): T;
  imagesDomain(): T;
  literal(value: string): T;
}

/** The integrated function's environment: one rule for the stack and the local target (env parity). */
export function integratedEnvironment<T>(plan: IntegratedPlan, resolve: EnvResolver<T>): Record<string, T> {
  const env: Record<string, T> = {};
  for (const [name, p] of Object.entries(plan.variables)) {
    switch (p.kind) {
      case "table": env[name] = resolve.table(p.table, name); break;
      case "appTable": env[name] = resolve.appTable(p.table); break;
      case "secret": {
        const carried = resolve.secret(p.secret, name);
        env[carried.name] = carried.value;
        break;
      }
      case "config": env[name] = resolve.config(p.value); break;
      case "value": env[name] = resolve.value(p); break;
      case "imagesBucket": env[name] = resolve.imagesBucket(); break;
      case "imagesDomain": env[name] = resolve.imagesDomain(); break;
    }
  }
  for (const [name, value] of Object.entries(INTEGRATED_ALWAYS)) env[name] = resolve.literal(value);
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The message `prepare` stops with when the app reads variables nothing provides. */
export function describeUnknownVariables(unknown: readonly string[]): string {
  return `the synced app reads environment variables the stack cannot provide: ${unknown.join(", ")}. ` +
    "Add each to INTEGRATED_ENV in handlers/contract/integrated.ts with what provides it (or `unset` with why), then prepare again";
}
