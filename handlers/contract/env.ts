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
} as const;

export const JWT_EXPIRATION_HOURS_DEFAULT = 24;
export const BCRYPT_COST_DEFAULT = 12;
export const SERVICE_NAME = "people-register-api";
