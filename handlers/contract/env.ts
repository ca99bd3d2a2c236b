// Names of the environment variables the functions read (besides each table's `envVar`).
export const ENV = {
  jwtSecret: "JWT_SECRET",
  csrfSecret: "CSRF_SECRET",
  jwtExpirationHours: "JWT_EXPIRATION_HOURS",
  sesFromEmail: "SES_FROM_EMAIL",
  frontendUrl: "FRONTEND_URL",
  /** Comma-separated list of allowed CORS origins. */
  corsOrigins: "CORS_ORIGINS",
  /** "enhanced" or "integrated": reported by GET /health. */
  handlerKind: "HANDLER_KIND",
  serviceVersion: "SERVICE_VERSION",
  logLevel: "LOG_LEVEL",
  /** Local only: bcrypt cost override (tests); production always uses BCRYPT_COST_DEFAULT. */
  bcryptCost: "BCRYPT_COST",
  /** Local only: DynamoDB endpoint (DynamoDB Local). Unset on AWS. */
  dynamoDbEndpoint: "DYNAMODB_ENDPOINT",
  /** Local only: write emails as .eml files here instead of sending them with SES. */
  emailOutboxDir: "EMAIL_OUTBOX_DIR",
  /** Local only (tests): the route key ("GET /health") that fails on purpose, to exercise the 500 path. */
  localFaultRoute: "LOCAL_FAULT_ROUTE",
  /** On AWS: the SSM Parameter Store name (SecureString) holding JWT_SECRET; the value never is in the environment. */
  jwtSecretParameter: "JWT_SECRET_PARAMETER",
  /** On AWS: the SSM Parameter Store name (SecureString) holding CSRF_SECRET. */
  csrfSecretParameter: "CSRF_SECRET_PARAMETER",
} as const;

export type EnvKey = keyof typeof ENV;

/** `<NAME>_PARAMETER` names the SSM parameter holding `<NAME>` (the integrated shim resolves any such pair). */
export const SECRET_PARAMETER_SUFFIX = "_PARAMETER";

/** Each secret, and the variable that names its SSM parameter on AWS (locally the value itself is set). */
export const SECRET_PARAMETERS: ReadonlyArray<{ secret: EnvKey; parameter: EnvKey }> = [
  { secret: "jwtSecret", parameter: "jwtSecretParameter" },
  { secret: "csrfSecret", parameter: "csrfSecretParameter" },
];

/**
 * The settings each function is deployed with (besides the names of the tables it may use, from
 * TABLES' access): the stack sets exactly these, so no function sees another's secret. Secrets are
 * listed by their parameter variable.
 */
export const FUNCTION_ENV: Readonly<Record<"api" | "auth", readonly EnvKey[]>> = {
  api: ["jwtSecretParameter", "csrfSecretParameter", "jwtExpirationHours", "sesFromEmail", "frontendUrl", "corsOrigins", "handlerKind", "serviceVersion", "logLevel"],
  // auth signs tokens and sends the account-locked notice; it never issues or checks CSRF tokens.
  auth: ["jwtSecretParameter", "jwtExpirationHours", "sesFromEmail", "frontendUrl", "corsOrigins", "logLevel"],
};

export const JWT_EXPIRATION_HOURS_DEFAULT = 24;
export const BCRYPT_COST_DEFAULT = 12;
export const SERVICE_NAME = "people-register-api";
