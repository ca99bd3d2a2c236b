// Account lockout: 5 failed logins within 15 minutes lock the account for 15 minutes. The counter is
// updated with compare-and-swap writes on the person item, so parallel failures lock at exactly 5.
import { GetCommand, UpdateCommand } from "./db";
import { ddb, type Item, isConditionFailure, table } from "./db";

export const MAX_FAILED_LOGINS = 5;
export const FAILURE_WINDOW_MS = 15 * 60 * 1000;
export const LOCK_DURATION_MS = 15 * 60 * 1000;

/** The lock's end when the account is locked now. */
export function lockedUntil(person: Item, nowMs = Date.now()): string | undefined {
  const until = person.accountLockedUntil;
  return typeof until === "string" && Date.parse(until) > nowMs ? until : undefined;
}

export type FailureOutcome = { kind: "counted"; attempts: number } | { kind: "locked-now"; until: string } | { kind: "already-locked"; until: string };

/** Count one failed login. Retries on write conflicts; each retry re-reads the current state. */
export async function recordFailedLogin(personId: string, nowMs = Date.now()): Promise<FailureOutcome> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const out = await ddb().send(
      new GetCommand({
        TableName: table("PeopleTable"),
        Key: { id: personId },
        ConsistentRead: true,
        ProjectionExpression: "failedLoginAttempts, failedLoginWindowStart, accountLockedUntil",
      }),
    );
    const cur = (out.Item ?? {}) as Item;
    const locked = lockedUntil(cur, nowMs);
    if (locked) return { kind: "already-locked", until: locked };
    const windowStart = typeof cur.failedLoginWindowStart === "string" ? cur.failedLoginWindowStart : undefined;
    const inWindow = windowStart !== undefined && Date.parse(windowStart) > nowMs - FAILURE_WINDOW_MS;
    const previous = inWindow && typeof cur.failedLoginAttempts === "number" ? cur.failedLoginAttempts : 0;
    const attempts = previous + 1;
    const now = new Date(nowMs).toISOString();
    const until = new Date(nowMs + LOCK_DURATION_MS).toISOString();
    const values: Record<string, unknown> = { ":n": attempts, ":ws": inWindow ? windowStart : now, ":now": now };
    let condition = "attribute_exists(id)";
    if (cur.failedLoginAttempts === undefined) condition += " AND attribute_not_exists(failedLoginAttempts)";
    else {
      condition += " AND failedLoginAttempts = :prevN";
      values[":prevN"] = cur.failedLoginAttempts;
    }
    if (windowStart === undefined) condition += " AND attribute_not_exists(failedLoginWindowStart)";
    else {
      condition += " AND failedLoginWindowStart = :prevWs";
      values[":prevWs"] = windowStart;
    }
    let update = "SET failedLoginAttempts = :n, failedLoginWindowStart = :ws, lastFailedLoginAt = :now";
    if (attempts >= MAX_FAILED_LOGINS) {
      update += ", accountLockedUntil = :until";
      values[":until"] = until;
    }
    try {
      await ddb().send(
        new UpdateCommand({ TableName: table("PeopleTable"), Key: { id: personId }, UpdateExpression: update, ConditionExpression: condition, ExpressionAttributeValues: values }),
      );
      return attempts >= MAX_FAILED_LOGINS ? { kind: "locked-now", until } : { kind: "counted", attempts };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // Another request changed the counter first: read again and retry.
    }
  }
  throw new Error("failed-login counter kept conflicting");
}
