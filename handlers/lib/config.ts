// Function configuration, read from the environment on the first request (not at module load: the
// local target sets process.env just before it loads a bundle) and cached afterwards. Fails closed:
// a missing or short secret makes every request answer 503 instead of signing with something weak.
import { BCRYPT_COST_DEFAULT, ENV, JWT_EXPIRATION_HOURS_DEFAULT, TABLES, type TableName } from "../contract";

export const MIN_SECRET_LENGTH = 32;

export interface Config {
  jwtSecret: Uint8Array;
  csrfSecret: Buffer;
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

function secret(name: string): string {
  const value = process.env[name];
  if (!value || value.length < MIN_SECRET_LENGTH) throw new ConfigError(`${name} is missing or shorter than ${MIN_SECRET_LENGTH} characters`);
  return value;
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
  return {
    jwtSecret: new TextEncoder().encode(secret(ENV.jwtSecret)),
    csrfSecret: Buffer.from(secret(ENV.csrfSecret), "utf8"),
    jwtExpirationHours: intEnv(ENV.jwtExpirationHours, JWT_EXPIRATION_HOURS_DEFAULT, 1, 24 * 30),
    // bcrypt cost 4 is the library minimum; only tests lower it.
    bcryptCost: intEnv(ENV.bcryptCost, BCRYPT_COST_DEFAULT, 4, 15),
    sesFromEmail: optional(ENV.sesFromEmail),
    frontendUrl: (optional(ENV.frontendUrl) ?? "http://localhost:3000").replace(/\/+$/, ""),
    corsOrigins: (optional(ENV.corsOrigins) ?? "")
      .split(",")
      .map((o) => o.trim().replace(/\/+$/, ""))
      .filter((o) => o !== "" && o !== "*"),
    handlerKind: optional(ENV.handlerKind) ?? "enhanced",
    serviceVersion: optional(ENV.serviceVersion) ?? "dev",
    logLevel: (optional(ENV.logLevel) ?? "info").toLowerCase(),
    dynamoDbEndpoint: optional(ENV.dynamoDbEndpoint),
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
