// CloudFront invalidation after a deployment that changed the frontend files. Not a Pulumi resource
// (it is an action, not state), so the driver does it with the AWS SDK once `up` succeeded.
import { createHash } from "node:crypto";
import * as path from "node:path";
import { CloudFrontClient, CreateInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { listFiles, sha256File } from "../shared/select";

/**
 * One hash over the frontend folder: every file's relative path and content hash. Equal fingerprints mean
 * the bucket received the same files, so cached copies are still right.
 */
export function frontendFingerprint(dir: string): string {
  const hash = createHash("sha256");
  for (const rel of listFiles(dir)) hash.update(`${rel}\0${sha256File(path.join(dir, rel))}\n`);
  return hash.digest("hex");
}

export interface InvalidationDecision {
  invalidate: boolean;
  reason: string;
  /** The fingerprint to record once the invalidation is done. */
  fingerprint?: string;
}

/**
 * Invalidate when the frontend folder's fingerprint differs from the one recorded at the last deployment
 * (or none was recorded), or when forced. No frontendDir in the stack config: nothing is uploaded, nothing to do.
 */
export function decideInvalidation(input: { frontendDir?: string; previous?: string; force?: boolean; distributionId?: string }): InvalidationDecision {
  if (!input.distributionId) return { invalidate: false, reason: "the stack has no distributionId output" };
  if (!input.frontendDir) return input.force ? { invalidate: true, reason: "forced by --invalidate" } : { invalidate: false, reason: "no frontendDir in the stack config" };
  const fingerprint = frontendFingerprint(input.frontendDir);
  if (input.force) return { invalidate: true, reason: "forced by --invalidate", fingerprint };
  if (!input.previous) return { invalidate: true, reason: "no frontend fingerprint recorded for this stack yet", fingerprint };
  if (input.previous !== fingerprint) return { invalidate: true, reason: "the frontend files changed since the last deployment", fingerprint };
  return { invalidate: false, reason: "the frontend files are unchanged since the last deployment", fingerprint };
}

export interface InvalidationResult {
  id: string;
  status: string;
  paths: string[];
}

export async function createInvalidation(opts: {
  distributionId: string;
  /** Unique per request; CloudFront de-duplicates retries with the same reference. */
  callerReference: string;
  paths?: string[];
  /** A client to use (tests point one at a local server); default: CloudFront with the default credential chain. */
  client?: CloudFrontClient;
  signal?: AbortSignal;
}): Promise<InvalidationResult> {
  if (!/^[A-Z0-9]{1,64}$/.test(opts.distributionId)) throw new Error(`not a CloudFront distribution id: ${opts.distributionId}`);
  const paths = opts.paths ?? ["/*"];
  // CloudFront is a global service whose API lives in us-east-1.
  const client = opts.client ?? new CloudFrontClient({ region: "us-east-1" });
  try {
    const out = await client.send(
      new CreateInvalidationCommand({
        DistributionId: opts.distributionId,
        InvalidationBatch: { CallerReference: opts.callerReference, Paths: { Quantity: paths.length, Items: paths } },
      }),
      { abortSignal: opts.signal },
    );
    return { id: out.Invalidation?.Id ?? "unknown", status: out.Invalidation?.Status ?? "unknown", paths };
  } finally {
    if (!opts.client) client.destroy();
  }
}
