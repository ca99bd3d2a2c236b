// The destructive-change guard: a preview that deletes or replaces a resource holding data or serving
// users (a DynamoDB table, the frontend bucket, the CloudFront distribution) stops a deploy before `up`.
import { CommandFailure } from "../command";
import type { PreviewDiff, ResourceChange } from "./diff";

/** Resource types whose deletion or replacement loses data or takes the site down. */
export const GUARDED_TYPES: readonly string[] = [
  "aws:dynamodb/table:Table",
  "aws:s3/bucket:Bucket",
  "aws:s3/bucketV2:BucketV2",
  "aws:cloudfront/distribution:Distribution",
];

export interface GuardFinding {
  name: string;
  type: string;
  urn: string;
  op: "delete" | "replace";
  /** Properties that force the replacement. */
  replaceKeys: string[];
}

export interface GuardVerdict {
  findings: GuardFinding[];
  /** True when the run may go on: nothing guarded is destroyed, or `--allow-destructive` was given. */
  allowed: boolean;
  overridden: boolean;
  /** The versions behind the `live` aliases when the guard ran: what a rollback returns to (set by deploy). */
  live?: Record<string, string> | null;
}

export function findDestructiveChanges(diff: Pick<PreviewDiff, "changes">): GuardFinding[] {
  return diff.changes
    .filter((c): c is ResourceChange & { op: "delete" | "replace" } => GUARDED_TYPES.includes(c.type) && (c.op === "delete" || c.op === "replace"))
    .map((c) => ({ name: c.name, type: c.type, urn: c.urn, op: c.op, replaceKeys: [...c.replaceKeys] }));
}

export function evaluateGuard(diff: Pick<PreviewDiff, "changes">, allowDestructive: boolean): GuardVerdict {
  const findings = findDestructiveChanges(diff);
  return { findings, allowed: findings.length === 0 || allowDestructive, overridden: findings.length > 0 && allowDestructive };
}

export function describeFinding(f: GuardFinding): string {
  const why = f.op === "replace" && f.replaceKeys.length ? ` (replacement forced by ${f.replaceKeys.join(", ")})` : "";
  return `${f.op} ${f.type} "${f.name}"${why}`;
}

/** The run stopped before `up`: lists what would have been destroyed and how to proceed. */
export class DestructiveChangeError extends CommandFailure {
  override name = "DestructiveChangeError";
  constructor(readonly findings: GuardFinding[]) {
    super(
      [
        `the preview deletes or replaces ${findings.length} stateful resource${findings.length === 1 ? "" : "s"}; nothing was deployed:`,
        ...findings.map((f) => `  - ${describeFinding(f)}`),
        "Check the data is backed up (or not needed), then re-run with --allow-destructive.",
      ].join("\n"),
    );
  }
}

/** Throws `DestructiveChangeError` unless the verdict allows the run. */
export function enforceGuard(verdict: GuardVerdict): void {
  if (!verdict.allowed) throw new DestructiveChangeError(verdict.findings);
}

/** One Markdown line for the PR comment / summary. */
export function guardNotice(verdict: GuardVerdict): string | undefined {
  if (!verdict.findings.length) return undefined;
  const list = verdict.findings.map((f) => `\`${f.name}\` (${f.op})`).join(", ");
  return verdict.overridden
    ? `> ⚠️ **Destructive changes allowed by --allow-destructive:** ${list}.`
    : `> ⛔ **A deploy of this change stops before \`up\`:** it deletes or replaces ${list}. Re-run the deploy with \`--allow-destructive\` once the data is safe.`;
}
