// The integrated (Python) package: what `prepare` builds and what the stack deploys must agree on
// these, so they live once here (no heavy imports: the Pulumi program loads this file too).

/** The command that prepares the integrated package (named in every error about it). */
export const INTEGRATED_PREPARE_COMMAND = "npx tsx automation/cli.ts prepare --handler integrated";
/** The shim's file, copied into the package root. */
export const SHIM_FILE = "integrated_api_handler.py";
/** Entry point of the Python shim inside the integrated package. */
export const INTEGRATED_HANDLER = "integrated_api_handler.handler";
/** What `prepare` installs wheels for; the function must run on exactly this. */
export const INTEGRATED_PYTHON_VERSION = "3.12";
export const INTEGRATED_PLATFORM = "manylinux2014_x86_64";

/** What `prepare` writes to `repoPaths().integratedMarker` once the dependencies are installed. */
export interface IntegratedMarker {
  source_commit: string | null;
  requirements_sha256: string;
  python_version: string;
  platform: string;
  prepared_at: string;
}
