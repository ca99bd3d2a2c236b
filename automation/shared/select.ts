// Sync detection and handler selection: the one rule, used by the Pulumi program (so `pulumi up`
// from a shell deploys what CI would) and by the driver's `detect`/`prepare`/`deploy`.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AppReads } from "./integrated";
import { repoPaths } from "./paths";

export type HandlerKind = "integrated" | "enhanced";
export type HandlerPreference = "auto" | HandlerKind;
export const HANDLER_PREFERENCES: readonly HandlerPreference[] = ["auto", "integrated", "enhanced"];

/** `lambda/sync-metadata.json` as written by `sync` (old fields kept, manifest added). */
export interface SyncMetadata {
  sync_timestamp: string;
  source_repository: string;
  source_branch: string;
  source_commit: string;
  deployment_strategy: string;
  coordinated_deployment: boolean;
  /** Which requirements file of the API was merged (`requirements-lambda.txt`, `requirements.txt`, `pyproject.toml`, or null). */
  requirements_source: string | null;
  /** Environment variables and hard-coded table names the synced code reads (absent in syncs made before it was recorded). */
  reads?: AppReads;
  /** Path relative to the lambda folder (POSIX separators) → sha256 hex, for every file the sync wrote. */
  files: Record<string, string>;
}

export interface SyncState {
  /** main.py and src/ exist and, when there is a manifest, it matches the disk. */
  synced: boolean;
  hasMainPy: boolean;
  hasSrcDir: boolean;
  metadata: SyncMetadata | null;
  /** Manifest files whose content changed, that are gone, or files under src/ the manifest does not know. */
  modifiedFiles: string[];
  missingFiles: string[];
  addedFiles: string[];
  /** Human-readable summary of the state. */
  description: string;
}

export interface HandlerSelection {
  kind: HandlerKind;
  reason: string;
  /** True when config or a flag forced the choice instead of `auto`. */
  forced: boolean;
  sync: SyncState;
}

export class HandlerSelectionError extends Error {
  override name = "HandlerSelectionError";
}

export function sha256File(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Every regular file under `dir`, as POSIX paths relative to `base`, sorted. */
export function listFiles(dir: string, base: string = dir): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full, base));
    else if (entry.isFile()) out.push(path.relative(base, full).split(path.sep).join("/"));
  }
  return out.sort();
}

function readMetadata(file: string): SyncMetadata | null {
  if (!fs.existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new HandlerSelectionError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const meta = parsed as Partial<SyncMetadata>;
  if (typeof meta !== "object" || meta === null || (meta.files !== undefined && typeof meta.files !== "object")) {
    throw new HandlerSelectionError(`${file} has no valid "files" manifest`);
  }
  return { ...(meta as SyncMetadata), files: meta.files ?? {} };
}

/** The detection rule: synced when lambda/main.py and lambda/src/ exist and the manifest (if any) matches. */
export function detectSync(repoRoot?: string): SyncState {
  const paths = repoPaths(repoRoot);
  const hasMainPy = fs.existsSync(path.join(paths.lambdaDir, "main.py"));
  const srcDir = path.join(paths.lambdaDir, "src");
  const hasSrcDir = fs.existsSync(srcDir) && fs.statSync(srcDir).isDirectory();
  const metadata = readMetadata(paths.syncMetadata);
  const modifiedFiles: string[] = [];
  const missingFiles: string[] = [];
  const addedFiles: string[] = [];

  if (metadata && Object.keys(metadata.files).length > 0) {
    for (const [rel, expected] of Object.entries(metadata.files)) {
      const full = path.join(paths.lambdaDir, rel);
      if (!fs.existsSync(full)) missingFiles.push(rel);
      else if (sha256File(full) !== expected) modifiedFiles.push(rel);
    }
    for (const rel of listFiles(srcDir, paths.lambdaDir)) {
      if (!(rel in metadata.files) && !rel.includes("__pycache__/")) addedFiles.push(rel);
    }
  }

  const intact = modifiedFiles.length + missingFiles.length + addedFiles.length === 0;
  const synced = hasMainPy && hasSrcDir && intact;
  let description: string;
  if (!hasMainPy && !hasSrcDir) description = "no synced API code (lambda/main.py and lambda/src/ are absent)";
  else if (!hasMainPy) description = "lambda/src/ exists but lambda/main.py is missing";
  else if (!hasSrcDir) description = "lambda/main.py exists but lambda/src/ is missing";
  else if (!intact) {
    const changed = [...modifiedFiles.map((f) => `${f} (modified)`), ...missingFiles.map((f) => `${f} (missing)`), ...addedFiles.map((f) => `${f} (added)`)];
    description = `synced code was modified after sync: ${changed.join(", ")}`;
  } else if (metadata) description = `synced from ${metadata.source_repository}@${metadata.source_commit.slice(0, 12)}, manifest verified`;
  else description = "synced (lambda/main.py and lambda/src/ present, no sync-metadata.json to verify)";

  return { synced, hasMainPy, hasSrcDir, metadata, modifiedFiles, missingFiles, addedFiles, description };
}

/**
 * Choose the handler that serves the API. `auto`: the integrated (synced FastAPI) handler when the
 * synced code is present and intact, else the enhanced TypeScript handler. A tampered sync is never
 * deployed silently: `auto` and `integrated` refuse it; `enhanced` ignores it.
 */
export function selectHandler(opts: { repoRoot?: string; preference?: HandlerPreference } = {}): HandlerSelection {
  const preference = opts.preference ?? "auto";
  if (!HANDLER_PREFERENCES.includes(preference)) {
    throw new HandlerSelectionError(`handler must be one of ${HANDLER_PREFERENCES.join(", ")} (got "${preference}")`);
  }
  const sync = detectSync(opts.repoRoot);
  const tampered = sync.hasMainPy && sync.hasSrcDir && !sync.synced;

  if (preference === "enhanced") {
    return { kind: "enhanced", reason: `forced by handler=enhanced (${sync.description})`, forced: true, sync };
  }
  if (tampered) {
    throw new HandlerSelectionError(`${sync.description}; run the sync again or choose handler=enhanced`);
  }
  if (preference === "integrated") {
    if (!sync.synced) {
      throw new HandlerSelectionError(`handler=integrated but ${sync.description}; run \`npx tsx automation/cli.ts sync --source <registry-api>\` first`);
    }
    return { kind: "integrated", reason: `forced by handler=integrated (${sync.description})`, forced: true, sync };
  }
  if (sync.synced) return { kind: "integrated", reason: `auto: ${sync.description}`, forced: false, sync };
  return { kind: "enhanced", reason: `auto: ${sync.description}`, forced: false, sync };
}
