// Repository sync: registry-api code (a git URL, a local git repository or a plain folder) → lambda/.
// An exact mirror of `src/` and `main.py`, the merged requirements, the app's Dockerfile.lambda and
// `sync-metadata.json` (the old fields + a sha256 manifest of every file written). Built in a temp
// folder next to lambda/ and swapped in, so a failed or interrupted sync leaves the previous state.
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { simpleGit, type SimpleGit } from "simple-git";
import { CommandFailure, type Logger, silentLogger, UsageError, writeReport } from "../command";
import { describeErrors, type MergeReport, mergeForSource } from "./requirements";
import { scanAppDir } from "../shared/integrated";
import { sha256File, type SyncMetadata } from "../shared/select";

/** `source_commit` of a sync from a folder that is not a git repository. */
export const UNVERSIONED_COMMIT = "unversioned";
export const SYNC_BRANCH_PREFIX = "api-sync-";
export const SYNC_SUMMARY_FILE = "sync-summary.json";
/** Written next to the merged lambda/requirements.txt: the MergeReport of the sync. */
export const MERGE_REPORT_FILE = "requirements-merge.json";
/** Files copied from the source root besides src/ and main.py, when present: the app's image definition,
 * what names its Python version, and (below) every other root file its Dockerfile COPYs. */
const OPTIONAL_ROOT_FILES = ["Dockerfile.lambda", "pyproject.toml", "uv.lock", ".python-version"];
const APP_DOCKERFILE = "Dockerfile.lambda";
/** Never copied: interpreter caches are not source. */
const SKIPPED = (name: string) => name === "__pycache__" || name.endsWith(".pyc") || name.endsWith(".pyo");

export type SourceKind = "git-url" | "local-repo" | "local-path";

export interface SyncOptions {
  repoRoot: string;
  /** A local path or a git URL (https, ssh, git@host:path, file://). */
  source: string;
  /** Branch, tag or commit SHA (git sources only); default: the source's default branch (HEAD). */
  ref?: string;
  /** Destination folder relative to repoRoot (default `lambda`); must stay inside the repository. */
  into?: string;
  /** Commit the synced folder on a new `api-sync-<UTC timestamp>` branch of the project repository. */
  commitBranch?: boolean;
  /** With commitBranch: how many api-sync-* branches to keep (newest first). Default 5. */
  keepBranches?: number;
  /** The coordination strategy that caused this sync (kept in sync-metadata.json). */
  deploymentStrategy?: string;
  coordinated?: boolean;
  /** When set, sync-summary.json is written there (also when the sync fails). */
  reportsDir?: string;
  log?: Logger;
  signal?: AbortSignal;
  /** Called after each file is written to the staging folder (progress; tests use it to fail mid-way). */
  onFileWritten?: (relPath: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface SyncSummary {
  status: "synced" | "failed";
  timestamp: string;
  source: string;
  source_kind: SourceKind | null;
  ref: string | null;
  ref_type: "branch" | "tag" | "commit" | "default" | null;
  commit: string | null;
  into: string;
  files_written: number;
  files_removed: string[];
  requirements: MergeReport | null;
  dockerfile: boolean;
  commit_branch: { name: string; commit: string; pruned: string[] } | null;
  duration_ms: number;
  error?: string;
}

export class SyncError extends CommandFailure {
  override name = "SyncError";
}

const GIT_ENV_ALLOWED = ["GIT_TERMINAL_PROMPT", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"];

function git(baseDir: string, signal?: AbortSignal, extraEnv: Record<string, string> = {}, baseEnv: NodeJS.ProcessEnv = process.env): SimpleGit {
  const g = simpleGit({ baseDir, abort: signal, allowEnvironment: GIT_ENV_ALLOWED });
  // Ambient GIT_* variables (e.g. GIT_DIR when run from a hook) would redirect these commands, and
  // simple-git refuses editor/pager/askpass variables passed explicitly: drop them.
  // A commit identity from the environment (GIT_AUTHOR_*, GIT_COMMITTER_*) is kept.
  const ambient = Object.fromEntries(Object.entries(baseEnv).filter(([k]) => /^git_(author|committer)_(name|email)$/i.test(k) || !/^(git_.*|editor|visual|pager|prefix|ssh_askpass)$/i.test(k)));
  // Never wait for a credentials prompt in CI.
  return g.env({ ...ambient, GIT_TERMINAL_PROMPT: "0", ...extraEnv });
}

/** A URL with any user:password@ removed, for metadata and logs. */
export function redactUrl(source: string): string {
  return source.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@]*@/, "$1");
}

export function isGitUrl(source: string): boolean {
  return /^(https?|ssh|git|file):\/\//.test(source) || /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.test(source);
}

/** Sync the source into the repository. Throws SyncError (after writing a failed summary when asked). */
export async function syncRepository(opts: SyncOptions): Promise<SyncSummary> {
  const started = Date.now();
  const log = opts.log ?? silentLogger;
  const into = opts.into ?? "lambda";
  const summary: SyncSummary = {
    status: "failed", timestamp: new Date().toISOString(), source: redactUrl(opts.source), source_kind: null, ref: opts.ref ?? null,
    ref_type: null, commit: null, into, files_written: 0, files_removed: [], requirements: null, dockerfile: false, commit_branch: null, duration_ms: 0,
  };
  try {
    await runSync(opts, summary, log);
    summary.status = "synced";
    return summary;
  } catch (err) {
    summary.error = (err as Error).message;
    if (err instanceof CommandFailure) throw err;
    if (opts.signal?.aborted) throw new SyncError("sync interrupted; the previous lambda/ is unchanged", 130);
    throw new SyncError(`sync failed: ${(err as Error).message.split("\n")[0]}`);
  } finally {
    summary.duration_ms = Date.now() - started;
    if (opts.reportsDir) writeReport(opts.reportsDir, SYNC_SUMMARY_FILE, summary);
  }
}

async function runSync(opts: SyncOptions, summary: SyncSummary, log: Logger): Promise<void> {
  const repoRoot = path.resolve(opts.repoRoot);
  const dest = resolveInto(repoRoot, summary.into);
  if (opts.source.startsWith("-")) throw new UsageError(`--source must be a path or a git URL (got "${opts.source}")`);
  const keep = opts.keepBranches ?? 5;
  if (opts.commitBranch && (!Number.isInteger(keep) || keep < 1)) throw new UsageError("--keep-branches must be at least 1");

  recoverInterruptedSwap(dest);
  const checkout = await log.step(`fetch ${summary.source}${opts.ref ? ` at ${opts.ref}` : ""}`, () => materialise(opts, summary));
  try {
    const sourceDir = checkout.dir;
    requireLayout(sourceDir, summary.source);

    const merge = mergeForSource(sourceDir, repoRoot);
    summary.requirements = merge.report;
    if (merge.report.errors.length) throw new SyncError(`requirements of ${summary.source} cannot be merged: ${describeErrors(merge.report.errors)}`);
    for (const c of merge.report.conflicts) log.warn(`requirement conflict for ${c.name}: the API's "${c.api}" wins over the shim's "${c.shim}"`);
    if (merge.report.dropped.length) log.info(`development/test tools left out: ${merge.report.dropped.join(", ")}`);

    const staging = `${path.join(path.dirname(dest), `.${path.basename(dest)}.sync-`)}${randomBytes(4).toString("hex")}`;
    try {
      const files: Record<string, string> = {};
      await log.step(`copy main.py and src/ into ${summary.into}/`, async () => {
        const copier = new MirrorCopier(sourceDir, staging, files, opts);
        fs.mkdirSync(staging, { recursive: true });
        copier.copyFile("main.py");
        copier.copyTree("src");
        for (const name of rootFilesToCopy(sourceDir)) copier.copyFile(name);
        summary.dockerfile = fs.existsSync(path.join(sourceDir, APP_DOCKERFILE));
        copier.writeFile("requirements.txt", merge.text);
        // What the merge did, for `prepare`'s report (the API's own file is not in lambda/).
        copier.writeFile(MERGE_REPORT_FILE, `${JSON.stringify(merge.report, null, 2)}\n`);
      });
      const metadata: SyncMetadata = {
        sync_timestamp: summary.timestamp,
        source_repository: summary.source,
        source_branch: opts.ref ?? checkout.defaultBranch ?? "HEAD",
        source_commit: checkout.commit ?? UNVERSIONED_COMMIT,
        deployment_strategy: opts.deploymentStrategy ?? "manual_sync",
        coordinated_deployment: opts.coordinated ?? false,
        requirements_source: merge.report.source,
        // What the code reads, so the stack can provide exactly that (and `prepare` can refuse what it cannot).
        reads: scanAppDir(staging),
        files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => byCodePoint(a, b))),
      };
      fs.writeFileSync(path.join(staging, "sync-metadata.json"), `${JSON.stringify(metadata, null, 2)}\n`);
      summary.files_written = Object.keys(files).length;
      summary.files_removed = staleFiles(dest, files);
      opts.signal?.throwIfAborted();
      swapIn(staging, dest);
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
    log.info(`synced ${summary.files_written} files from ${summary.source}${checkout.commit ? `@${checkout.commit.slice(0, 12)}` : ""} into ${summary.into}/` +
      (summary.files_removed.length ? ` (${summary.files_removed.length} stale files removed)` : ""));

    if (opts.commitBranch) {
      summary.commit_branch = await log.step("commit the sync on an api-sync branch", () =>
        commitSyncBranch({ repoRoot, into: summary.into, keep, message: `api sync from ${summary.source}@${checkout.commit ?? UNVERSIONED_COMMIT}`, signal: opts.signal, log, env: opts.env }),
      );
    }
  } finally {
    checkout.cleanup();
  }
}

/** Locale-independent order, so the manifest is byte-identical on every machine. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The optional root files present in the source, plus the root files its Dockerfile.lambda COPYs. */
function rootFilesToCopy(sourceDir: string): string[] {
  const names = new Set(OPTIONAL_ROOT_FILES.filter((n) => fs.existsSync(path.join(sourceDir, n))));
  const dockerfile = path.join(sourceDir, APP_DOCKERFILE);
  if (fs.existsSync(dockerfile)) {
    for (const line of fs.readFileSync(dockerfile, "utf8").split("\n")) {
      const m = /^\s*(?:COPY|ADD)\s+(.+)$/i.exec(line);
      if (!m) continue;
      // Every source but the destination; flags (--chown=…) and folders (src/ is synced anyway) are skipped.
      const parts = m[1]!.trim().split(/\s+/).filter((p) => !p.startsWith("--"));
      for (const src of parts.slice(0, -1)) {
        const rel = src.replace(/^\.\//, "");
        if (/^[\w.-]+$/.test(rel) && rel !== "main.py" && fs.existsSync(path.join(sourceDir, rel)) && fs.statSync(path.join(sourceDir, rel)).isFile()) names.add(rel);
      }
    }
  }
  return [...names].sort();
}

function resolveInto(repoRoot: string, into: string): string {
  if (path.isAbsolute(into) || into.split(/[\\/]/).includes("..") || into.trim() === "" || into === ".") {
    throw new UsageError(`--into must be a folder inside the repository, without ".." (got "${into}")`);
  }
  const dest = path.resolve(repoRoot, into);
  if (path.relative(repoRoot, dest).split(path.sep)[0] === ".git") throw new UsageError("--into cannot be inside .git");
  return dest;
}

function joinLabel(label: string, name: string): string {
  return isGitUrl(label) ? `${label.replace(/\/+$/, "")}/${name}` : path.join(label, name);
}

function requireLayout(sourceDir: string, label: string): void {
  const main = path.join(sourceDir, "main.py");
  const src = path.join(sourceDir, "src");
  if (!fs.existsSync(main)) throw new SyncError(`${label} has no main.py (expected at ${joinLabel(label, "main.py")}): not a registry-api checkout`);
  if (!fs.existsSync(src) || !fs.statSync(src).isDirectory()) throw new SyncError(`${label} has no src/ folder (expected at ${joinLabel(label, "src")}): not a registry-api checkout`);
}

// ---------------------------------------------------------------- getting the source

interface Checkout {
  dir: string;
  commit: string | null;
  defaultBranch: string | null;
  cleanup(): void;
}

async function materialise(opts: SyncOptions, summary: SyncSummary): Promise<Checkout> {
  if (isGitUrl(opts.source)) {
    summary.source_kind = "git-url";
    return shallowCheckout(opts.source, opts, summary);
  }
  const local = path.resolve(opts.source);
  if (!fs.existsSync(local) || !fs.statSync(local).isDirectory()) throw new SyncError(`source ${opts.source} is not a folder or a git URL`);
  summary.source = local;
  const isRepoRoot = fs.existsSync(path.join(local, ".git")) && (await git(local, opts.signal, {}, opts.env).revparse(["--show-toplevel"]).then((top) => fs.realpathSync(top.trim()) === fs.realpathSync(local), () => false));
  if (isRepoRoot) {
    // Clone the committed state so the commit is known; uncommitted edits are not synced.
    summary.source_kind = "local-repo";
    const status = await git(local, opts.signal, {}, opts.env).status().catch(() => undefined);
    if (status && !status.isClean()) (opts.log ?? silentLogger).warn(`${local} has uncommitted changes: they are not synced (the sync takes a commit)`);
    return shallowCheckout(`file://${local}`, opts, summary);
  }
  if (opts.ref) throw new UsageError(`--ref needs a git source, but ${local} is not the root of a git repository`);
  summary.source_kind = "local-path";
  return { dir: local, commit: null, defaultBranch: null, cleanup() {} };
}

/** Fetch exactly one commit (depth 1) of a branch, tag or SHA into a fresh temp repository. */
async function shallowCheckout(url: string, opts: SyncOptions, summary: SyncSummary): Promise<Checkout> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "api-sync-"));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const g = git(dir, opts.signal, {}, opts.env);
    await g.init();
    const remoteRefs = await listRemote(g, url);
    let refspec: string;
    let defaultBranch: string | null = null;
    const ref = opts.ref;
    if (!ref) {
      summary.ref_type = "default";
      defaultBranch = remoteRefs.headBranch;
      refspec = "HEAD";
    } else if (remoteRefs.refs.has(`refs/heads/${ref}`)) {
      summary.ref_type = "branch";
      refspec = `refs/heads/${ref}`;
    } else if (remoteRefs.refs.has(`refs/tags/${ref}`)) {
      summary.ref_type = "tag";
      refspec = `refs/tags/${ref}`;
    } else if (/^[0-9a-f]{7,40}$/i.test(ref)) {
      summary.ref_type = "commit";
      refspec = ref;
    } else {
      throw new SyncError(`ref "${ref}" is not a branch, tag or commit of ${redactUrl(url)}`);
    }
    try {
      await g.raw(["fetch", "--quiet", "--depth", "1", "--no-tags", url, refspec]);
    } catch (err) {
      if (summary.ref_type !== "commit") throw err;
      // Servers that refuse a SHA (or an abbreviated one) in a shallow fetch: fetch everything, then look it up.
      await g.raw(["fetch", "--quiet", "--no-tags", url, "+refs/heads/*:refs/remotes/src/*", "+refs/tags/*:refs/tags/*"]);
    }
    const target = summary.ref_type === "commit" ? await resolveCommit(g, ref!) : "FETCH_HEAD";
    await g.raw(["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", target]);
    const commit = (await g.revparse(["HEAD"])).trim();
    summary.commit = commit;
    return { dir, commit, defaultBranch, cleanup };
  } catch (err) {
    cleanup();
    if (err instanceof CommandFailure) throw err;
    if (opts.signal?.aborted) throw new SyncError("sync interrupted; the previous lambda/ is unchanged", 130);
    throw new SyncError(`cannot fetch ${redactUrl(url)}${opts.ref ? ` at ${opts.ref}` : ""}: ${redactUrl(lastLine((err as Error).message))}`);
  }
}

async function resolveCommit(g: SimpleGit, ref: string): Promise<string> {
  try {
    return (await g.revparse(["--verify", "--quiet", `${ref}^{commit}`])).trim();
  } catch {
    throw new SyncError(`ref "${ref}" is not a branch, tag or commit of the source`);
  }
}

async function listRemote(g: SimpleGit, url: string): Promise<{ refs: Set<string>; headBranch: string | null }> {
  const out = await g.raw(["ls-remote", "--symref", url]);
  const refs = new Set<string>();
  let headBranch: string | null = null;
  for (const line of out.split("\n")) {
    const sym = /^ref:\s+refs\/heads\/(\S+)\s+HEAD$/.exec(line);
    if (sym) headBranch = sym[1]!;
    const m = /^[0-9a-f]{40,64}\s+(\S+)$/.exec(line);
    if (m) refs.add(m[1]!.replace(/\^\{\}$/, ""));
  }
  return { refs, headBranch };
}

function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => l.startsWith("fatal:")) ?? lines[lines.length - 1] ?? text;
}

// ---------------------------------------------------------------- copying safely

class MirrorCopier {
  private readonly rootReal: string;
  constructor(
    private readonly sourceDir: string,
    private readonly staging: string,
    private readonly files: Record<string, string>,
    private readonly opts: Pick<SyncOptions, "signal" | "onFileWritten">,
  ) {
    this.rootReal = fs.realpathSync(sourceDir);
  }

  /** Resolve a source entry, refusing anything that leaves the source or is not a file/folder. */
  private inspect(rel: string, visiting: Set<string>): { real: string; kind: "file" | "dir" } {
    const segments = rel.split("/");
    if (segments.includes("..") || segments.includes(".git")) throw new SyncError(`refusing ${rel}: ".." and ".git" paths are never synced`);
    const full = path.join(this.sourceDir, ...segments);
    const lst = fs.lstatSync(full);
    let real = full;
    if (lst.isSymbolicLink()) {
      const target = fs.readlinkSync(full);
      try {
        real = fs.realpathSync(full);
      } catch {
        throw new SyncError(`refusing ${rel}: symlink to ${target} is broken`);
      }
      if (real !== this.rootReal && !real.startsWith(this.rootReal + path.sep)) {
        throw new SyncError(`refusing ${rel}: symlink to ${target} leaves the source`);
      }
      if (path.relative(this.rootReal, real).split(path.sep).includes(".git")) throw new SyncError(`refusing ${rel}: symlink into .git`);
    }
    const st = fs.statSync(real);
    if (st.isDirectory()) {
      if (visiting.has(real)) throw new SyncError(`refusing ${rel}: symlink loop`);
      return { real, kind: "dir" };
    }
    if (st.isFile()) return { real, kind: "file" };
    throw new SyncError(`refusing ${rel}: not a regular file or folder`);
  }

  copyFile(rel: string): void {
    const { real, kind } = this.inspect(rel, new Set());
    if (kind !== "file") throw new SyncError(`refusing ${rel}: expected a file, found a folder`);
    this.place(rel, real);
  }

  copyTree(rel: string, visiting = new Set<string>()): void {
    const { real, kind } = this.inspect(rel, visiting);
    if (kind !== "dir") throw new SyncError(`refusing ${rel}: expected a folder`);
    fs.mkdirSync(path.join(this.staging, ...rel.split("/")), { recursive: true });
    visiting.add(real);
    for (const entry of fs.readdirSync(path.join(this.sourceDir, ...rel.split("/")), { withFileTypes: true }).sort((a, b) => byCodePoint(a.name, b.name))) {
      if (SKIPPED(entry.name)) continue;
      const child = `${rel}/${entry.name}`;
      if (this.inspect(child, visiting).kind === "dir") this.copyTree(child, visiting);
      else this.place(child, this.inspect(child, visiting).real);
    }
    visiting.delete(real);
  }

  writeFile(rel: string, content: string): void {
    const out = path.join(this.staging, rel);
    fs.writeFileSync(out, content);
    this.record(rel, out);
  }

  private place(rel: string, real: string): void {
    this.opts.signal?.throwIfAborted();
    const out = path.join(this.staging, ...rel.split("/"));
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.copyFileSync(real, out);
    this.record(rel, out);
  }

  private record(rel: string, out: string): void {
    this.files[rel] = sha256File(out);
    this.opts.onFileWritten?.(rel);
  }
}

function staleFiles(dest: string, written: Record<string, string>): string[] {
  if (!fs.existsSync(dest)) return [];
  const out: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIPPED(e.name)) walk(path.join(dir, e.name), rel);
      } else if (!(rel in written) && rel !== "sync-metadata.json" && !SKIPPED(e.name)) out.push(rel);
    }
  };
  walk(dest, "");
  return out.sort();
}

// ---------------------------------------------------------------- the swap

function backupPath(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.previous`);
}

/** A crash between the two renames of a swap leaves the previous tree in the backup: put it back. */
function recoverInterruptedSwap(dest: string): void {
  const backup = backupPath(dest);
  if (!fs.existsSync(backup)) return;
  if (fs.existsSync(dest)) fs.rmSync(backup, { recursive: true, force: true });
  else fs.renameSync(backup, dest);
}

/** Replace dest with staging: two renames on one filesystem; the old tree is removed only after. */
function swapIn(staging: string, dest: string): void {
  const backup = backupPath(dest);
  const hadPrevious = fs.existsSync(dest);
  if (hadPrevious) fs.renameSync(dest, backup);
  try {
    fs.renameSync(staging, dest);
  } catch (err) {
    if (hadPrevious) fs.renameSync(backup, dest);
    throw err;
  }
  if (hadPrevious) fs.rmSync(backup, { recursive: true, force: true });
}

// ---------------------------------------------------------------- api-sync branches

/** `api-sync-20260131T235959Z` */
export function syncBranchName(now: Date): string {
  return `${SYNC_BRANCH_PREFIX}${now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z")}`;
}

/**
 * Commit `into/` on a new api-sync-* branch without touching the user's checkout or index: a
 * temporary index starts from HEAD, takes the synced folder, and becomes a commit whose parent is
 * HEAD; only the new branch ref points at it. Older api-sync-* branches beyond `keep` are deleted.
 */
export async function commitSyncBranch(opts: { repoRoot: string; into: string; keep: number; message: string; signal?: AbortSignal; log?: Logger; now?: Date; env?: NodeJS.ProcessEnv }): Promise<{ name: string; commit: string; pruned: string[] }> {
  const log = opts.log ?? silentLogger;
  const base = git(opts.repoRoot, opts.signal, {}, opts.env);
  const top = await base.revparse(["--show-toplevel"]).catch(() => {
    throw new SyncError(`--commit-branch needs ${opts.repoRoot} to be a git repository`);
  });
  const head = await base.revparse(["--verify", "--quiet", "HEAD"]).then((s) => s.trim(), () => null);
  const identity: Record<string, string> = {};
  const email = await base.raw(["config", "user.email"]).catch(() => "");
  const env = opts.env ?? process.env;
  if (!email.trim() && !(env.GIT_AUTHOR_EMAIL && env.GIT_COMMITTER_EMAIL)) {
    Object.assign(identity, { GIT_AUTHOR_NAME: "api-sync", GIT_AUTHOR_EMAIL: "api-sync@localhost", GIT_COMMITTER_NAME: "api-sync", GIT_COMMITTER_EMAIL: "api-sync@localhost" });
    log.warn("git user.email is not set: committing as api-sync <api-sync@localhost>");
  }
  const indexDir = fs.mkdtempSync(path.join(os.tmpdir(), "api-sync-index-"));
  try {
    const g = git(top.trim(), opts.signal, { GIT_INDEX_FILE: path.join(indexDir, "index"), ...identity }, opts.env);
    if (head) await g.raw(["read-tree", head]);
    else await g.raw(["read-tree", "--empty"]);
    const rel = path.relative(top.trim(), path.resolve(opts.repoRoot, opts.into)).split(path.sep).join("/");
    await g.raw(["add", "--all", "--", rel]);
    const tree = (await g.raw(["write-tree"])).trim();
    const commit = (await g.raw(["commit-tree", tree, ...(head ? ["-p", head] : []), "-m", opts.message])).trim();
    let name = syncBranchName(opts.now ?? new Date());
    const existing = new Set(await syncBranches(g));
    for (let n = 2; existing.has(name); n++) name = `${syncBranchName(opts.now ?? new Date())}-${n}`;
    await g.raw(["branch", name, commit]);
    const pruned = await pruneSyncBranches(g, opts.keep, log);
    return { name, commit, pruned };
  } finally {
    fs.rmSync(indexDir, { recursive: true, force: true });
  }
}

async function syncBranches(g: SimpleGit): Promise<string[]> {
  const out = await g.raw(["for-each-ref", "--format=%(refname:short)", `refs/heads/${SYNC_BRANCH_PREFIX}*`]);
  return out.split("\n").map((l) => l.trim()).filter(Boolean);
}

/** Keep the newest `keep` api-sync-* branches (names sort by their UTC timestamp); never the checked-out one. */
async function pruneSyncBranches(g: SimpleGit, keep: number, log: Logger): Promise<string[]> {
  const byAge = (await syncBranches(g)).sort(compareSyncBranches).reverse();
  const current = (await g.raw(["symbolic-ref", "--quiet", "--short", "HEAD"]).catch(() => "")).trim();
  const pruned: string[] = [];
  for (const name of byAge.slice(keep)) {
    if (name === current) {
      log.warn(`${name} is checked out: not pruned`);
      continue;
    }
    await g.raw(["branch", "-D", name]);
    pruned.push(name);
  }
  return pruned;
}

function compareSyncBranches(a: string, b: string): number {
  const key = (s: string) => {
    const m = /^(.*?)(?:-(\d+))?$/.exec(s)!;
    return [m[1]!, Number(m[2] ?? 1)] as const;
  };
  const [ak, an] = key(a);
  const [bk, bn] = key(b);
  return ak === bk ? an - bn : ak < bk ? -1 : 1;
}
