// Where each function's code comes from: the esbuild bundles of handlers/ (enhanced api, auth) or the
// integrated package prepared by the driver (synced registry-api code + shim + its dependencies).
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { FunctionName } from "../handlers/contract";
import { BUNDLE_HANDLER, bundleHandler } from "../automation/shared/build";
import { listFiles, type SyncState } from "../automation/shared/select";
import { repoPaths } from "../automation/shared/paths";
import type { IntegratedPackaging } from "./config";
import { physicalName, renamedFrom } from "./naming";

import { INTEGRATED_HANDLER, INTEGRATED_PLATFORM, INTEGRATED_PREPARE_COMMAND, INTEGRATED_PYTHON_VERSION, type IntegratedMarker, integratedPythonVersion, type LambdaPythonVersion } from "../automation/shared/integrated";

export { INTEGRATED_HANDLER, INTEGRATED_PLATFORM, INTEGRATED_PREPARE_COMMAND, INTEGRATED_PYTHON_VERSION, type IntegratedMarker } from "../automation/shared/integrated";
/** The Lambda Python base image for a runtime version. */
const lambdaPythonBaseImage = (version: string) => `public.ecr.aws/lambda/python:${version}`;
/** The Lambda runtime identifier per Python version. */
const PYTHON_RUNTIMES: Record<LambdaPythonVersion, string> = { "3.12": aws.lambda.Runtime.Python3d12, "3.13": aws.lambda.Runtime.Python3d13 };

/** Everything aws.lambda.Function needs to know about a function's code. */
export type FunctionCode =
  | { packageType: "Zip"; archive: pulumi.asset.Archive; runtime: string; handler: string; architecture: "arm64" | "x86_64" }
  | { packageType: "Image"; imageUri: pulumi.Output<string>; architecture: "x86_64" };

/** A TypeScript function: its deterministic esbuild bundle, on Node.js 22 / arm64. */
export function bundledCode(fn: FunctionName, repoRoot: string): FunctionCode {
  const bundle = bundleHandler(fn, { repoRoot });
  if (bundle.fallback) {
    pulumi.log.warn(`handlers/${fn}/index.ts does not exist: function ${fn} serves only GET /health (and 404 elsewhere)`);
  }
  // A directory archive: Pulumi hashes it by content, so an unchanged bundle is no diff.
  return { packageType: "Zip", archive: new pulumi.asset.FileArchive(bundle.dir), runtime: aws.lambda.Runtime.NodeJS22dX, handler: BUNDLE_HANDLER, architecture: "arm64" };
}

/** Why the prepared integrated package cannot be deployed as is, or undefined when it can. */
export function integratedPackageProblem(repoRoot: string, sync: SyncState, pythonVersion: string = INTEGRATED_PYTHON_VERSION): string | undefined {
  const paths = repoPaths(repoRoot);
  if (!fs.existsSync(paths.integratedMarker)) return `the integrated package has not been prepared (${path.relative(repoRoot, paths.integratedMarker)} is missing)`;
  let marker: Partial<IntegratedMarker>;
  try {
    marker = JSON.parse(fs.readFileSync(paths.integratedMarker, "utf8"));
  } catch {
    return `${path.relative(repoRoot, paths.integratedMarker)} is not valid JSON`;
  }
  const synced = sync.metadata?.source_commit ?? null;
  if ((marker.source_commit ?? null) !== synced) {
    return `the integrated package was prepared for ${marker.source_commit ?? "unknown code"}, but lambda/ holds ${synced ?? "code without sync metadata"}`;
  }
  if (marker.python_version !== pythonVersion || marker.platform !== INTEGRATED_PLATFORM) {
    return `the integrated package was prepared for Python ${marker.python_version} on ${marker.platform}, but the function runs Python ${pythonVersion} on ${INTEGRATED_PLATFORM}`;
  }
  return undefined;
}

/**
 * The prepared package as a zip. Only its content counts: the marker (which carries a timestamp)
 * and Python byte-code caches are left out, so re-preparing the same code is no diff.
 */
function integratedArchive(integratedDir: string, markerFile: string): pulumi.asset.AssetArchive {
  const markerName = path.relative(integratedDir, markerFile).split(path.sep).join("/");
  const assets: Record<string, pulumi.asset.Asset> = {};
  for (const rel of listFiles(integratedDir)) {
    if (rel === markerName || rel.includes("__pycache__/") || rel.endsWith(".pyc")) continue;
    assets[rel] = new pulumi.asset.FileAsset(path.join(integratedDir, rel));
  }
  return new pulumi.asset.AssetArchive(assets);
}

/** Stands in for the unprepared package in a preview, so the whole graph still shows. */
function placeholderArchive(): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({
    "integrated_api_handler.py": new pulumi.asset.StringAsset(
      `# Placeholder shown in previews: run \`${INTEGRATED_PREPARE_COMMAND}\` before deploying.\n`,
    ),
  });
}

export interface IntegratedCodeArgs {
  repoRoot: string;
  sync: SyncState;
  packaging: IntegratedPackaging;
  /** True in a preview: an unprepared package warns instead of failing. */
  dryRun: boolean;
  /** Name prefix for the image repository. */
  namePrefix: string;
  parent: pulumi.Resource;
  /** The parent component's name: the image resources' logical names derive from it. */
  parentName: string;
}

/** The integrated handler's code (the app's Python on x86_64): a zip of the prepared package or a container image. */
export function integratedCode(args: IntegratedCodeArgs): FunctionCode {
  const paths = repoPaths(args.repoRoot);
  // The Python the app asks for (requires-python / .python-version): the runtime, the wheels and the image agree.
  const python = integratedPythonVersion(paths.lambdaDir).version;
  const ownDockerfile = path.join(paths.lambdaDir, "Dockerfile.lambda");
  if (args.packaging === "image" && fs.existsSync(ownDockerfile)) {
    // The synced app's own image definition (the real registry-api has one) installs its own
    // dependencies, so it needs no prepared package.
    return integratedImage(args, paths.lambdaDir, ownDockerfile);
  }
  const problem = integratedPackageProblem(args.repoRoot, args.sync, python);
  if (problem) {
    if (!args.dryRun) throw new Error(`${problem}. Prepare it with: ${INTEGRATED_PREPARE_COMMAND}`);
    pulumi.log.warn(`${problem}; the preview uses a placeholder. Run \`${INTEGRATED_PREPARE_COMMAND}\` before \`pulumi up\`.`);
  }
  if (args.packaging === "image") {
    // Build output, not lambda/: the synced tree stays an exact mirror of the API repository.
    const dockerfile = path.join(paths.buildDir, "integrated-image", "Dockerfile");
    writeIfChanged(dockerfile, generatedDockerfile(python));
    fs.mkdirSync(paths.integratedDir, { recursive: true });
    return integratedImage(args, paths.integratedDir, dockerfile);
  }
  const archive = problem ? placeholderArchive() : integratedArchive(paths.integratedDir, paths.integratedMarker);
  return { packageType: "Zip", archive, runtime: PYTHON_RUNTIMES[python], handler: INTEGRATED_HANDLER, architecture: "x86_64" };
}

/** The Dockerfile used when the synced app brings none: the prepared package on the Lambda Python base image. */
export function generatedDockerfile(pythonVersion: string = INTEGRATED_PYTHON_VERSION): string {
  return [
    `FROM ${lambdaPythonBaseImage(pythonVersion)}`,
    "# The prepared package: synced registry-api code, the shim and its manylinux2014_x86_64 dependencies.",
    "COPY . ${LAMBDA_TASK_ROOT}/",
    `CMD ["${INTEGRATED_HANDLER}"]`,
    "",
  ].join("\n");
}

/** An ECR repository and an image built and pushed by @pulumi/awsx; the function pins it by digest. */
function integratedImage(args: IntegratedCodeArgs, context: string, dockerfile: string): FunctionCode {
  const logicalName = `${args.parentName}-integrated-api`;
  const aliased = renamedFrom(args.parentName, "api", "integrated-api", logicalName);
  const repository = new awsx.ecr.Repository(logicalName, {
    name: physicalName(args.namePrefix, "integrated-api").toLowerCase(),
    // Mutable: awsx re-tags each build; the function pins the image by digest (imageUri) anyway.
    imageScanningConfiguration: { scanOnPush: true },
    forceDelete: true,
  }, { parent: args.parent, ...aliased });
  const image = new awsx.ecr.Image(logicalName, {
    repositoryUrl: repository.url,
    context,
    dockerfile,
    platform: "linux/amd64",
  }, { parent: args.parent, ...aliased });
  return { packageType: "Image", imageUri: image.imageUri, architecture: "x86_64" };
}

function writeIfChanged(file: string, content: string): void {
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === content) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}
