// The one bundler: esbuild bundles of the TypeScript handlers. The Pulumi program deploys these
// files and the local target runs these files, so what is tested locally is what ships.
// Deterministic: same tree in, byte-identical bundles out (no timestamps, no absolute paths),
// so an unchanged repository previews with no code diff.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import type { FunctionName } from "../../handlers/contract";
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
    entryPoints: [entry],
    absWorkingDir: paths.root,
    bundle: true,
    platform: "node",
    // Runs on the nodejs22.x Lambda runtime and on the Node 20 of the build machines.
    target: "node20",
    format: "cjs",
    // The AWS SDK's ES-module builds tree-shake: smaller bundles and faster cold starts.
    mainFields: ["module", "main"],
    minify: opts.minify ?? true,
    legalComments: "none",
    sourcemap: false,
    write: false,
    outfile: file,
    logLevel: "silent",
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
