// Where things live in a checkout. One place, so the stack, the driver and the tests agree.
import * as path from "node:path";

/** The repository root (the folder with Pulumi.yaml). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface RepoPaths {
  root: string;
  /** Where registry-api code lands when synced. */
  lambdaDir: string;
  syncMetadata: string;
  /** Build output (git-ignored). */
  buildDir: string;
  /** esbuild bundles: `<bundlesDir>/<fn>/index.js`. */
  bundlesDir: string;
  /** The integrated (Python) package prepared by `prepare`: synced code + shim + dependencies. */
  integratedDir: string;
  /** Written by `prepare` once the integrated package's dependencies are installed. */
  integratedMarker: string;
  /** Local target state (DynamoDB Local data, outbox, jar cache). */
  localDir: string;
  reportsDir: string;
}

export function repoPaths(root: string = REPO_ROOT): RepoPaths {
  const buildDir = path.join(root, ".build");
  const lambdaDir = path.join(root, "lambda");
  const integratedDir = path.join(buildDir, "integrated");
  return {
    root,
    lambdaDir,
    syncMetadata: path.join(lambdaDir, "sync-metadata.json"),
    buildDir,
    bundlesDir: path.join(buildDir, "handlers"),
    integratedDir,
    integratedMarker: path.join(integratedDir, ".prepared.json"),
    localDir: path.join(root, ".local"),
    reportsDir: path.join(root, "reports"),
  };
}
