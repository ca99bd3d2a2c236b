// The stack's configuration, typed and validated in one place. Every value that is wrong fails
// here, naming its key, before a single resource is registered.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { APP_TABLES, INTEGRATED_ENV, JWT_EXPIRATION_HOURS_DEFAULT } from "../handlers/contract";
import { HANDLER_PREFERENCES, type HandlerPreference } from "../automation/shared/select";

/** The config namespace: the project name in Pulumi.yaml. */
export const CONFIG_NAMESPACE = "people-register";

export type TableNaming = "stack" | "legacy";
export type IntegratedPackaging = "zip" | "image";

export interface StackConfig {
  /** `stack`: `<project>-<stack>-<Table>` (the default); `legacy`: the exact names the CDK stack created. */
  tableNaming: TableNaming;
  /** Deletion protection and the `protect` resource option on stateful resources (tables, bucket). */
  protect: boolean;
  /** Adopt the existing (CDK-created) tables in place through the `import` resource option. */
  adoptExistingTables: boolean;
  handler: HandlerPreference;
  integratedPackaging: IntegratedPackaging;
  logRetentionDays: number;
  throttlingRateLimit: number;
  throttlingBurstLimit: number;
  stageName: string;
  sesFromEmail: string;
  /** Explicit frontend URL; when absent the CloudFront URL is used. No trailing slash. */
  frontendUrl?: string;
  /** Allowed CORS origins; when absent, the frontend URL only. */
  corsOrigins?: string[];
  alarmEmail?: string;
  /** Absolute path of a built frontend to upload. */
  frontendDir?: string;
  jwtExpirationHours: number;
  /** Create the account-level CloudWatch role API Gateway needs for access logs (one per account and region). */
  apiGatewayLogsRole: boolean;
  /** X-Ray tracing on the stage and the functions. */
  tracing: boolean;
  /** The frontend's own host name (CloudFront alias), e.g. app.example.org. */
  domainName?: string;
  /** ACM certificate in us-east-1 covering domainName; when absent, hostedZoneId creates one. */
  certificateArn?: string;
  /** The API's own host name (regional custom domain), e.g. api.example.org. */
  apiDomainName?: string;
  /** ACM certificate in the stack's region covering apiDomainName; when absent, hostedZoneId creates one. */
  apiCertificateArn?: string;
  /** Route 53 hosted zone of the domains: certificates are validated and alias records created in it. */
  hostedZoneId?: string;
  jwtSecret: pulumi.Output<string>;
  csrfSecret: pulumi.Output<string>;
  /** Version each function's `live` alias is pinned to (set by the driver's promotion); absent: the newest. */
  liveVersions?: Record<"api" | "auth", string>;
  /**
   * Integrated handler: tables that already exist in the account, used instead of provisioning. Keys are
   * V2 table variables (PEOPLE_TABLE_V2_NAME, …) or app tables (AccountLockoutTable, ProjectSubmissions,
   * RolesTable); values are physical table names. Default: none (V2 variables name the contract's tables).
   */
  integratedExistingTables: Record<string, string>;
}

/** A configuration value is missing or invalid. The message names the key and how to fix it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The values the old stack shipped with. They are public, so they are never accepted. */
export const PLACEHOLDER_SECRETS: Readonly<Record<"jwtSecret" | "csrfSecret", string>> = {
  jwtSecret: "your-jwt-secret-change-in-production-please",
  csrfSecret: "production-csrf-secret-change-this-value",
};
export const MIN_SECRET_LENGTH = 32;

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const KNOWN_KEYS = [
  "tableNaming", "protect", "adoptExistingTables", "handler", "integratedPackaging", "logRetentionDays",
  "throttlingRateLimit", "throttlingBurstLimit", "stageName", "sesFromEmail", "frontendUrl", "corsOrigins",
  "alarmEmail", "frontendDir", "jwtExpirationHours", "apiGatewayLogsRole", "jwtSecret", "csrfSecret", "liveVersions",
  "tracing", "domainName", "certificateArn", "apiDomainName", "apiCertificateArn", "hostedZoneId", "integratedExistingTables",
] as const;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const key = (name: string) => `${CONFIG_NAMESPACE}:${name}`;
const fail = (name: string, problem: string): never => {
  throw new ConfigError(`config ${key(name)} ${problem}`);
};

/** A config reader over raw string values; the Pulumi runtime's config in the program, a map in tests. */
export type RawConfig = (name: string) => string | undefined;

const pulumiRaw: RawConfig = (name) => pulumi.runtime.getConfig(key(name));

/** True when Pulumi marks the key as a secret. Uses the SDK's own check; when absent, trusts the value. */
function isSecretKey(name: string): boolean {
  // Internal in the SDK typings, but it is how the language host tells secrets apart.
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
  return runtimeConfig.isConfigSecret ? runtimeConfig.isConfigSecret(key(name)) : true;
}

function oneOf<T extends string>(raw: RawConfig, name: string, allowed: readonly T[], fallback: T): T {
  const value = raw(name);
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) fail(name, `must be one of ${allowed.join(", ")} (got "${value}")`);
  return value as T;
}

function bool(raw: RawConfig, name: string, fallback: boolean): boolean {
  const value = raw(name);
  if (value === undefined) return fallback;
  if (value === "true") return true;
  if (value === "false") return false;
  return fail(name, `must be true or false (got "${value}")`);
}

function num(raw: RawConfig, name: string, fallback: number, check: { min: number; max: number; integer?: boolean }): number {
  const value = raw(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  const kind = check.integer ? "a whole number" : "a number";
  if (value.trim() === "" || !Number.isFinite(n) || (check.integer && !Number.isInteger(n)) || n < check.min || n > check.max) {
    fail(name, `must be ${kind} from ${check.min} to ${check.max} (got "${value}")`);
  }
  return n;
}

/** A JSON value; `problem` is what the error says when it does not parse. */
function parseJson(name: string, value: string, problem: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return fail(name, problem);
  }
}

function optionalString(raw: RawConfig, name: string): string | undefined {
  const value = raw(name)?.trim();
  return value ? value : undefined;
}

/** An origin as browsers send it: scheme://host[:port], https only (http only for localhost). */
export function normalizeOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const local = url.hostname === "localhost" || url.hostname === "127.0.0.1";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) return undefined;
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) return undefined;
  return url.origin;
}

function frontendUrl(raw: RawConfig): string | undefined {
  const value = optionalString(raw, "frontendUrl");
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail("frontendUrl", `must be an absolute URL (got "${value}")`);
  }
  if (normalizeOrigin(url.origin) === undefined) fail("frontendUrl", `must be an https URL (got "${value}")`);
  return value.replace(/\/+$/, "");
}

function corsOrigins(raw: RawConfig): string[] | undefined {
  const value = optionalString(raw, "corsOrigins");
  if (value === undefined) return undefined;
  const list = value.startsWith("[")
    ? parseJson("corsOrigins", value, "is not a valid JSON list")
    : value.split(",").map((s) => s.trim()).filter(Boolean);
  if (!Array.isArray(list) || list.length === 0) return fail("corsOrigins", "must be a non-empty list of origins");
  return list.map((entry) => {
    if (entry === "*") return fail("corsOrigins", `must list origins explicitly; "*" is never allowed`);
    const origin = typeof entry === "string" ? normalizeOrigin(entry) : undefined;
    if (origin === undefined || origin !== String(entry).replace(/\/$/, "")) {
      return fail("corsOrigins", `has "${String(entry)}", which is not an origin like https://app.example.org`);
    }
    return origin;
  });
}

function email(raw: RawConfig, name: string, required: boolean): string | undefined {
  const value = optionalString(raw, name);
  if (value === undefined) {
    if (required) fail(name, `is required: pulumi config set ${key(name)} <address>`);
    return undefined;
  }
  if (!EMAIL.test(value)) fail(name, `must be an email address (got "${value}")`);
  return value;
}

function frontendDir(raw: RawConfig, repoRoot: string): string | undefined {
  const value = optionalString(raw, "frontendDir");
  if (value === undefined) return undefined;
  const dir = path.resolve(repoRoot, value);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) fail("frontendDir", `must be a folder with the built frontend (${dir} is not one)`);
  if (!fs.existsSync(path.join(dir, "index.html"))) fail("frontendDir", `has no index.html (${dir})`);
  return dir;
}

/** `{"api":"7","auth":"3"}`: both functions, positive whole version numbers. */
function liveVersions(raw: RawConfig): Record<"api" | "auth", string> | undefined {
  const value = optionalString(raw, "liveVersions");
  if (value === undefined) return undefined;
  const parsed = parseJson("liveVersions", value, `must be JSON like {"api":"7","auth":"3"} (got "${value}")`);
  const versions = parsed as Record<string, unknown>;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || Object.keys(versions).sort().join(",") !== "api,auth") {
    return fail("liveVersions", `must name exactly the functions api and auth (got "${value}")`);
  }
  for (const fn of ["api", "auth"]) {
    if (!/^[1-9]\d{0,9}$/.test(String(versions[fn]))) fail("liveVersions", `has "${String(versions[fn])}" for ${fn}, which is not a published version number`);
  }
  return { api: String(versions.api), auth: String(versions.auth) };
}

const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

function hostName(raw: RawConfig, name: string): string | undefined {
  const value = optionalString(raw, name)?.toLowerCase();
  if (value !== undefined && !HOST_NAME.test(value)) fail(name, `must be a host name like app.example.org, without scheme or path (got "${value}")`);
  return value;
}

function certificateArn(raw: RawConfig, name: string, region?: string): string | undefined {
  const value = optionalString(raw, name);
  if (value === undefined) return undefined;
  const match = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f-]{36}$/.exec(value);
  if (!match) fail(name, `must be an ACM certificate ARN (got "${value}")`);
  if (region && match![1] !== region) fail(name, `must be a certificate in ${region}: CloudFront only uses certificates from there (got ${match![1]})`);
  return value;
}

/** Each custom domain needs a certificate: given, or created and validated in the hosted zone. */
function domains(raw: RawConfig): Pick<StackConfig, "domainName" | "certificateArn" | "apiDomainName" | "apiCertificateArn" | "hostedZoneId"> {
  const hostedZoneId = optionalString(raw, "hostedZoneId");
  if (hostedZoneId !== undefined && !/^Z[A-Z0-9]{1,31}$/.test(hostedZoneId)) fail("hostedZoneId", `must be a Route 53 hosted zone id like Z0123456789ABC (got "${hostedZoneId}")`);
  const out = {
    domainName: hostName(raw, "domainName"),
    certificateArn: certificateArn(raw, "certificateArn", "us-east-1"),
    apiDomainName: hostName(raw, "apiDomainName"),
    apiCertificateArn: certificateArn(raw, "apiCertificateArn"),
    hostedZoneId,
  };
  if (out.certificateArn && !out.domainName) fail("certificateArn", "is set without domainName");
  if (out.apiCertificateArn && !out.apiDomainName) fail("apiCertificateArn", "is set without apiDomainName");
  if (out.domainName && !out.certificateArn && !hostedZoneId) fail("domainName", "needs certificateArn (an ACM certificate in us-east-1) or hostedZoneId (to create and validate one)");
  if (out.apiDomainName && !out.apiCertificateArn && !hostedZoneId) fail("apiDomainName", "needs apiCertificateArn (an ACM certificate in the stack's region) or hostedZoneId (to create and validate one)");
  return out;
}

/** A required secret: set with --secret, not a placeholder, long enough. Kept a Pulumi secret from here on. */
function secret(raw: RawConfig, name: "jwtSecret" | "csrfSecret", checkSecretFlag: boolean): pulumi.Output<string> {
  const command = `pulumi config set --secret ${key(name)} "$(openssl rand -base64 48)"`;
  const value = raw(name);
  if (value === undefined || value === "") fail(name, `is required. Set it with: ${command}`);
  if (checkSecretFlag && !isSecretKey(name)) fail(name, `is stored in plain text. Set it as a secret with: ${command}`);
  if (value === PLACEHOLDER_SECRETS[name]) fail(name, `is the old stack's public placeholder value. Set a real secret with: ${command}`);
  if (value!.length < MIN_SECRET_LENGTH) fail(name, `must be at least ${MIN_SECRET_LENGTH} characters. Set a longer one with: ${command}`);
  return pulumi.secret(value!);
}

export interface LoadConfigOptions {
  /** Folder that relative paths (frontendDir) resolve against. */
  repoRoot: string;
  /**
   * Raw value source; defaults to the Pulumi runtime config. A custom source carries no secret flags,
   * so the "set with --secret" check runs only against the Pulumi runtime config.
   */
  raw?: RawConfig;
}

/** Read and validate the whole stack config. Throws ConfigError on the first bad value. */
export function loadConfig(opts: LoadConfigOptions): StackConfig {
  const raw = opts.raw ?? pulumiRaw;
  if (!opts.raw) warnUnknownKeys();
  const throttlingRateLimit = num(raw, "throttlingRateLimit", 100, { min: 1, max: 10_000 });
  const throttlingBurstLimit = num(raw, "throttlingBurstLimit", 200, { min: 1, max: 5_000, integer: true });
  if (throttlingBurstLimit < throttlingRateLimit) {
    fail("throttlingBurstLimit", `must be at least throttlingRateLimit (${throttlingRateLimit})`);
  }
  const logRetentionDays = num(raw, "logRetentionDays", 30, { min: 1, max: 3653, integer: true });
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    fail("logRetentionDays", `must be one of ${LOG_RETENTION_DAYS.join(", ")} (got ${logRetentionDays})`);
  }
  const stageName = optionalString(raw, "stageName") ?? "api";
  const pinned = liveVersions(raw);
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) fail("stageName", `may use only letters, digits, - and _ (got "${stageName}")`);

  return {
    tableNaming: oneOf(raw, "tableNaming", ["stack", "legacy"], "stack"),
    protect: bool(raw, "protect", false),
    adoptExistingTables: bool(raw, "adoptExistingTables", false),
    handler: oneOf(raw, "handler", HANDLER_PREFERENCES, "auto"),
    integratedPackaging: oneOf(raw, "integratedPackaging", ["zip", "image"], "zip"),
    logRetentionDays,
    throttlingRateLimit,
    throttlingBurstLimit,
    stageName,
    sesFromEmail: email(raw, "sesFromEmail", true)!,
    frontendUrl: frontendUrl(raw),
    corsOrigins: corsOrigins(raw),
    alarmEmail: email(raw, "alarmEmail", false),
    frontendDir: frontendDir(raw, opts.repoRoot),
    jwtExpirationHours: num(raw, "jwtExpirationHours", JWT_EXPIRATION_HOURS_DEFAULT, { min: 1, max: 720, integer: true }),
    apiGatewayLogsRole: bool(raw, "apiGatewayLogsRole", true),
    tracing: bool(raw, "tracing", true),
    ...domains(raw),
    jwtSecret: secret(raw, "jwtSecret", !opts.raw),
    csrfSecret: secret(raw, "csrfSecret", !opts.raw),
    ...(pinned ? { liveVersions: pinned } : {}),
    integratedExistingTables: existingTables(raw),
  };
}

/** `{"PEOPLE_TABLE_V2_NAME":"PeopleTableV2","RolesTable":"people-registry-roles"}`: only keys that can name an existing table. */
function existingTables(raw: RawConfig): Record<string, string> {
  const value = optionalString(raw, "integratedExistingTables");
  if (value === undefined) return {};
  const parsed = parseJson("integratedExistingTables", value, "is not a JSON object");
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return fail("integratedExistingTables", "is not a JSON object");
  const allowed = [
    ...Object.entries(INTEGRATED_ENV).filter(([, p]) => p.kind === "table" && p.v2).map(([name]) => name),
    ...APP_TABLES.map((t) => t.name),
  ];
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!allowed.includes(k)) fail("integratedExistingTables", `has "${k}"; allowed keys: ${allowed.join(", ")}`);
    if (typeof v !== "string" || !/^[A-Za-z0-9_.-]{3,255}$/.test(v)) fail("integratedExistingTables", `names "${String(v)}" for ${k}, which is not a DynamoDB table name`);
    out[k] = v as string;
  }
  return out;
}

/** A typo in a key (`jwtsecret`) would otherwise be ignored silently. */
function warnUnknownKeys(): void {
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const fullKey of Object.keys(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const name = fullKey.slice(prefix.length);
    if (!(KNOWN_KEYS as readonly string[]).includes(name)) {
      pulumi.log.warn(`config ${fullKey} is not a setting of this program (known: ${KNOWN_KEYS.join(", ")})`);
    }
  }
}
