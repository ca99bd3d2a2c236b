// `prepare`: build what the selected handler deploys. Enhanced: the esbuild bundles. Integrated: a
// fresh package folder with the synced code, the shim, and the merged requirements installed by pip
// for the Lambda platform (manylinux2014_x86_64, CPython 3.12, wheels only), then a marker that the
// Pulumi program checks before it deploys the package.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Bundle, bundleHandlers } from "../shared/build";
import { CommandFailure, type Logger, silentLogger } from "../command";
import { repoPaths } from "../shared/paths";
import { describeErrors, type MergeReport, mergeRequirements, readRequirementsFile, readShimRequirements, renderRequirements } from "./requirements";
import { type HandlerKind, type HandlerPreference, listFiles, selectHandler, type SyncMetadata } from "../shared/select";
import { MERGE_REPORT_FILE } from "./sync";
import { appReads, describeUnknownVariables, INTEGRATED_PLATFORM, type IntegratedMarker, type IntegratedPlan, integratedPlan, integratedPythonVersion, SHIM_FILE } from "../shared/integrated";

export { INTEGRATED_PLATFORM, type IntegratedMarker, SHIM_FILE } from "../shared/integrated";
export const INTEGRATION_REPORT_FILE = "api-integration.json";

export interface IntegrationReport {
  handler: HandlerKind;
  reason: string;
  forced: boolean;
  /** Files written, relative to the repository root (the integrated package's own code, not its dependencies). */
  files_written: string[];
  requirements: MergeReport | null;
  /** The integrated package folder (relative to the repository root), or null for the enhanced handler. */
  package_dir: string | null;
  /** Distributions pip installed into the package ("name version"). */
  installed?: string[];
  /** False when the dependencies were not installed (installDependencies: false): no marker, not deployable. */
  dependencies_installed?: boolean;
  marker?: IntegratedMarker;
  bundles?: Record<string, { file: string; bytes: number; sha256: string; fallback: boolean }>;
  /** The Lambda Python the package is built for, and why. */
  python?: { version: string; reason: string };
  /** What the synced app reads and what the stack gives it (variables, tables, bucket). */
  environment?: { provided: string[]; unset: Record<string, string>; tables: IntegratedPlan["tables"]; app_tables: IntegratedPlan["appTables"]; images_bucket: boolean; unknown_hardcoded_tables: string[] };
}

export interface PrepareOptions {
  repoRoot: string;
  preference?: HandlerPreference;
  /** A folder of wheels (offline mirror); with it pip does not contact an index unless PIP_INDEX_URL is set. */
  pipFindLinks?: string;
  /** Overrides the Python the app asks for; must match the function's runtime or the stack refuses the package. */
  pythonVersion?: string;
  /** The Python interpreter that runs pip (default python3). */
  python?: string;
  log?: Logger;
  signal?: AbortSignal;
  /** Default true. False builds the package without dependencies and writes no marker. */
  installDependencies?: boolean;
  env?: NodeJS.ProcessEnv;
}

export class PrepareError extends CommandFailure {
  override name = "PrepareError";
}

export async function prepareIntegration(opts: PrepareOptions): Promise<IntegrationReport> {
  const log = opts.log ?? silentLogger;
  const selection = selectHandler({ repoRoot: opts.repoRoot, preference: opts.preference ?? "auto" });
  const rel = (f: string) => path.relative(opts.repoRoot, f).split(path.sep).join("/");
  if (selection.kind === "enhanced") {
    const bundles = await log.step("bundle the TypeScript handlers (esbuild)", () => bundleHandlers({ repoRoot: opts.repoRoot }));
    const list = Object.values(bundles) as Bundle[];
    return {
      handler: "enhanced", reason: selection.reason, forced: selection.forced, files_written: list.map((b) => rel(b.file)),
      requirements: null, package_dir: null,
      bundles: Object.fromEntries(list.map((b) => [b.fn, { file: rel(b.file), bytes: b.bytes, sha256: b.sha256, fallback: b.fallback }])),
    };
  }
  return prepareIntegrated(opts, selection.reason, selection.forced, selection.sync.metadata?.source_commit ?? null, selection.sync.metadata?.reads ?? null, log, rel);
}

async function prepareIntegrated(opts: PrepareOptions, reason: string, forced: boolean, sourceCommit: string | null, recordedReads: SyncMetadata["reads"] | null, log: Logger, rel: (f: string) => string): Promise<IntegrationReport> {
  const paths = repoPaths(opts.repoRoot);
  // Fail closed: a variable nothing provides would run with the app's own default (a random key, a wrong table).
  const plan = integratedPlan(appReads(paths.lambdaDir, recordedReads));
  if (plan.unknown.length) throw new PrepareError(describeUnknownVariables(plan.unknown));
  for (const t of plan.unknownTables) log.warn(`the synced code hard-codes table "${t}", which the stack does not provide (fine if that module is never imported)`);
  let python: { version: string; reason: string };
  try {
    python = opts.pythonVersion ? { version: opts.pythonVersion, reason: "--python-version" } : integratedPythonVersion(paths.lambdaDir);
  } catch (err) {
    throw new PrepareError((err as Error).message);
  }
  const pythonVersion = python.version;
  if (!/^3\.\d{1,2}$/.test(pythonVersion)) throw new PrepareError(`--python-version must look like 3.12 (got "${pythonVersion}")`);
  const shim = path.join(opts.repoRoot, "handlers", "integrated", SHIM_FILE);
  if (!fs.existsSync(shim)) throw new PrepareError(`the integrated shim ${rel(shim)} is missing`);

  // lambda/requirements.txt is what sync merged; merging again is idempotent and also covers a
  // lambda/ filled by hand or by the old CI (which shipped test tools).
  const lambdaReqs = path.join(paths.lambdaDir, "requirements.txt");
  const api = fs.existsSync(lambdaReqs)
    ? readRequirementsFile(lambdaReqs, paths.lambdaDir)
    : { source: null, requirements: [], errors: [], notes: ["lambda/requirements.txt is absent: only the shim's requirements are installed"] };
  if (api.source) api.source = `lambda/${api.source}`;
  const merged = mergeRequirements({ api, shim: readShimRequirements(opts.repoRoot) });
  if (merged.report.errors.length) throw new PrepareError(`requirements cannot be merged: ${describeErrors(merged.report.errors)}`);
  const requirementsText = renderRequirements(merged.lines, merged.report);
  // The sync's merge saw the API's own file (dev tools, conflicts, hashes): report that one when lambda/ has it.
  const requirementsReport = syncMergeReport(paths.lambdaDir) ?? merged.report;

  fs.mkdirSync(paths.buildDir, { recursive: true });
  const staging = `${paths.integratedDir}.tmp-${randomBytes(4).toString("hex")}`;
  try {
    const files: string[] = [];
    await log.step("assemble the integrated package (synced code + shim)", () => {
      fs.mkdirSync(staging, { recursive: true });
      const copy = (from: string, relOut: string) => {
        const out = path.join(staging, relOut);
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.copyFileSync(from, out);
        files.push(relOut);
      };
      copy(path.join(paths.lambdaDir, "main.py"), "main.py");
      for (const f of listFiles(path.join(paths.lambdaDir, "src"), paths.lambdaDir)) {
        if (f.includes("__pycache__/") || f.endsWith(".pyc")) continue;
        copy(path.join(paths.lambdaDir, f), f);
      }
      copy(shim, SHIM_FILE);
      fs.writeFileSync(path.join(staging, "requirements.txt"), requirementsText);
      files.push("requirements.txt");
    });

    const install = opts.installDependencies ?? true;
    let installed: string[] = [];
    let marker: IntegratedMarker | undefined;
    if (install) {
      await log.step(`pip install ${merged.lines.length} requirements for ${INTEGRATED_PLATFORM} / CPython ${pythonVersion} (${python.reason})`, () =>
        pipInstall({ target: staging, requirementsFile: path.join(staging, "requirements.txt"), pythonVersion, findLinks: opts.pipFindLinks, python: opts.python, env: opts.env ?? process.env, signal: opts.signal }),
      );
      installed = installedDistributions(staging);
      marker = {
        source_commit: sourceCommit,
        requirements_sha256: createHash("sha256").update(requirementsText).digest("hex"),
        python_version: pythonVersion,
        platform: INTEGRATED_PLATFORM,
        prepared_at: new Date().toISOString(),
      };
      fs.writeFileSync(path.join(staging, path.relative(paths.integratedDir, paths.integratedMarker)), `${JSON.stringify(marker, null, 2)}\n`);
      files.push(path.relative(paths.integratedDir, paths.integratedMarker));
    } else {
      log.warn("dependencies not installed: the integrated package is not deployable until `prepare` installs them");
    }
    opts.signal?.throwIfAborted();
    // Swap the fresh package in; the old one (and any stale dependency) goes.
    fs.rmSync(paths.integratedDir, { recursive: true, force: true });
    fs.renameSync(staging, paths.integratedDir);
    return {
      handler: "integrated", reason, forced,
      files_written: files.map((f) => rel(path.join(paths.integratedDir, f))),
      requirements: requirementsReport,
      package_dir: rel(paths.integratedDir),
      installed,
      dependencies_installed: install,
      python,
      environment: {
        provided: Object.keys(plan.variables).sort(), unset: plan.unset, tables: plan.tables, app_tables: plan.appTables,
        images_bucket: plan.imagesBucket, unknown_hardcoded_tables: plan.unknownTables,
      },
      ...(marker ? { marker } : {}),
    };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function syncMergeReport(lambdaDir: string): MergeReport | null {
  const file = path.join(lambdaDir, MERGE_REPORT_FILE);
  if (!fs.existsSync(file)) return null;
  try {
    const report = JSON.parse(fs.readFileSync(file, "utf8")) as MergeReport;
    return Array.isArray(report.kept) && Array.isArray(report.dropped) ? report : null;
  } catch {
    return null;
  }
}

/** "name version" of every *.dist-info pip left in the package. */
function installedDistributions(dir: string): string[] {
  return fs.readdirSync(dir)
    .filter((n) => n.endsWith(".dist-info"))
    .map((n) => n.replace(/\.dist-info$/, "").replace(/-([^-]+)$/, " $1"))
    .sort();
}

export interface PipInstallOptions {
  target: string;
  requirementsFile: string;
  pythonVersion: string;
  findLinks?: string;
  python?: string;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** The pip command line for the Lambda platform (exported for the README and the tests). */
export function pipArguments(o: Omit<PipInstallOptions, "env" | "signal" | "python"> & { indexUrlSet: boolean }): string[] {
  const args = [
    "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-compile",
    "--platform", INTEGRATED_PLATFORM, "--only-binary=:all:", "--python-version", o.pythonVersion, "--implementation", "cp",
    "--target", o.target, "--upgrade", "-r", o.requirementsFile,
  ];
  if (o.findLinks) {
    args.push("--find-links", path.resolve(o.findLinks));
    // An offline mirror: do not wait on an unreachable index unless one is configured explicitly.
    if (!o.indexUrlSet) args.push("--no-index");
  }
  return args;
}

export async function pipInstall(o: PipInstallOptions): Promise<void> {
  const python = o.python ?? "python3";
  if (o.findLinks && !fs.existsSync(o.findLinks)) throw new PrepareError(`--pip-find-links ${o.findLinks} does not exist`);
  const args = pipArguments({ ...o, indexUrlSet: Boolean(o.env.PIP_INDEX_URL) });
  const { code, output, spawnError } = await run(python, args, o.env, o.signal);
  if (spawnError) {
    if ((spawnError as NodeJS.ErrnoException).code === "ENOENT") throw new PrepareError(`${python} not found: install Python 3 with pip to prepare the integrated handler`);
    throw new PrepareError(`cannot run ${python}: ${spawnError.message}`);
  }
  if (o.signal?.aborted) throw new PrepareError("prepare interrupted", 130);
  if (code === 0) return;
  if (/No module named pip/.test(output)) throw new PrepareError(`pip is not installed for ${python} (python3 -m ensurepip, or install python3-pip)`);
  throw new PrepareError(describePipFailure(output));
}

/** The package pip failed on, from its output, in one line. */
export function describePipFailure(output: string): string {
  const patterns: RegExp[] = [
    /No matching distribution found for ([^\s;]+)/,
    /Could not find a version that satisfies the requirement ([^\s;]+)/,
    /Cannot install ([^\s;]+?)(?: and |,|\s|$)/,
    /Failed (?:to )?build ([^\s;]+)/,
    /Invalid requirement: '([^']+)'/,
  ];
  for (const re of patterns) {
    const m = re.exec(output);
    if (m) return `pip could not install ${m[1]}: ${lastErrorLine(output)}`;
  }
  return `pip failed: ${lastErrorLine(output)}`;
}

function lastErrorLine(output: string): string {
  const lines = output.split("\n").map((l) => l.trim()).filter(Boolean);
  return [...lines].reverse().find((l) => l.startsWith("ERROR:")) ?? lines[lines.length - 1] ?? "no output";
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ code: number | null; output: string; spawnError?: Error }> {
  return new Promise((resolve) => {
    let output = "";
    const child = spawn(cmd, args, { env: { ...env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_ROOT_USER_ACTION: "ignore", PYTHONDONTWRITEBYTECODE: "1" }, stdio: ["ignore", "pipe", "pipe"], signal });
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", (err) => {
      if ((err as NodeJS.ErrnoException).code === "ABORT_ERR") return;
      resolve({ code: null, output, spawnError: err });
    });
    child.on("close", (code) => resolve({ code, output }));
  });
}
