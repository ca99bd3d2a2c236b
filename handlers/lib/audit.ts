// Audit log (AuditLogsTable). Writing an entry never fails the request; details never carry secrets.
import { randomUUID } from "node:crypto";
import { ddb, PutCommand, table } from "./db";
import { type Logger, redact } from "./log";

export const AUDIT_ACTIONS = [
  "LOGIN_SUCCESS",
  "LOGIN_FAILED",
  "ACCOUNT_LOCKED",
  "LOGOUT",
  "PASSWORD_CHANGED",
  "PASSWORD_RESET_REQUESTED",
  "PASSWORD_RESET_COMPLETED",
  "PERSON_CREATED",
  "PERSON_UPDATED",
  "PERSON_DELETED",
  "PROJECT_CREATED",
  "PROJECT_UPDATED",
  "PROJECT_DELETED",
  "SUBSCRIPTION_CREATED",
  "SUBSCRIPTION_UPDATED",
  "SUBSCRIPTION_DELETED",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  action: AuditAction;
  personId?: string;
  success: boolean;
  ipAddress: string;
  userAgent: string;
  details?: Record<string, unknown>;
  /** Rows that must not be kept for ever (e.g. a typed unknown email) expire after this many seconds. */
  ttlSeconds?: number;
}

/** Failed logins for unknown emails keep the typed address: long enough to spot credential stuffing, no longer. */
export const UNKNOWN_EMAIL_AUDIT_TTL_SECONDS = 30 * 24 * 3600;

export async function audit(entry: AuditEntry, log: Logger): Promise<void> {
  try {
    await ddb().send(
      new PutCommand({
        TableName: table("AuditLogsTable"),
        Item: {
          id: randomUUID(),
          timestamp: new Date().toISOString(),
          // PersonIndex needs a string key; anonymous events are filed under "anonymous".
          personId: entry.personId ?? "anonymous",
          action: entry.action,
          success: entry.success,
          ipAddress: entry.ipAddress,
          userAgent: entry.userAgent,
          details: redact(entry.details ?? {}),
          ...(entry.ttlSeconds !== undefined ? { ttl: Math.floor(Date.now() / 1000) + entry.ttlSeconds } : {}),
        },
      }),
    );
  } catch (err) {
    log.error("audit write failed", { action: entry.action, error: (err as Error).message });
  }
}
