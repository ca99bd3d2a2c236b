// Function configuration, read from the environment on the first request (not at module load: the
// local target sets process.env just before it loads a bundle) and cached afterwards. Fails closed:
// a missing or short secret makes every request answer 503 instead of signing with something weak.
//
// Secrets: on AWS a function's environment holds only the names of SSM Parameter Store SecureStrings
// (JWT_SECRET_PARAMETER, …), so `lambda:GetFunctionConfiguration` reveals nothing; resolveSecrets()
// reads them once per cold start and again after SECRET_CACHE_MS (so a rotated value is picked up).
// Locally the target sets the values themselves and SSM is never called.
import { BCRYPT_COST_DEFAULT, ENV, JWT_EXPIRATION_HOURS_DEFAULT, SECRET_PARAMETERS, TABLES, type TableName } from "../contract";
import { functionCall } from "./aws";

export const MIN_SECRET_LENGTH = 32;

export interface Config {
  jwtSecret: Uint8Array;
  /** Throws ConfigError when read in a function deployed without it (auth never needs it). */
  readonly csrfSecret: Buffer;
  jwtExpirationHours: number;
  bcryptCost: number;
  sesFromEmail?: string;
  frontendUrl: string;
  corsOrigins: string[];
  handlerKind: string;
  serviceVersion: string;
  logLevel: string;
  dynamoDbEndpoint?: string;
  emailOutboxDir?: string;
  tables: Partial<Record<TableName, string>>;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

let cached: Config | undefined;

/** Secret values read from SSM (by variable name, e.g. JWT_SECRET), when the function is given parameter names. */
let resolved: { at: number; values: Record<string, string> } | undefined;
let resolving: Promise<void> | undefined;
export const SECRET_CACHE_MS = 5 * 60 * 1000;
/** After a failed refresh the values read before are kept, and the read is tried again this much later. */
const SECRET_RETRY_MS = 30 * 1000;

/**
 * Read the secrets named by the *_PARAMETER variables from SSM Parameter Store (decrypted), unless
 * read less than SECRET_CACHE_MS ago. A no-op (no SSM call) when none is set. Throws
 * ConfigError when they cannot be read and nothing was read before: the request then fails closed.
 */
export async function resolveSecrets(nowMs = Date.now()): Promise<void> {
  const wanted = SECRET_PARAMETERS.flatMap((p) => {
    const parameter = optional(ENV[p.parameter]);
    return parameter ? [{ variable: ENV[p.secret], parameter }] : [];
  });
  if (wanted.length === 0 || (resolved && nowMs - resolved.at < SECRET_CACHE_MS)) return;
  resolving ??= (async () => {
    try {
      const values: Record<string, string> = {};
      await Promise.all(
        wanted.map(async (w) => {
          const value = await getParameter(w.parameter);
          if (typeof value === "string" && value !== "") values[w.variable] = value;
        }),
      );
      const changed = !resolved || wanted.some((w) => resolved?.values[w.variable] !== values[w.variable]);
      resolved = { at: Date.now(), values };
      if (changed) cached = undefined;
    } catch (err) {
      if (!resolved) throw new ConfigError(`the secrets could not be read from SSM Parameter Store (${(err as Error).name})`);
      resolved = { ...resolved, at: Date.now() - SECRET_CACHE_MS + SECRET_RETRY_MS };
    } finally {
      resolving = undefined;
    }
  })();
  return resolving;
}

/** SSM GetParameter, decrypted (JSON 1.1); AWS_ENDPOINT_URL_SSM points it at a local stand-in. */
async function getParameter(name: string): Promise<unknown> {
  const out = await functionCall({
    service: "ssm",
    host: "ssm",
    endpointVariable: "AWS_ENDPOINT_URL_SSM",
    path: "/",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter" },
    body: { Name: name, WithDecryption: true },
  });
  return (out.body.Parameter as { Value?: unknown } | undefined)?.Value;
}

/** A secret's value: from SSM when its parameter variable is set (never the plain variable then), else the variable. */
function secretValue(name: string): string | undefined {
  const spec = SECRET_PARAMETERS.find((p) => ENV[p.secret] === name);
  if (spec && optional(ENV[spec.parameter])) return resolved?.values[name];
  return process.env[name];
}

/** Drop what was read from SSM (the next request reads again). */
export function forgetSecrets(): void {
  resolved = undefined;
  cached = undefined;
}

function secret(name: string): string {
  const value = secretValue(name);
  if (!value || value.length < MIN_SECRET_LENGTH) throw new ConfigError(`${name} is missing or shorter than ${MIN_SECRET_LENGTH} characters`);
  return value;
}

/** A secret only some functions get: checked now when present, refused (ConfigError) when used while absent. */
function optionalSecret(name: string): () => string {
  if (secretValue(name) === undefined) {
    return () => {
      throw new ConfigError(`${name} is not configured for this function`);
    };
  }
  const value = secret(name);
  return () => value;
}

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer in ${min}..${max}`);
  return n;
}

const optional = (name: string): string | undefined => {
  const v = process.env[name]?.trim();
  return v ? v : undefined;
};

export function loadConfig(): Config {
  // A function gets the names of the tables it may use; a missing one fails when it is needed.
  const tables: Partial<Record<TableName, string>> = {};
  for (const t of TABLES) {
    const physical = optional(t.envVar);
    if (physical) tables[t.name] = physical;
  }
  const csrfSecret = optionalSecret(ENV.csrfSecret);
  const dynamoDbEndpoint = optional(ENV.dynamoDbEndpoint);
  // bcrypt cost 4 is the library minimum. A cost below the default is honoured only on the local
  // target (tests); anywhere else it is a configuration error, not a silently weaker hash.
  const bcryptCost = intEnv(ENV.bcryptCost, BCRYPT_COST_DEFAULT, 4, 15);
  if (bcryptCost < BCRYPT_COST_DEFAULT && (!dynamoDbEndpoint || process.env.AWS_EXECUTION_ENV !== undefined)) {
    throw new ConfigError(`${ENV.bcryptCost} below ${BCRYPT_COST_DEFAULT} is only allowed on the local target`);
  }
  return {
    jwtSecret: new TextEncoder().encode(secret(ENV.jwtSecret)),
    get csrfSecret() {
      return Buffer.from(csrfSecret(), "utf8");
    },
    jwtExpirationHours: intEnv(ENV.jwtExpirationHours, JWT_EXPIRATION_HOURS_DEFAULT, 1, 24 * 30),
    bcryptCost,
    sesFromEmail: optional(ENV.sesFromEmail),
    frontendUrl: (optional(ENV.frontendUrl) ?? "http://localhost:3000").replace(/\/+$/, ""),
    corsOrigins: (optional(ENV.corsOrigins) ?? "")
      .split(",")
      .map((o) => o.trim().replace(/\/+$/, ""))
      .filter((o) => o !== "" && o !== "*"),
    handlerKind: optional(ENV.handlerKind) ?? "enhanced",
    serviceVersion: optional(ENV.serviceVersion) ?? "dev",
    logLevel: (optional(ENV.logLevel) ?? "info").toLowerCase(),
    dynamoDbEndpoint,
    emailOutboxDir: optional(ENV.emailOutboxDir),
    tables,
  };
}

/** The cached configuration; throws ConfigError (every time, nothing cached) while it is invalid. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** The physical name of a contract table. */
export function tableName(name: TableName): string {
  const physical = config().tables[name];
  if (!physical) throw new ConfigError(`${TABLES.find((t) => t.name === name)?.envVar ?? name} is not set`);
  return physical;
}
