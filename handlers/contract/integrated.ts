// What the integrated handler (a synced registry-api FastAPI app) may read from its environment, and
// what provides each variable. `sync` records the variables and hard-coded table names the synced code
// reads; `prepare` refuses a variable this table does not know; the stack and the local target build
// the function's environment, its extra tables and its IAM grants from it. Plain data.
import { TABLES, type IndexSpec, type TableName } from "./tables";

/** Tables only the integrated app uses (the registry-api's own, besides the contract's ten). */
export type AppTableName = "AccountLockoutTable" | "ProjectSubmissions" | "RolesTable";

export interface AppTableSpec {
  name: AppTableName;
  hashKey: string;
  rangeKey?: string;
  globalSecondaryIndexes: readonly IndexSpec[];
  ttlAttribute?: string;
  /** The physical name the app hard-codes (the table must carry exactly this name). */
  fixedName?: string;
}

/** Keys and indexes as the registry-api's infrastructure created them (registry-api-facts.md §4). */
export const APP_TABLES: readonly AppTableSpec[] = [
  { name: "AccountLockoutTable", hashKey: "personId", globalSecondaryIndexes: [], ttlAttribute: "ttl" },
  {
    name: "ProjectSubmissions",
    hashKey: "id",
    globalSecondaryIndexes: [
      { name: "ProjectIndex", hashKey: "projectId" },
      { name: "PersonIndex", hashKey: "personId" },
    ],
  },
  {
    name: "RolesTable",
    hashKey: "user_id",
    rangeKey: "role_type",
    globalSecondaryIndexes: [{ name: "email-index", hashKey: "email" }],
    fixedName: "people-registry-roles",
  },
];

/** Config values of the stack an app variable can carry. */
export type ConfigValue = "sesFromEmail" | "frontendUrl" | "jwtExpirationHours" | "corsOrigins";

/** What provides one variable. */
export type EnvProvider =
  /** A contract table's physical name; `describe`: the app calls DescribeTable on it. `v2`: config may name an existing table instead. */
  | { kind: "table"; table: TableName; describe?: boolean; v2?: boolean }
  /** One of APP_TABLES, provisioned only when the app reads it. */
  | { kind: "appTable"; table: AppTableName; describe?: boolean }
  | { kind: "secret"; secret: "jwtSecret" | "csrfSecret" }
  | { kind: "config"; value: ConfigValue }
  /** A fixed value; `local` is what the local target sets instead. */
  | { kind: "value"; aws: string; local: string }
  /** The bucket the app writes project images to (presigned PUT URLs), and the domain it links them with. */
  | { kind: "imagesBucket" }
  | { kind: "imagesDomain" }
  /** Set by the Lambda runtime itself. */
  | { kind: "runtime" }
  /** Known and deliberately left unset: the app's default applies. */
  | { kind: "unset"; why: string }
  /** Never set by the stack or the local target, whatever the app reads. */
  | { kind: "forbidden"; why: string };

const contractTables: Record<string, EnvProvider> = Object.fromEntries(TABLES.map((t) => [t.envVar, { kind: "table", table: t.name }]));

/** Every variable a synced app may read, with its provider. A variable not listed stops `prepare`. */
export const INTEGRATED_ENV: Readonly<Record<string, EnvProvider>> = {
  ...contractTables,
  // 3b58af3 calls DescribeTable on the people table at every cold start (looking for EmailIndex).
  PEOPLE_TABLE_NAME: { kind: "table", table: "PeopleTable", describe: true },
  // HEAD's tables: by default the same tables the TypeScript handlers use (one data set).
  PEOPLE_TABLE_V2_NAME: { kind: "table", table: "PeopleTable", v2: true },
  PROJECTS_TABLE_V2_NAME: { kind: "table", table: "ProjectsTable", v2: true },
  SUBSCRIPTIONS_TABLE_V2_NAME: { kind: "table", table: "SubscriptionsTable", v2: true },
  AUDIT_TABLE_NAME: { kind: "table", table: "AuditLogsTable" },
  LOCKOUT_TABLE_NAME: { kind: "appTable", table: "AccountLockoutTable" },
  // HEAD describes it at construction and silently fakes submissions when it cannot.
  PROJECT_SUBMISSIONS_TABLE_NAME: { kind: "appTable", table: "ProjectSubmissions", describe: true },
  JWT_SECRET: { kind: "secret", secret: "jwtSecret" },
  JWT_SECRET_KEY: { kind: "secret", secret: "jwtSecret" },
  CSRF_SECRET: { kind: "secret", secret: "csrfSecret" },
  JWT_EXPIRATION_HOURS: { kind: "config", value: "jwtExpirationHours" },
  SES_FROM_EMAIL: { kind: "config", value: "sesFromEmail" },
  FRONTEND_URL: { kind: "config", value: "frontendUrl" },
  CORS_ORIGINS: { kind: "config", value: "corsOrigins" },
  LOG_LEVEL: { kind: "value", aws: "INFO", local: "INFO" },
  // HEAD accepts only development|staging|production (anything else fails the import).
  ENVIRONMENT: { kind: "value", aws: "production", local: "development" },
  // Locally there is no SES: HEAD's test mode makes sends no-ops.
  EMAIL_TEST_MODE: { kind: "value", aws: "false", local: "true" },
  PROJECT_IMAGES_BUCKET_NAME: { kind: "imagesBucket" },
  PROJECT_IMAGES_CLOUDFRONT_DOMAIN: { kind: "imagesDomain" },
  SES_CONFIGURATION_SET: { kind: "unset", why: "no SES configuration set is provisioned; the app sends without one" },
  AUTH_FUNCTION_NAME: { kind: "unset", why: "read only by the app's router Lambda; the API gateway routes instead" },
  API_FUNCTION_NAME: { kind: "unset", why: "read only by the app's router Lambda; the API gateway routes instead" },
  _: { kind: "unset", why: "the shell's last command (the app looks for pytest in it)" },
  TESTING: { kind: "forbidden", why: "TESTING=true switches the app's authentication off" },
  DEBUG: { kind: "forbidden", why: "debug output is never enabled in a deployment" },
  AWS_REGION: { kind: "runtime" },
  AWS_DEFAULT_REGION: { kind: "runtime" },
  AWS_ACCESS_KEY_ID: { kind: "runtime" },
  AWS_SECRET_ACCESS_KEY: { kind: "runtime" },
  AWS_SESSION_TOKEN: { kind: "runtime" },
  AWS_LAMBDA_FUNCTION_NAME: { kind: "runtime" },
  AWS_EXECUTION_ENV: { kind: "runtime" },
  LAMBDA_TASK_ROOT: { kind: "runtime" },
};

/** Table names an app hard-codes (no variable), and the app table each stands for. */
export const HARDCODED_TABLES: Readonly<Record<string, AppTableName>> = Object.fromEntries(
  APP_TABLES.filter((t) => t.fixedName).map((t) => [t.fixedName!, t.name]),
);
