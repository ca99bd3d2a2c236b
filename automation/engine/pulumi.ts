// The engine module: the only place that talks to Pulumi (`@pulumi/pulumi/automation`). Everything the
// commands need from the engine goes through the small `EngineStack` interface below, so the retry,
// abort and report logic runs in tests against a stand-in stack (no CLI exists on the build machines).
import * as fs from "node:fs";
import * as path from "node:path";
import { setTimeout as sleepFor } from "node:timers/promises";
import {
  ConcurrentUpdateError,
  type ConfigMap,
  type DestroyOptions,
  type DestroyResult,
  type EngineEvent,
  LocalWorkspace,
  type OpMap,
  type OutputMap,
  PulumiCommand,
  type PreviewOptions,
  type PreviewResult,
  type RefreshOptions,
  type RefreshResult,
  StackNotFoundError,
  type UpdateSummary,
  type UpOptions,
  type UpResult,
} from "@pulumi/pulumi/automation";
import { CommandFailure, errorLine, type Logger } from "../command";
import { buildPreviewDiff, countsLine, type PreviewDiff } from "./diff";

// The SDK's types other modules use, so they never import the SDK themselves (engine events: ./events).
export type {
  ConfigMap,
  DestroyOptions,
  OutputMap,
  PreviewOptions,
  PreviewResult,
  RefreshOptions,
  UpdateSummary,
  UpOptions,
  UpResult,
} from "@pulumi/pulumi/automation";

/** The Pulumi project (Pulumi.yaml `name`) and its config namespace. */
export const PROJECT_NAME = "people-register";
export const CONFIG_NAMESPACE = "people-register";

/** Stack tag holding the commit of the last successful deployment (read by `coordinate`). */
export const LAST_DEPLOYED_COMMIT_TAG = "people-register:last-deployed-commit";
/** Stack tag holding the fingerprint of the frontend files last deployed (drives CloudFront invalidation). */
export const FRONTEND_FINGERPRINT_TAG = "people-register:frontend-sha256";

/** Secrets read from the environment and set as secret stack config: env name → config key. */
export const SECRET_ENV: Readonly<Record<string, string>> = { JWT_SECRET: "jwtSecret", CSRF_SECRET: "csrfSecret" };

/** The few stack operations the driver uses. `openStack` adapts a real Pulumi stack; tests pass their own. */
export interface EngineStack {
  readonly name: string;
  /** The CLI version in use, when known. */
  readonly pulumiVersion?: string;
  preview(opts: PreviewOptions): Promise<PreviewResult>;
  up(opts: UpOptions): Promise<UpResult>;
  outputs(): Promise<OutputMap>;
  setAllConfig(config: ConfigMap): Promise<void>;
  /** A config value, or undefined when it is not set. */
  getConfigValue(key: string): Promise<string | undefined>;
  getTag(key: string): Promise<string>;
  setTag(key: string, value: string): Promise<void>;
  history(pageSize?: number, page?: number): Promise<UpdateSummary[]>;
  /** `refresh` (with `previewOnly`: what a refresh would change, i.e. drift; nothing is written). */
  refresh(opts: RefreshOptions): Promise<RefreshResult>;
  destroy(opts: DestroyOptions): Promise<DestroyResult>;
}

/** A stack as `pulumi stack ls` lists it. */
export interface StackListing {
  name: string;
  /** ISO 8601 time of the last update; undefined when the stack was never updated. */
  lastUpdate?: string;
  updateInProgress: boolean;
  resourceCount?: number;
}

/** The project-level operations (no stack selected): list and remove stacks. */
export interface EngineWorkspace {
  listStacks(): Promise<StackListing[]>;
  /** `pulumi stack rm`: the stack must hold no resources (destroy it first). */
  removeStack(name: string): Promise<void>;
}

/** `openStack` with `create: false` found no such stack. */
export class StackMissingError extends CommandFailure {
  override name = "StackMissingError";
  constructor(readonly stackName: string) {
    super(`stack ${stackName} does not exist`);
  }
}

export interface OpenStackOptions {
  repoRoot: string;
  stackName: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
}

/**
 * Select (or create; with `create: false` only select, else StackMissingError) the stack in the repository's Pulumi project. When PULUMI_VERSION is set, that CLI
 * version is used (installed under ~/.pulumi/versions when missing), so CI runs a pinned engine.
 */
export async function openStack(opts: OpenStackOptions & { create?: boolean }): Promise<EngineStack> {
  validateStackName(opts.stackName);
  const pulumiCommand = await resolvePulumiCommand(opts.env, opts.log);
  const args = { stackName: opts.stackName, workDir: opts.repoRoot };
  const wsOpts = { pulumiCommand, envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" } };
  const stack = await (opts.create === false ? LocalWorkspace.selectStack(args, wsOpts) : LocalWorkspace.createOrSelectStack(args, wsOpts)).catch((err) => {
    if (err instanceof StackNotFoundError) throw new StackMissingError(opts.stackName);
    throw new CommandFailure(`could not select stack ${opts.stackName}: ${commandErrorSummary(err)}`);
  });
  let pulumiVersion: string | undefined;
  try {
    pulumiVersion = stack.workspace.pulumiVersion;
  } catch {
    // The SDK throws when it could not read the CLI version; the reports then say null.
  }
  return {
    name: opts.stackName,
    pulumiVersion,
    preview: (o) => stack.preview(o),
    up: (o) => stack.up(o),
    outputs: () => stack.outputs(),
    setAllConfig: (c) => stack.setAllConfig(c),
    // One key at a time: reading all config would decrypt the secrets into memory for nothing.
    getConfigValue: (key) => stack.getConfig(key).then((c) => c.value, () => undefined),
    getTag: (k) => stack.getTag(k),
    setTag: (k, v) => stack.setTag(k, v),
    history: (size, page) => stack.history(size, page, false),
    refresh: (o) => stack.refresh(o),
    destroy: (o) => stack.destroy(o),
  };
}

/** The repository's Pulumi project without a selected stack: list and remove stacks. */
export async function openWorkspace(opts: Omit<OpenStackOptions, "stackName">): Promise<EngineWorkspace> {
  const pulumiCommand = await resolvePulumiCommand(opts.env, opts.log);
  const ws = await LocalWorkspace.create({ workDir: opts.repoRoot, pulumiCommand, envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" } });
  return {
    listStacks: async () =>
      (await ws.listStacks()).map((s) => ({ name: s.name, lastUpdate: s.lastUpdate, updateInProgress: s.updateInProgress === true, resourceCount: s.resourceCount })),
    removeStack: (name) => {
      validateStackName(name);
      return ws.removeStack(name);
    },
  };
}

/** The pulumi CLI: the pinned PULUMI_VERSION (installed under ~/.pulumi/versions when missing), else the one on PATH. */
async function resolvePulumiCommand(env: NodeJS.ProcessEnv, log: Logger): Promise<PulumiCommand> {
  const pinned = env.PULUMI_VERSION?.trim();
  try {
    if (pinned) {
      // The SDK takes a SemVer object from its own copy of semver.
      const semverPath = require.resolve("semver", { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] });
      const { SemVer } = require(semverPath) as { SemVer: new (v: string) => unknown };
      return await log.step(`pulumi CLI ${pinned}`, () => PulumiCommand.install({ version: new SemVer(pinned) as never }));
    }
    return await PulumiCommand.get();
  } catch (err) {
    throw new CommandFailure(
      pinned
        ? `could not install the pulumi CLI ${pinned}: ${commandErrorSummary(err)}`
        : `the pulumi CLI was not found on PATH${String((err as Error)?.message).includes("ENOENT") ? "" : ` (${commandErrorSummary(err)})`}; install it (https://www.pulumi.com/docs/install/) or set PULUMI_VERSION to let the driver install that version`,
    );
  }
}

/** Stack names as Pulumi accepts them: `name`, `org/name` or `org/project/name`. */
export function validateStackName(name: string): void {
  if (!/^(?:[A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/.test(name)) {
    throw new CommandFailure(`invalid stack name "${name}" (letters, digits, "-", "_", "." and up to two "/" separators)`, 2);
  }
}

/**
 * Set the secrets found in the environment (JWT_SECRET, CSRF_SECRET) as secret stack config. Absent
 * variables leave the stack's existing config as it is. Returns the config keys that were set (never values).
 */
export async function applySecretsFromEnv(stack: Pick<EngineStack, "setAllConfig">, env: NodeJS.ProcessEnv): Promise<string[]> {
  const config: ConfigMap = {};
  for (const [envName, key] of Object.entries(SECRET_ENV)) {
    const value = env[envName];
    if (value) config[`${CONFIG_NAMESPACE}:${key}`] = { value, secret: true };
  }
  const keys = Object.keys(config);
  if (keys.length) await stack.setAllConfig(config);
  return keys;
}

/** Config key that makes the program import the existing tables (see stacks/tables.ts). */
export const ADOPT_TABLES_KEY = `${CONFIG_NAMESPACE}:adoptExistingTables`;

/** `migrate`: turn table adoption on for the import update, off for the update that applies the indexes. */
export async function setTableAdoption(stack: Pick<EngineStack, "setAllConfig">, adopt: boolean): Promise<void> {
  await stack.setAllConfig({ [ADOPT_TABLES_KEY]: { value: String(adopt) } });
}

// ---- Errors, retries, interruption ----

/** What to do when a run was interrupted or a lock is stale. */
export function recoveryHint(stack: string): string {
  return [
    `If no other update of ${stack} is running, recover the stack:`,
    `  pulumi cancel --stack ${stack}                              # Pulumi Cloud: release the update lock`,
    `  pulumi stack export --stack ${stack} --file state.json      # remove "pending_operations" from the file, then`,
    `  pulumi stack import --stack ${stack} --file state.json`,
    `  pulumi refresh --stack ${stack} --clear-pending-creates     # reconcile resources created mid-update`,
    "On a file or S3 backend a stale lock is a file under .pulumi/locks/ in the backend; remove it only when no update runs.",
  ].join("\n");
}

/** An engine run stopped by SIGINT/SIGTERM. Exit code 130, with the recovery steps. */
export class EngineInterruptedError extends CommandFailure {
  override name = "EngineInterruptedError";
  constructor(readonly operation: string, readonly stackName: string) {
    super(`${operation} of ${stackName} was interrupted; the engine was asked to stop (SIGINT).\n${recoveryHint(stackName)}`, 130);
  }
}

/** The stack stayed locked by another update through every retry. */
export class StackLockedError extends CommandFailure {
  override name = "StackLockedError";
  constructor(readonly operation: string, readonly stackName: string, readonly attempts: number) {
    super(`${operation} of ${stackName}: the stack is locked by another update (tried ${attempts} times). Wait for that update to finish.\n${recoveryHint(stackName)}`);
  }
}

/** Another update holds the stack (Pulumi Cloud 409, or a file/S3 backend lock). */
export function isConcurrentUpdate(err: unknown): boolean {
  if (err instanceof ConcurrentUpdateError) return true;
  const text = `${(err as { commandResult?: { stderr?: string } })?.commandResult?.stderr ?? ""}\n${(err as Error)?.message ?? ""}`;
  return text.includes("[409] Conflict: Another update is currently in progress.") || text.includes("the stack is currently locked by");
}

/** The engine's own error lines from a CLI failure (its full output is in the streamed log already). */
export function commandErrorSummary(err: unknown): string {
  const stderr: string | undefined = (err as { commandResult?: { stderr?: string } })?.commandResult?.stderr;
  const source = stderr ?? (err as Error)?.message ?? String(err);
  const lines = source.split("\n").map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /^error:/i.test(l));
  const picked = (errors.length ? errors : lines.slice(-3)).slice(0, 5).join(" | ");
  return picked.length > 1_000 ? `${picked.slice(0, 1_000)}…` : picked || "unknown error";
}

export interface RetryPolicy {
  /** Retries after the first attempt when the stack is locked (default 3). */
  retries?: number;
  /** Delay before retry n (0-based) in ms; default 15 s doubling, capped at 2 min. */
  delayMs?: (retry: number) => number;
  /** Waits for `ms` unless the signal aborts (tests pass an instant one). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const defaultDelay = (retry: number) => Math.min(15_000 * 2 ** retry, 120_000);
const defaultSleep = (ms: number, signal: AbortSignal) => sleepFor(ms, undefined, { signal }).then(() => undefined);

/**
 * Run one engine operation: a locked stack is retried with backoff, an interruption becomes
 * `EngineInterruptedError` with the recovery steps, any other failure a one-line `CommandFailure`.
 */
export async function withEngineRetry<T>(
  operation: string,
  stack: string,
  attempt: (signal: AbortSignal) => Promise<T>,
  opts: RetryPolicy & { signal: AbortSignal; log: Logger },
): Promise<T> {
  const retries = opts.retries ?? 3;
  const delay = opts.delayMs ?? defaultDelay;
  const sleep = opts.sleep ?? defaultSleep;
  for (let n = 0; ; n++) {
    if (opts.signal.aborted) throw new EngineInterruptedError(operation, stack);
    try {
      return await attempt(opts.signal);
    } catch (err) {
      if (opts.signal.aborted) throw new EngineInterruptedError(operation, stack);
      if (err instanceof CommandFailure) throw err;
      if (!isConcurrentUpdate(err)) throw new CommandFailure(`${operation} of ${stack} failed: ${commandErrorSummary(err)}`);
      if (n >= retries) throw new StackLockedError(operation, stack, n + 1);
      const ms = delay(n);
      opts.log.warn(`${operation} of ${stack}: the stack is locked by another update; retry ${n + 1}/${retries} in ${Math.round(ms / 1000)} s`);
      try {
        await sleep(ms, opts.signal);
      } catch {
        throw new EngineInterruptedError(operation, stack);
      }
    }
  }
}

// ---- Preview and update ----

export interface EngineRunOptions extends RetryPolicy {
  signal: AbortSignal;
  log: Logger;
  /** Where the engine's progress goes (default: stderr). */
  progress?: (text: string) => void;
  /** In CI: no spinner frames, only the final lines. */
  ci?: boolean;
  /** Policy pack folders (`--policy-pack`). */
  policyPacks?: string[];
  /** The update's message in the stack history (e.g. the commit). */
  message?: string;
}

export interface EnginePreviewResult {
  events: EngineEvent[];
  diff: PreviewDiff;
  /** The engine's change summary; falls back to the counts from the events when the engine sent none. */
  changeSummary: OpMap;
}

export interface EngineUpResult extends EnginePreviewResult {
  /** Outputs with secret values replaced by "[secret]". */
  outputs: MaskedOutputs;
  result: UpResult["summary"]["result"] | "unknown";
}

/** What every engine operation takes: output, events, cancellation. */
function baseEngineOptions(opts: EngineRunOptions, events: EngineEvent[], signal: AbortSignal) {
  const progress = opts.progress ?? ((text: string) => process.stderr.write(text));
  return {
    color: "never" as const,
    suppressProgress: opts.ci ?? false,
    onEvent: (e: EngineEvent) => events.push(e),
    onOutput: progress,
    onError: progress,
    signal,
  };
}

const messageOption = (opts: EngineRunOptions) => (opts.message ? { message: opts.message } : {});

/** Preview and update: the base, plus no diff rendering, the policy packs and the history message. */
function engineOptions(opts: EngineRunOptions, events: EngineEvent[], signal: AbortSignal) {
  return {
    ...baseEngineOptions(opts, events, signal),
    diff: false,
    ...(opts.policyPacks?.length ? { policyPacks: opts.policyPacks } : {}),
    ...messageOption(opts),
  };
}

/** A non-empty engine summary, or the counts from the events (the SDK returns `{}` when the summary event is lost). */
function summaryOrCounts(summary: OpMap | undefined, diff: PreviewDiff): OpMap {
  return summary && Object.keys(summary).length ? { ...summary } : { ...diff.counts };
}

/** The diff of what an engine run did or planned before it failed (attached to the thrown CommandFailure). */
export function diffOfFailure(err: unknown): PreviewDiff | undefined {
  return (err as { diff?: PreviewDiff } | undefined)?.diff;
}

function attachDiff(err: unknown, events: EngineEvent[]): unknown {
  if (err instanceof CommandFailure && events.length) Object.assign(err, { diff: buildPreviewDiff(events) });
  return err;
}

export async function previewStack(stack: EngineStack, opts: EngineRunOptions & { expectNoChanges?: boolean }): Promise<EnginePreviewResult> {
  let events: EngineEvent[] = [];
  try {
    const result = await withEngineRetry("preview", stack.name, (signal) => {
      events = [];
      return stack.preview({ ...engineOptions(opts, events, signal), ...(opts.expectNoChanges ? { expectNoChanges: true } : {}) });
    }, opts);
    const diff = buildPreviewDiff(events);
    return { events, diff, changeSummary: summaryOrCounts(result.changeSummary, diff) };
  } catch (err) {
    // A failed preview (policy violation, program error) still says why in its events: keep them.
    throw attachDiff(err, events);
  }
}

export async function upStack(stack: EngineStack, opts: EngineRunOptions): Promise<EngineUpResult> {
  let events: EngineEvent[] = [];
  const attempt = (signal: AbortSignal) => {
    events = [];
    return stack.up(engineOptions(opts, events, signal));
  };
  try {
    const result = await withEngineRetry("update", stack.name, attempt, opts);
    const diff = buildPreviewDiff(events);
    return { events, diff, changeSummary: summaryOrCounts(result.summary?.resourceChanges, diff), outputs: maskOutputs(result.outputs), result: result.summary?.result ?? "unknown" };
  } catch (err) {
    // The events of a failed update say what changed before it stopped; keep them for the report.
    throw attachDiff(err, events);
  }
}

/** After an update, a preview must show no changes; when it does, the build is not deterministic. */
export async function checkNoChanges(stack: EngineStack, opts: EngineRunOptions): Promise<string | undefined> {
  try {
    const after = await previewStack(stack, { ...opts, retries: 0, expectNoChanges: true });
    return after.diff.changes.length ? `a preview right after the update still shows changes (${countsLine(after.diff.counts)})` : undefined;
  } catch (err) {
    if (err instanceof EngineInterruptedError) throw err;
    const changed = diffOfFailure(err);
    return `a preview right after the update did not come back clean: ${changed ? countsLine(changed.counts) : errorLine(err)}`;
  }
}

/**
 * Drift: a refresh in preview mode (`refresh --preview-only`) compares the state with the cloud and
 * writes nothing. Returns the engine events; `automation/drift.ts` reads the drift out of them.
 */
export async function refreshPreview(stack: EngineStack, opts: EngineRunOptions): Promise<{ events: EngineEvent[]; changeSummary: OpMap }> {
  let events: EngineEvent[] = [];
  const result = await withEngineRetry("refresh preview", stack.name, (signal) => {
    events = [];
    return stack.refresh({ ...baseEngineOptions(opts, events, signal), previewOnly: true });
  }, opts);
  return { events, changeSummary: { ...(result.summary?.resourceChanges ?? {}) } };
}

/** Destroy every resource of the stack (protected resources make it fail: review stacks have none). */
export async function destroyStack(stack: EngineStack, opts: EngineRunOptions): Promise<{ events: EngineEvent[]; changeSummary: OpMap }> {
  let events: EngineEvent[] = [];
  const result = await withEngineRetry("destroy", stack.name, (signal) => {
    events = [];
    return stack.destroy({ ...baseEngineOptions(opts, events, signal), ...messageOption(opts) });
  }, opts);
  return { events, changeSummary: { ...(result.summary?.resourceChanges ?? {}) } };
}

// ---- Versions and the live alias ----

/** Config key pinning the `live` alias of each function to a version (JSON `{"api":"7","auth":"3"}`); see stacks/config.ts. */
export const LIVE_VERSIONS_KEY = `${CONFIG_NAMESPACE}:liveVersions`;
/** The functions behind a `live` alias. */
export const ALIASED_FUNCTIONS = ["api", "auth"] as const;
export type FunctionVersions = Record<(typeof ALIASED_FUNCTIONS)[number], string>;

/** A `{api, auth}` version map from a stack output, or undefined when it is absent or incomplete. */
export function versionsOutput(outputs: MaskedOutputs, key: "liveVersions" | "candidateVersions"): FunctionVersions | undefined {
  const value = outputs[key] as Record<string, unknown> | undefined;
  if (!value || typeof value !== "object") return undefined;
  const versions: Partial<FunctionVersions> = {};
  for (const fn of ALIASED_FUNCTIONS) {
    const v = value[fn];
    if (typeof v !== "string" && typeof v !== "number") return undefined;
    if (!/^[1-9]\d*$/.test(String(v))) return undefined;
    versions[fn] = String(v);
  }
  return versions as FunctionVersions;
}

/** Pin the `live` aliases to these versions (the next `up` moves them there and leaves them there). */
export async function pinLiveVersions(stack: Pick<EngineStack, "setAllConfig">, versions: FunctionVersions): Promise<void> {
  await stack.setAllConfig({ [LIVE_VERSIONS_KEY]: { value: JSON.stringify(versions) } });
}

/** "api v7, auth v3". */
export function versionsLine(versions: FunctionVersions | null | undefined): string {
  return versions ? ALIASED_FUNCTIONS.map((fn) => `${fn} v${versions[fn]}`).join(", ") : "unknown";
}

/** The repository's policy pack (`policy/` with a PulumiPolicy.yaml), used by preview and deploy when present. */
export function defaultPolicyPacks(repoRoot: string): string[] {
  const dir = path.join(repoRoot, "policy");
  return fs.existsSync(path.join(dir, "PulumiPolicy.yaml")) ? [dir] : [];
}

// ---- Outputs and tags ----

export type MaskedOutputs = Record<string, unknown>;
export const SECRET_MASK = "[secret]";

/** Outputs as the reports may show them: secret values are replaced, never printed. */
export function maskOutputs(outputs: OutputMap | undefined): MaskedOutputs {
  const masked: MaskedOutputs = {};
  for (const [key, out] of Object.entries(outputs ?? {})) masked[key] = out.secret ? SECRET_MASK : out.value;
  return masked;
}

/** A string output, or undefined when it is absent, secret or not a string. */
export function stringOutput(outputs: MaskedOutputs, key: string): string | undefined {
  const value = outputs[key];
  return typeof value === "string" && value !== SECRET_MASK && value.length > 0 ? value : undefined;
}

const COMMIT = /^[0-9a-f]{7,40}$/i;

/**
 * The commit of the last successful deployment: the stack tag, else the newest succeeded update in the
 * history whose message or git metadata names a commit. Undefined when neither is known.
 */
export async function lastDeployedCommit(stack: Pick<EngineStack, "getTag" | "history">): Promise<string | undefined> {
  try {
    const tag = (await stack.getTag(LAST_DEPLOYED_COMMIT_TAG)).trim();
    if (COMMIT.test(tag)) return tag.toLowerCase();
  } catch {
    // No such tag, or a backend without tags: fall back to the history.
  }
  try {
    for (const update of await stack.history(20)) {
      if (update.kind !== "update" || update.result !== "succeeded") continue;
      const fromMessage = /\bdeploy(?:ed)? ([0-9a-f]{7,40})\b/i.exec(update.message ?? "")?.[1];
      const fromGit = update.environment?.["git.head"];
      const sha = fromMessage ?? fromGit;
      if (sha && COMMIT.test(sha)) return sha.toLowerCase();
    }
  } catch {
    // A stack with no history yet.
  }
  return undefined;
}

/** The update message that `lastDeployedCommit` recognises in the history. */
export function deployMessage(commit: string | undefined): string {
  return commit ? `deploy ${commit}` : "deploy";
}

/** Record the deployed commit as a stack tag; a backend without tags only gets a warning (the history still has it). */
export async function recordDeployedCommit(stack: Pick<EngineStack, "setTag">, commit: string, log: Logger): Promise<boolean> {
  if (!COMMIT.test(commit)) throw new Error(`not a commit SHA: ${commit}`);
  try {
    await stack.setTag(LAST_DEPLOYED_COMMIT_TAG, commit.toLowerCase());
    return true;
  } catch (err) {
    log.warn(`could not tag the stack with the deployed commit (${errorLine(err)}); the stack history still names it`);
    return false;
  }
}
