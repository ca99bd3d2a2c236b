// The one bundler: esbuild bundles of the TypeScript handlers. The Pulumi program deploys these
// files and the local target runs these files, so what is tested locally is what ships.
// Deterministic: same tree in, byte-identical bundles out (no timestamps, no absolute paths),
// so an unchanged repository previews with no code diff.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type BuildOptions, buildSync } from "esbuild";
import type { FunctionName } from "../handlers/contract";
import { repoPaths } from "./paths";

export const BUNDLED_FUNCTIONS: readonly FunctionName[] = ["api", "auth"];

export interface Bundle {
  fn: FunctionName;
  /** Folder holding only `index.js`: what the Lambda zip contains. */
  dir: string;
  file: string;
  /** Source entry point that was bundled. */
  entry: string;
  /** True when `handlers/<fn>/index.ts` does not exist and the minimal health/404 handler was bundled. */
  fallback: boolean;
  bytes: number;
  sha256: string;
}

export interface BundleOptions {
  repoRoot?: string;
  outDir?: string;
  /** Defaults to true: smaller bundles, faster cold starts. */
  minify?: boolean;
}

/** How every function bundle is built (the benchmarks build their baselines with the same settings). */
export const ESBUILD_SETTINGS = {
  bundle: true,
  platform: "node",
  // Runs on the nodejs22.x Lambda runtime and on the Node 20 of the build machines.
  target: "node20",
  format: "cjs",
  // ES-module builds first: they tree-shake.
  mainFields: ["module", "main"],
  treeShaking: true,
  // Short identifiers and no comments: less to read and compile on every cold start.
  minify: true,
  legalComments: "none",
  sourcemap: false,
  logLevel: "silent",
} as const satisfies BuildOptions;

/** Lambda handler setting for these bundles. */
export const BUNDLE_HANDLER = "index.handler";

export function bundleHandler(fn: FunctionName, opts: BundleOptions = {}): Bundle {
  const paths = repoPaths(opts.repoRoot);
  const source = path.join(paths.root, "handlers", fn, "index.ts");
  const fallback = !fs.existsSync(source);
  const entry = fallback ? path.join(__dirname, "fallback-handler.ts") : source;
  const dir = path.join(opts.outDir ?? paths.bundlesDir, fn);
  const file = path.join(dir, "index.js");
  const result = buildSync({
    ...ESBUILD_SETTINGS,
    entryPoints: [entry],
    absWorkingDir: paths.root,
    minify: opts.minify ?? true,
    write: false,
    outfile: file,
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for ${fn}`);
  fs.mkdirSync(dir, { recursive: true });
  // Only the bundle belongs in the folder that becomes the Lambda archive.
  for (const name of fs.readdirSync(dir)) if (name !== "index.js" && !name.endsWith(".tmp")) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  const previous = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
  if (!previous || !previous.equals(out.contents)) {
    // Temp file + rename: a process loading the bundle never reads half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, out.contents);
    fs.renameSync(tmp, file);
  }
  return {
    fn,
    dir,
    file,
    entry: path.relative(paths.root, entry),
    fallback,
    bytes: out.contents.byteLength,
    sha256: createHash("sha256").update(out.contents).digest("hex"),
  };
}

/** Bundle every TypeScript function (api and auth). */
export function bundleHandlers(opts: BundleOptions = {}): Record<FunctionName, Bundle> {
  return Object.fromEntries(BUNDLED_FUNCTIONS.map((fn) => [fn, bundleHandler(fn, opts)])) as Record<FunctionName, Bundle>;
}
