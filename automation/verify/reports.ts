// Builders for the deployment reports. Pure functions: data in, report object out; the caller writes
// them with `writeReport`. `deploy` (AWS) and `local` (embedded target) share them, so the fields the
// old pipeline's consumers read are produced in one place.
import type { HandlerKind } from "../shared/select";

/** Report file names (kept from the old pipeline). */
export const REPORT_FILES = {
  context: "deployment-context.json",
  integration: "api-integration.json",
  summary: "deployment-summary.json",
  testJson: "test-report.json",
  testXml: "test-report.xml",
  notificationMd: "deployment-notification.md",
  notificationJson: "deployment-notification.json",
} as const;

/** How the deploy step ended. `skipped`: validation mode or nothing to deploy. */
export type StackStatus = "succeeded" | "failed" | "cancelled" | "skipped";

/** Resource operation → count (Pulumi's `summary.resourceChanges`: create, update, delete, replace, same…). */
export type ResourceChanges = Record<string, number>;

/** The fields of `deployment-context.json` the summary repeats (see automation/context.ts). */
export interface SummaryContext {
  deployment_type: string;
  api_sync_detected: boolean;
  execution_mode: string;
  trigger_type: string;
  branch: string;
}

export interface DeploymentSummary {
  deployment_successful: boolean;
  deployment_type: string;
  api_sync_detected: boolean;
  /** When the summary was written (ISO 8601 UTC). */
  timestamp: string;
  execution_mode: string;
  trigger_type: string;
  branch_name: string;
  /** Seconds, one decimal. */
  deployment_duration: number;
  outputs: { api_url: string | null; frontend_url: string | null; s3_bucket: string | null };
  /** The handler that actually served the deployment. */
  handler_used: HandlerKind;
  /** The handler the selection chose; differs from `handler_used` only when a fallback ran (see `handler_note`). */
  handler_selected: HandlerKind;
  handler_note: string | null;
  stack_status: StackStatus;
  resource_changes: ResourceChanges;
  deployment_metadata: {
    stack: string;
    region: string | null;
    pulumi_version: string | null;
    /** `aws` for a Pulumi deployment, `embedded` for the local target. */
    target: "aws" | "embedded";
    start: string;
    end: string;
  };
  /** Version behind each function's `live` alias when the run ended; null when unknown (or the embedded target). */
  live_versions: Record<string, string> | null;
  /** Why the deployment failed, when it did (one line). */
  error?: string;
}

export interface SummaryInput {
  context: SummaryContext;
  successful: boolean;
  stackStatus: StackStatus;
  startedAt: Date;
  finishedAt: Date;
  outputs: { apiUrl?: string | null; frontendUrl?: string | null; bucket?: string | null };
  handlerUsed: HandlerKind;
  handlerSelected?: HandlerKind;
  handlerNote?: string | null;
  resourceChanges?: ResourceChanges;
  stack: string;
  region?: string | null;
  pulumiVersion?: string | null;
  target: "aws" | "embedded";
  liveVersions?: Record<string, string> | null;
  error?: string;
  /** Defaults to `finishedAt`. */
  now?: Date;
}

/** API URLs are reported without a trailing slash, so `<api_url>/health` never becomes `//health`. */
export function normaliseApiUrl(url: string | null | undefined): string | null {
  return url ? url.replace(/\/+$/, "") : null;
}

export function buildDeploymentSummary(input: SummaryInput): DeploymentSummary {
  if (input.finishedAt.getTime() < input.startedAt.getTime()) throw new Error("deployment finished before it started");
  const seconds = Math.round((input.finishedAt.getTime() - input.startedAt.getTime()) / 100) / 10;
  return {
    deployment_successful: input.successful && input.stackStatus === "succeeded",
    deployment_type: input.context.deployment_type,
    api_sync_detected: input.context.api_sync_detected,
    timestamp: (input.now ?? input.finishedAt).toISOString(),
    execution_mode: input.context.execution_mode,
    trigger_type: input.context.trigger_type,
    branch_name: input.context.branch,
    deployment_duration: seconds,
    outputs: {
      api_url: normaliseApiUrl(input.outputs.apiUrl),
      frontend_url: normaliseApiUrl(input.outputs.frontendUrl),
      s3_bucket: input.outputs.bucket ?? null,
    },
    handler_used: input.handlerUsed,
    handler_selected: input.handlerSelected ?? input.handlerUsed,
    handler_note: input.handlerNote ?? null,
    stack_status: input.stackStatus,
    resource_changes: { ...(input.resourceChanges ?? {}) },
    deployment_metadata: {
      stack: input.stack,
      region: input.region ?? null,
      pulumi_version: input.pulumiVersion ?? null,
      target: input.target,
      start: input.startedAt.toISOString(),
      end: input.finishedAt.toISOString(),
    },
    live_versions: input.liveVersions ? { ...input.liveVersions } : null,
    ...(input.error ? { error: input.error.split("\n")[0] } : {}),
  };
}
