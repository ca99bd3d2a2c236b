// The ten DynamoDB tables of the People Register, as data. The stack provisions exactly these,
// the local target creates exactly these and the handlers read their names from `envVar`.
// Plain data with no imports: safe to load from the Pulumi program, the handlers and the tests.

/** The Lambda functions of the API. */
export type FunctionName = "api" | "auth";

/** What a function may do with a table; the stack turns it into IAM actions. */
export type TableAccess = "read" | "write" | "readwrite";

export interface KeySchema {
  /** Partition key attribute (always a string). */
  hashKey: string;
  /** Sort key attribute (always a string), when the table or index has one. */
  rangeKey?: string;
}

export interface IndexSpec extends KeySchema {
  name: string;
}

export interface TableSpec extends KeySchema {
  /** The name the old CDK stack deployed (`legacy` naming); also the logical name everywhere else. */
  name: TableName;
  globalSecondaryIndexes: readonly IndexSpec[];
  /** Attribute holding an epoch-seconds expiry, when the table has TTL. */
  ttlAttribute?: string;
  /** Environment variable that carries the physical table name to the functions. */
  envVar: string;
  /** Which functions may touch this table, and how. A function not listed gets no access. */
  access: Partial<Record<FunctionName, TableAccess>>;
}

export type TableName =
  | "PeopleTable"
  | "ProjectsTable"
  | "SubscriptionsTable"
  | "PasswordResetTokensTable"
  | "AuditLogsTable"
  | "EmailTrackingTable"
  | "PasswordHistoryTable"
  | "SessionTrackingTable"
  | "RateLimitTable"
  | "CSRFTokenTable";

export const TABLES: readonly TableSpec[] = [
  {
    name: "PeopleTable",
    hashKey: "id",
    globalSecondaryIndexes: [{ name: "EmailIndex", hashKey: "email" }],
    envVar: "PEOPLE_TABLE_NAME",
    // auth: login reads the person, counts failures, migrates legacy hashes, stamps lastLoginAt.
    access: { api: "readwrite", auth: "readwrite" },
  },
  {
    name: "ProjectsTable",
    hashKey: "id",
    globalSecondaryIndexes: [],
    envVar: "PROJECTS_TABLE_NAME",
    access: { api: "readwrite" },
  },
  {
    name: "SubscriptionsTable",
    hashKey: "id",
    globalSecondaryIndexes: [
      { name: "ProjectIndex", hashKey: "projectId" },
      { name: "PersonIndex", hashKey: "personId" },
    ],
    envVar: "SUBSCRIPTIONS_TABLE_NAME",
    access: { api: "readwrite" },
  },
  {
    name: "PasswordResetTokensTable",
    hashKey: "resetToken",
    globalSecondaryIndexes: [{ name: "EmailIndex", hashKey: "email" }],
    ttlAttribute: "expiresAt",
    envVar: "PASSWORD_RESET_TOKENS_TABLE_NAME",
    access: { api: "readwrite" },
  },
  {
    name: "AuditLogsTable",
    hashKey: "id",
    rangeKey: "timestamp",
    globalSecondaryIndexes: [
      { name: "PersonIndex", hashKey: "personId", rangeKey: "timestamp" },
      { name: "ActionIndex", hashKey: "action", rangeKey: "timestamp" },
    ],
    // Only rows that carry it expire (failed logins for unknown emails); the rest are kept.
    ttlAttribute: "ttl",
    envVar: "AUDIT_LOGS_TABLE_NAME",
    // api reads it for the admin dashboard's recent audit entries.
    access: { api: "readwrite", auth: "write" },
  },
  {
    name: "EmailTrackingTable",
    hashKey: "emailId",
    globalSecondaryIndexes: [
      { name: "RecipientIndex", hashKey: "recipientEmail", rangeKey: "createdAt" },
      { name: "StatusIndex", hashKey: "status", rangeKey: "createdAt" },
      { name: "TemplateIndex", hashKey: "templateType", rangeKey: "createdAt" },
    ],
    ttlAttribute: "ttl",
    envVar: "EMAIL_TRACKING_TABLE",
    // auth sends the account-locked notice.
    access: { api: "write", auth: "write" },
  },
  {
    name: "PasswordHistoryTable",
    hashKey: "userId",
    rangeKey: "createdAt",
    globalSecondaryIndexes: [],
    ttlAttribute: "ttl",
    envVar: "PASSWORD_HISTORY_TABLE",
    access: { api: "readwrite" },
  },
  {
    name: "SessionTrackingTable",
    hashKey: "sessionId",
    globalSecondaryIndexes: [{ name: "UserIndex", hashKey: "userId", rangeKey: "createdAt" }],
    ttlAttribute: "ttl",
    envVar: "SESSION_TRACKING_TABLE",
    // api verifies sessions on every authenticated request and ends them on password changes.
    access: { api: "readwrite", auth: "readwrite" },
  },
  {
    name: "RateLimitTable",
    hashKey: "id",
    globalSecondaryIndexes: [{ name: "EndpointIndex", hashKey: "endpoint", rangeKey: "lastReset" }],
    ttlAttribute: "ttl",
    envVar: "RATE_LIMIT_TABLE_NAME",
    access: { api: "readwrite", auth: "readwrite" },
  },
  {
    name: "CSRFTokenTable",
    hashKey: "token",
    globalSecondaryIndexes: [{ name: "SessionIndex", hashKey: "session_id", rangeKey: "created_at" }],
    ttlAttribute: "ttl",
    envVar: "CSRF_TOKEN_TABLE_NAME",
    access: { api: "readwrite" },
  },
];

/** Every attribute a table or one of its indexes is keyed on (what DynamoDB needs declared). */
export function keyAttributes(table: TableSpec): string[] {
  const names = [table.hashKey, table.rangeKey];
  for (const index of table.globalSecondaryIndexes) names.push(index.hashKey, index.rangeKey);
  return [...new Set(names.filter((n): n is string => typeof n === "string"))];
}

export function tableSpec(name: TableName): TableSpec {
  const spec = TABLES.find((t) => t.name === name);
  if (!spec) throw new Error(`unknown table ${name}`);
  return spec;
}

/** The tables a function may touch, with the access it has. */
export function tablesFor(fn: FunctionName): Array<{ table: TableSpec; access: TableAccess }> {
  return TABLES.flatMap((table) => {
    const access = table.access[fn];
    return access ? [{ table, access }] : [];
  });
}
