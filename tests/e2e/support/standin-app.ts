// The stand-in registry-api app (tests/e2e/fixtures/standin-registry-api: a FastAPI app of our own that
// reads the real app's variable names) as a synced checkout in a temp dir, and the virtualenv cache the
// e2e tests share, so the app's dependencies are installed once per checkout of this repository.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../../automation/shared/paths";

export const STANDIN_DIR = path.join(__dirname, "..", "fixtures", "standin-registry-api");

/** Which variable names the stand-in reads: registry-api HEAD's (V2 tables) or 3b58af3's. */
export type StandinVariant = "v2" | "v1";

/** Where the e2e tests keep the stand-in's virtualenv (keyed by requirements and interpreter; git-ignored). */
export const SHARED_VENV_CACHE = path.join(REPO_ROOT, ".local", "venvs");

/** The synced files (path in lambda/ -> content): main.py, src/ and requirements.txt, with the variant's overrides. */
export function standinFiles(variant: StandinVariant): Record<string, string> {
  const files: Record<string, string> = {};
  const add = (base: string, dir: string) => {
    for (const e of fs.readdirSync(path.join(base, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, e.name);
      if (e.name === "__pycache__") continue;
      if (e.isDirectory()) add(base, rel);
      else files[rel] = fs.readFileSync(path.join(base, rel), "utf8");
    }
  };
  for (const f of ["main.py", "requirements.txt"]) files[f] = fs.readFileSync(path.join(STANDIN_DIR, f), "utf8");
  add(STANDIN_DIR, "src");
  if (variant === "v1") add(path.join(STANDIN_DIR, "variants", "v1"), "src");
  return files;
}

/**
 * A temp checkout of this project (handlers and node_modules by link) with the stand-in synced into
 * lambda/; its `.local/venvs` is the shared cache. The caller removes it.
 */
export function standinCheckout(variant: StandinVariant, prefix = "standin-"): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.symlinkSync(path.join(REPO_ROOT, "handlers"), path.join(root, "handlers"));
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(root, "node_modules"));
  fs.copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(root, "package.json"));
  for (const [rel, content] of Object.entries(standinFiles(variant))) {
    fs.mkdirSync(path.dirname(path.join(root, "lambda", rel)), { recursive: true });
    fs.writeFileSync(path.join(root, "lambda", rel), content);
  }
  fs.mkdirSync(SHARED_VENV_CACHE, { recursive: true });
  fs.mkdirSync(path.join(root, ".local"));
  fs.symlinkSync(SHARED_VENV_CACHE, path.join(root, ".local", "venvs"));
  return root;
}
