// Deployment triggers: a small JSON object ({source, trigger_type, source_commit}) that the API's
// pipeline drops as a local file or an S3 object. The old pipeline never removed it, so it fired
// forever; here a trigger is marked consumed after a successful run, and only if it is still the
// same trigger that was read (a newer one that arrived during the run is left for the next run).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as z from "zod";
import { CommandFailure, UsageError } from "../command";

/** The old pipeline's trigger object name, in the bucket `codecatalyst-deployment-triggers-<account id>`. */
export const DEFAULT_TRIGGER_KEY = "api-deployment-trigger.json";
/** Where consumed S3 triggers are moved, with a UTC timestamp folder per run. */
export const CONSUMED_PREFIX = "consumed/";
/** Local triggers: the consumed record is written next to the trigger with this suffix. */
export const CONSUMED_SUFFIX = ".consumed";
const MAX_TRIGGER_BYTES = 64 * 1024;

export const TriggerSchema = z.object({
  source: z.string().trim().min(1).max(512),
  trigger_type: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "letters, digits and _ . : - only (at most 64)"),
  source_commit: z.string().regex(/^[0-9a-fA-F]{7,40}$/, "a git commit SHA (7 to 40 hex digits)").transform((s) => s.toLowerCase()),
});
export type Trigger = z.infer<typeof TriggerSchema>;

export class TriggerError extends CommandFailure {
  override name = "TriggerError";
}

/** Parse and validate a trigger's text; `where` names it in errors. */
export function parseTrigger(text: string, where: string): Trigger {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TriggerError(`trigger ${where} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = TriggerSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new TriggerError(`trigger ${where} is invalid: ${problems}`);
  }
  return parsed.data;
}

export type TriggerLocation = { kind: "file"; path: string } | { kind: "s3"; bucket: string; key: string };

/** `s3://bucket/key` → bucket and key, validated (bucket naming rules; a non-empty key not already consumed). */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new UsageError(`"${uri}" is not an S3 URI (s3://bucket/key)`);
  const [, bucket, key] = match;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) throw new UsageError(`"${bucket}" is not a valid S3 bucket name`);
  if (key.endsWith("/")) throw new UsageError(`S3 trigger key "${key}" names a folder, not an object`);
  if (key.startsWith(CONSUMED_PREFIX)) throw new UsageError(`S3 trigger key "${key}" is already under ${CONSUMED_PREFIX}`);
  return { bucket, key };
}

/** A `--trigger` value: `s3://bucket/key` or a local path (resolved against `cwd`). */
export function parseTriggerLocation(value: string, cwd: string = process.cwd()): TriggerLocation {
  if (value.startsWith("s3://")) return { kind: "s3", ...parseS3Uri(value) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw new UsageError(`--trigger takes a local file or an s3:// URI (got "${value}")`);
  return { kind: "file", path: path.resolve(cwd, value) };
}

/** UTC timestamp usable in keys and file names: 20261128T133000Z. */
export function compactTimestamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
}

/** Where a consumed S3 trigger goes: `consumed/<UTC timestamp>/<original key>` (sortable, never overwrites another run's). */
export function consumedKey(key: string, at: Date): string {
  return `${CONSUMED_PREFIX}${compactTimestamp(at)}/${key}`;
}

/** CopyObject's `CopySource`: bucket and URL-encoded key segments (slashes kept). */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

export function describeLocation(location: TriggerLocation): string {
  return location.kind === "s3" ? `s3://${location.bucket}/${location.key}` : location.path;
}

/** A trigger as read, with the version token that consumption checks against. */
export interface LoadedTrigger {
  trigger: Trigger;
  location: string;
  /** sha256 of the file's bytes, or the S3 ETag. */
  version: string;
}

export interface ConsumeRecord {
  consumed_at: string;
  strategy: string;
  deployed_commit: string | null;
}

export interface ConsumeResult {
  consumed: boolean;
  /** Where the consumed trigger (or its record) now is. */
  moved_to?: string;
  /** Why it was not consumed. */
  reason?: string;
}

export interface TriggerStore {
  readonly location: string;
  /** The trigger, or null when there is none. Throws TriggerError when it exists but is invalid. */
  read(): Promise<LoadedTrigger | null>;
  /** Mark the trigger consumed, unless it changed since `read`. */
  consume(loaded: LoadedTrigger, record: ConsumeRecord): Promise<ConsumeResult>;
}

// Loaded only when an s3:// trigger is used: the SDK is large and local triggers do not need it.
const loadS3 = () => require("@aws-sdk/client-s3") as typeof import("@aws-sdk/client-s3");

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** A trigger file on disk. Consumed = a `<file>.consumed` record written, then the trigger removed. */
export class LocalTriggerStore implements TriggerStore {
  constructor(readonly file: string) {}

  get location(): string {
    return this.file;
  }

  private readBytes(): Buffer | null {
    try {
      const stat = fs.statSync(this.file);
      if (!stat.isFile()) throw new TriggerError(`trigger ${this.file} is not a file`);
      if (stat.size > MAX_TRIGGER_BYTES) throw new TriggerError(`trigger ${this.file} is larger than ${MAX_TRIGGER_BYTES} bytes`);
      return fs.readFileSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  async read(): Promise<LoadedTrigger | null> {
    const bytes = this.readBytes();
    if (!bytes) return null;
    return { trigger: parseTrigger(bytes.toString("utf8"), this.file), location: this.file, version: sha256(bytes) };
  }

  async consume(loaded: LoadedTrigger, record: ConsumeRecord): Promise<ConsumeResult> {
    const bytes = this.readBytes();
    if (!bytes) return { consumed: false, reason: "the trigger file is gone (removed by someone else)" };
    if (sha256(bytes) !== loaded.version) return { consumed: false, reason: "the trigger changed during the run (a newer trigger arrived); left in place for the next run" };
    const target = `${this.file}${CONSUMED_SUFFIX}`;
    const tmp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify({ ...record, trigger: loaded.trigger }, null, 2)}\n`);
    fs.renameSync(tmp, target);
    fs.unlinkSync(this.file);
    return { consumed: true, moved_to: target };
  }
}

/** The part of an S3 client the store uses (an `S3Client` fits). */
export interface S3Like {
  send(command: unknown): Promise<unknown>;
}

function isS3Error(err: unknown, ...names: string[]): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return names.includes(e?.name ?? "") || names.includes(e?.Code ?? "") || (names.includes("412") && e?.$metadata?.httpStatusCode === 412);
}

/**
 * A trigger object in S3. Consumed = copied to `consumed/<timestamp>/<key>` and deleted, both
 * conditional on the ETag that was read, so a trigger rewritten during the run survives.
 */
export class S3TriggerStore implements TriggerStore {
  constructor(
    readonly bucket: string,
    readonly key: string,
    private readonly client: S3Like,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get location(): string {
    return `s3://${this.bucket}/${this.key}`;
  }

  async read(): Promise<LoadedTrigger | null> {
    const { GetObjectCommand } = loadS3();
    let response: { Body?: { transformToString(): Promise<string> }; ETag?: string; ContentLength?: number };
    try {
      response = (await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key }))) as typeof response;
    } catch (err) {
      if (isS3Error(err, "NoSuchKey", "NotFound")) return null;
      throw new TriggerError(`could not read trigger ${this.location}: ${(err as Error).message}`);
    }
    if ((response.ContentLength ?? 0) > MAX_TRIGGER_BYTES) throw new TriggerError(`trigger ${this.location} is larger than ${MAX_TRIGGER_BYTES} bytes`);
    const text = (await response.Body?.transformToString()) ?? "";
    if (!response.ETag) throw new TriggerError(`trigger ${this.location} has no ETag; cannot consume it safely`);
    return { trigger: parseTrigger(text, this.location), location: this.location, version: response.ETag };
  }

  async consume(loaded: LoadedTrigger, record: ConsumeRecord): Promise<ConsumeResult> {
    const { CopyObjectCommand, DeleteObjectCommand } = loadS3();
    const target = consumedKey(this.key, this.now());
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: target,
          CopySource: copySource(this.bucket, this.key),
          CopySourceIfMatch: loaded.version,
          MetadataDirective: "REPLACE",
          ContentType: "application/json",
          Metadata: { "consumed-at": record.consumed_at, strategy: record.strategy, "deployed-commit": record.deployed_commit ?? "unknown" },
        }),
      );
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key, IfMatch: loaded.version }));
    } catch (err) {
      if (isS3Error(err, "PreconditionFailed", "412")) {
        return { consumed: false, reason: "the trigger changed during the run (a newer trigger arrived); left in place for the next run" };
      }
      if (isS3Error(err, "NoSuchKey", "NotFound")) return { consumed: false, reason: "the trigger object is gone (removed by someone else)" };
      throw new TriggerError(`could not mark trigger ${this.location} consumed: ${(err as Error).message}`);
    }
    return { consumed: true, moved_to: `s3://${this.bucket}/${target}` };
  }
}

/** The store for a `--trigger` value. The S3 client is created only for s3:// triggers. */
export function triggerStore(value: string, opts: { cwd?: string; s3Client?: () => S3Like } = {}): TriggerStore {
  const location = parseTriggerLocation(value, opts.cwd);
  if (location.kind === "file") return new LocalTriggerStore(location.path);
  const client =
    opts.s3Client?.() ??
    new (loadS3().S3Client)({});
  return new S3TriggerStore(location.bucket, location.key, client);
}
