// Account lockout: 5 failed logins within 15 minutes lock the account for 15 minutes.
//
// Every login attempt claims a numbered slot BEFORE its password is checked (a compare-and-swap
// write on the counter), so whatever the concurrency at most 5 attempts are ever checked per
// window: the claim that takes slot 5 sets the lock, and later attempts find the lock and get 423
// without a bcrypt comparison, even with the right password. A successful attempt then gives its
// slot back: it resets the counter when no attempt claimed a slot after it, otherwise it only
// returns its own slot; it never removes a lock it did not set itself.
//
// Unknown emails are counted the same way on a stand-in item in RateLimitTable (keyed by the
// email's hash, expiring by TTL), so a 423 does not tell an attacker that an account exists.
import { createHash } from "node:crypto";
import { ddb, GetCommand, isConditionFailure, type Item, table, UpdateCommand } from "./db";
import { HttpError } from "./http";

export const MAX_FAILED_LOGINS = 5;
export const FAILURE_WINDOW_MS = 15 * 60 * 1000;
export const LOCK_DURATION_MS = 15 * 60 * 1000;

/** Where an email's failure counter lives: the person item, or a stand-in for an unknown email. */
export interface LockSubject {
  table: "PeopleTable" | "RateLimitTable";
  key: { id: string };
  /** Stand-ins carry a TTL (epoch seconds) so they disappear; people items never do. */
  expires: boolean;
}

export const personSubject = (personId: string): LockSubject => ({ table: "PeopleTable", key: { id: personId }, expires: false });

export const unknownEmailSubject = (normalisedEmail: string): LockSubject => ({
  table: "RateLimitTable",
  key: { id: `lockout#${createHash("sha256").update(normalisedEmail).digest("hex")}` },
  expires: true,
});

/** The lock's end when the item is locked now. */
export function lockedUntil(item: Item, nowMs = Date.now()): string | undefined {
  const until = item.accountLockedUntil;
  return typeof until === "string" && Date.parse(until) > nowMs ? until : undefined;
}

export const accountLocked = (until: string): HttpError =>
  new HttpError(423, "ACCOUNT_LOCKED", "The account is locked after too many failed logins; try again later", undefined, {
    "Retry-After": String(Math.max(1, Math.ceil((Date.parse(until) - Date.now()) / 1000))),
  });

export type Claim =
  | { kind: "locked"; until: string }
  /** `slot` 1..5; `setLock` is the lock this claim set (only the claim taking slot 5 sets one). */
  | { kind: "claimed"; slot: number; windowStart: string; setLock?: string };

const MAX_CAS_ROUNDS = 100;
const backoff = (round: number): Promise<void> => new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 + round * 2)));

/** Claim a slot for one login attempt (before its password is checked). Retries on write conflicts. */
export async function claimLoginAttempt(subject: LockSubject, nowMs = Date.now()): Promise<Claim> {
  for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
    const out = await ddb().send(
      new GetCommand({
        TableName: table(subject.table),
        Key: subject.key,
        ConsistentRead: true,
        ProjectionExpression: "failedLoginAttempts, failedLoginWindowStart, accountLockedUntil",
      }),
    );
    // A person deleted meanwhile: nothing to count (the caller's lookup found them a moment ago).
    if (!out.Item && !subject.expires) throw new Error("the person to count a login attempt for no longer exists");
    const cur = (out.Item ?? {}) as Item;
    const locked = lockedUntil(cur, nowMs);
    if (locked) return { kind: "locked", until: locked };
    const previousStart = typeof cur.failedLoginWindowStart === "string" ? cur.failedLoginWindowStart : undefined;
    const inWindow = previousStart !== undefined && Date.parse(previousStart) > nowMs - FAILURE_WINDOW_MS;
    const slot = (inWindow && typeof cur.failedLoginAttempts === "number" ? cur.failedLoginAttempts : 0) + 1;
    const now = new Date(nowMs).toISOString();
    const windowStart = inWindow ? (previousStart as string) : now;
    const setLock = slot >= MAX_FAILED_LOGINS ? new Date(nowMs + LOCK_DURATION_MS).toISOString() : undefined;

    const values: Record<string, unknown> = { ":n": slot, ":ws": windowStart, ":now": now };
    const conditions: string[] = subject.expires ? [] : ["attribute_exists(id)"];
    // Compare-and-swap on exactly what was read: a concurrent claim makes this write fail and retry.
    if (cur.failedLoginAttempts === undefined) conditions.push("attribute_not_exists(failedLoginAttempts)");
    else {
      conditions.push("failedLoginAttempts = :prevN");
      values[":prevN"] = cur.failedLoginAttempts;
    }
    if (previousStart === undefined) conditions.push("attribute_not_exists(failedLoginWindowStart)");
    else {
      conditions.push("failedLoginWindowStart = :prevWs");
      values[":prevWs"] = previousStart;
    }
    if (cur.accountLockedUntil === undefined) conditions.push("attribute_not_exists(accountLockedUntil)");
    else {
      conditions.push("accountLockedUntil = :prevLock");
      values[":prevLock"] = cur.accountLockedUntil;
    }
    let update = "SET failedLoginAttempts = :n, failedLoginWindowStart = :ws, lastLoginAttemptAt = :now";
    if (setLock) {
      update += ", accountLockedUntil = :until";
      values[":until"] = setLock;
    }
    if (subject.expires) {
      update += ", #ttl = :ttl";
      values[":ttl"] = Math.ceil((nowMs + FAILURE_WINDOW_MS + LOCK_DURATION_MS) / 1000) + 60;
    }
    try {
      await ddb().send(
        new UpdateCommand({
          TableName: table(subject.table),
          Key: subject.key,
          UpdateExpression: update,
          ConditionExpression: conditions.join(" AND "),
          ExpressionAttributeValues: values,
          ...(subject.expires ? { ExpressionAttributeNames: { "#ttl": "ttl" } } : {}),
        }),
      );
      return { kind: "claimed", slot, windowStart, ...(setLock ? { setLock } : {}) };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      await backoff(round);
    }
  }
  throw new Error("login-attempt counter kept conflicting");
}

/** Extra attributes the success write sets and removes (e.g. lastLoginAt, a migrated hash). */
export interface SuccessWrite {
  set: Record<string, unknown>;
  remove: string[];
}

/**
 * Give a successful attempt's slot back, together with `also` in the same write. Resets the counter
 * when no attempt claimed a slot after this one (and no lock but its own exists); otherwise returns
 * only its own slot, and leaves a lock set by another attempt in place.
 */
export async function recordSuccessfulLogin(subject: LockSubject, claim: Extract<Claim, { kind: "claimed" }>, also: SuccessWrite, nowMs = Date.now()): Promise<void> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  Object.entries(also.set).forEach(([k, v], i) => {
    names[`#s${i}`] = k;
    values[`:s${i}`] = v;
    sets.push(`#s${i} = :s${i}`);
  });
  const removes = also.remove.map((k, i) => {
    names[`#r${i}`] = k;
    return `#r${i}`;
  });
  const removeClause = removes.length ? ` REMOVE ${removes.join(", ")}` : "";
  const notLockedByOthers = claim.setLock
    ? "accountLockedUntil = :mine"
    : "(attribute_not_exists(accountLockedUntil) OR accountLockedUntil <= :nowIso)";
  const lockValues = claim.setLock ? { ":mine": claim.setLock } : { ":nowIso": new Date(nowMs).toISOString() };
  const attempts: Array<{ update: string; condition: string; values: Record<string, unknown> }> = [
    {
      // Nobody claimed after this attempt: a success resets the count (and removes its own lock).
      update: `SET ${["failedLoginAttempts = :zero", ...sets].join(", ")} REMOVE ${["accountLockedUntil", "failedLoginWindowStart", ...removes].join(", ")}`,
      condition: `attribute_exists(id) AND failedLoginAttempts = :slot AND failedLoginWindowStart = :ws AND ${notLockedByOthers}`,
      values: { ":zero": 0, ":slot": claim.slot, ":ws": claim.windowStart, ...lockValues },
    },
    {
      // Later attempts are in flight: their slots stay counted, only this one is given back.
      update: `SET ${["failedLoginAttempts = failedLoginAttempts - :one", ...sets].join(", ")}${removeClause}`,
      condition: "attribute_exists(id) AND failedLoginAttempts > :zero AND failedLoginWindowStart = :ws AND (attribute_not_exists(accountLockedUntil) OR accountLockedUntil <= :nowIso)",
      values: { ":one": 1, ":zero": 0, ":ws": claim.windowStart, ":nowIso": new Date(nowMs).toISOString() },
    },
    {
      // Locked by another attempt, or the window moved on: the counter is not this attempt's to change.
      update: sets.length ? `SET ${sets.join(", ")}${removeClause}` : "",
      condition: "attribute_exists(id)",
      values: {},
    },
  ];
  for (const a of attempts) {
    if (!a.update) return;
    try {
      await ddb().send(
        new UpdateCommand({
          TableName: table(subject.table),
          Key: subject.key,
          UpdateExpression: a.update,
          ConditionExpression: a.condition,
          ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
          ...(Object.keys({ ...values, ...a.values }).length ? { ExpressionAttributeValues: { ...values, ...a.values } } : {}),
        }),
      );
      return;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }
}
