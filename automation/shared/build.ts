// The one bundler: esbuild bundles of the TypeScript handlers. The Pulumi program deploys these
// files and the local target runs these files, so what is tested locally is what ships.
// Deterministic: same tree in, byte-identical bundles out (no timestamps, no absolute paths),
// so an unchanged repository previews with no code diff.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { builtinModules } from "node:module";
import { type BuildOptions, buildSync } from "esbuild";
import type { FunctionName } from "../../handlers/contract";
import { repoPaths } from "./paths";

export const BUNDLED_FUNCTIONS: readonly FunctionName[] = ["api", "auth"];

export interface Bundle {
  fn: FunctionName;
  /** Folder holding only `index.js` and its lazy chunks: what the Lambda zip contains. */
  dir: string;
  /** `index.js`, the handler's file. */
  file: string;
  /** The lazy chunks written beside it (file names), those index.js requires. */
  chunks: string[];
  /** Source entry point that was bundled. */
  entry: string;
  /** True when `handlers/<fn>/index.ts` does not exist and the minimal health/404 handler was bundled. */
  fallback: boolean;
  /** Every file of the folder. */
  bytes: number;
  /** Of every file of the folder, by name. */
  sha256: string;
  /** `index.js` alone: what a cold start parses. */
  indexBytes: number;
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

/**
 * Libraries only some requests need, each shipped as its own file beside index.js and required on
 * first use: V8 parses every byte of index.js at a cold start, code that is never called included.
 * index.js is built with `pkg` external and its `require("<pkg>")` pointed at the chunk; the chunk is
 * `module` bundled on its own (lib/zod.ts and lib/jose.ts re-export just what the handlers use, so it
 * is tree-shaken to that; the handlers import them, so the type checker keeps the lists complete).
 * One copy of each library, in one file: no state is split.
 */
export const LAZY_CHUNKS: ReadonlyArray<{ file: string; pkg: string; module: string }> = [
  { file: "zod.js", pkg: "zod/mini", module: "./handlers/lib/zod.ts" },
  { file: "jose.js", pkg: "jose", module: "./handlers/lib/jose.ts" },
  { file: "bcryptjs.js", pkg: "bcryptjs", module: "bcryptjs" },
];

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** index.js requires its chunks by file; any other package left unbundled would fail on Lambda. */
function pointAtChunks(fn: string, code: string): { code: string; chunks: typeof LAZY_CHUNKS } {
  const used = LAZY_CHUNKS.filter((c) => code.includes(`require(${JSON.stringify(c.pkg)})`));
  for (const c of used) code = code.split(`require(${JSON.stringify(c.pkg)})`).join(`require(${JSON.stringify(`./${c.file}`)})`);
  const stray = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!).filter((r) => !NODE_BUILTINS.has(r) && !used.some((c) => r === `./${c.file}`));
  if (stray.length) throw new Error(`the ${fn} bundle requires what it does not contain: ${[...new Set(stray)].join(", ")}`);
  return { code, chunks: used };
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
  const minify = opts.minify ?? true;
  const result = buildSync({
    ...ESBUILD_SETTINGS,
    entryPoints: [entry],
    absWorkingDir: paths.root,
    minify,
    write: false,
    outfile: file,
    external: LAZY_CHUNKS.map((c) => c.pkg),
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for ${fn}`);
  const index = pointAtChunks(fn, out.text);
  const files: Array<{ name: string; contents: Uint8Array }> = [{ name: "index.js", contents: Buffer.from(index.code, "utf8") }];
  for (const chunk of index.chunks) {
    const built = buildSync({
      ...ESBUILD_SETTINGS,
      stdin: { contents: `module.exports = require(${JSON.stringify(chunk.module)});`, resolveDir: paths.root, loader: "js" },
      absWorkingDir: paths.root,
      minify,
      write: false,
      outfile: path.join(dir, chunk.file),
    });
    files.push({ name: chunk.file, contents: built.outputFiles[0]!.contents });
  }
  fs.mkdirSync(dir, { recursive: true });
  // Only the bundle's files belong in the folder that becomes the Lambda archive.
  const names = new Set(files.map((f) => f.name));
  for (const name of fs.readdirSync(dir)) if (!names.has(name) && !name.endsWith(".tmp")) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  const digest = createHash("sha256");
  for (const f of files) digest.update(`${f.name}\0${f.contents.byteLength}\0`).update(f.contents);
  // Chunks first, index.js last: a process that loads the new index.js never finds an old chunk.
  for (const f of [...files.slice(1), files[0]!]) {
    const target = path.join(dir, f.name);
    const previous = fs.existsSync(target) ? fs.readFileSync(target) : undefined;
    if (!previous || !previous.equals(f.contents)) {
      // Temp file + rename: a process loading the bundle never reads half a file.
      const tmp = `${target}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, f.contents);
      fs.renameSync(tmp, target);
    }
  }
  return {
    fn,
    dir,
    file,
    chunks: files.slice(1).map((f) => f.name),
    entry: path.relative(paths.root, entry),
    fallback,
    bytes: files.reduce((n, f) => n + f.contents.byteLength, 0),
    sha256: digest.digest("hex"),
    indexBytes: files[0]!.contents.byteLength,
  };
}

/** Bundle every TypeScript function (api and auth). */
export function bundleHandlers(opts: BundleOptions = {}): Record<FunctionName, Bundle> {
  return Object.fromEntries(BUNDLED_FUNCTIONS.map((fn) => [fn, bundleHandler(fn, opts)])) as Record<FunctionName, Bundle>;
}
