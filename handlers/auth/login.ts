// POST /auth/login: lockout before the password, constant-ish time for unknown accounts, legacy
// `password` hashes migrated to `passwordHash`, a new session per login.
import { randomUUID } from "node:crypto";
import { UpdateCommand } from "../lib/db";
import { audit } from "../lib/audit";
import { ddb, type Item, table } from "../lib/db";
import { renderEmail, sendEmail } from "../lib/email";
import { HttpError, json, type Reply } from "../lib/http";
import { issueToken } from "../lib/jwt";
import { lockedUntil, recordFailedLogin } from "../lib/lockout";
import { findPersonByEmail, isActivePerson, normaliseEmail, safePerson } from "../lib/people";
import { isBcryptHash, verifyPassword } from "../lib/passwords";
import type { RequestContext } from "../lib/pipeline";
import { createSessionWithId } from "../lib/sessions";
import { emailField, passwordInput } from "../lib/validation";
import * as z from "zod/mini";

const LoginBody = z.strictObject({ email: emailField, password: passwordInput });

const invalidCredentials = (): HttpError => new HttpError(401, "INVALID_CREDENTIALS", "Invalid email or password");
const accountLocked = (until: string): HttpError =>
  new HttpError(423, "ACCOUNT_LOCKED", "The account is locked after too many failed logins; try again later", undefined, {
    "Retry-After": String(Math.max(1, Math.ceil((Date.parse(until) - Date.now()) / 1000))),
  });

export async function login(ctx: RequestContext): Promise<Reply> {
  const { email, password } = ctx.body(LoginBody);
  const client = { ipAddress: ctx.ip, userAgent: ctx.userAgent };
  const person = await findPersonByEmail(email);

  if (person) {
    const until = lockedUntil(person);
    if (until) {
      await audit({ action: "LOGIN_FAILED", personId: String(person.id), success: false, ...client, details: { reason: "account_locked" } }, ctx.log);
      throw accountLocked(until);
    }
  }
  const legacy = person && !isBcryptHash(person.passwordHash) && isBcryptHash(person.password) ? (person.password as string) : undefined;
  const ok = await verifyPassword(password, person ? (legacy ?? person.passwordHash) : undefined);

  if (!person) {
    await audit({ action: "LOGIN_FAILED", success: false, ...client, details: { reason: "unknown_email", email: normaliseEmail(email) } }, ctx.log);
    throw invalidCredentials();
  }
  const personId = String(person.id);
  if (!ok) {
    const outcome = await recordFailedLogin(personId);
    await audit({ action: "LOGIN_FAILED", personId, success: false, ...client, details: { reason: "bad_password" } }, ctx.log);
    if (outcome.kind === "already-locked") throw accountLocked(outcome.until);
    if (outcome.kind === "locked-now") {
      await audit({ action: "ACCOUNT_LOCKED", personId, success: true, ...client, details: { until: outcome.until } }, ctx.log);
      const mail = renderEmail("account_locked", { firstName: String(person.firstName ?? ""), until: outcome.until });
      await sendEmail({ to: String(person.email), template: "account_locked", ...mail }, ctx.log);
    }
    throw invalidCredentials();
  }
  if (!isActivePerson(person)) {
    await audit({ action: "LOGIN_FAILED", personId, success: false, ...client, details: { reason: "inactive" } }, ctx.log);
    throw invalidCredentials();
  }

  const now = new Date().toISOString();
  const sid = randomUUID();
  const { token, claims } = await issueToken(tokenSubject(person), sid);
  // Three independent writes: one round trip.
  await Promise.all([
    ddb().send(
      new UpdateCommand({
        TableName: table("PeopleTable"),
        Key: { id: personId },
        UpdateExpression: `SET lastLoginAt = :now, failedLoginAttempts = :zero${legacy ? ", passwordHash = :hash" : ""} REMOVE accountLockedUntil, failedLoginWindowStart${legacy ? ", password" : ""}`,
        ConditionExpression: "attribute_exists(id)",
        ExpressionAttributeValues: { ":now": now, ":zero": 0, ...(legacy ? { ":hash": legacy } : {}) },
      }),
    ),
    createSessionWithId(sid, personId, claims.exp, { ip: ctx.ip, userAgent: ctx.userAgent }),
    audit({ action: "LOGIN_SUCCESS", personId, success: true, ...client, details: legacy ? { migratedLegacyHash: true } : {} }, ctx.log),
  ]);
  return json(200, {
    success: true,
    accessToken: token,
    tokenType: "Bearer",
    expiresAt: new Date(claims.exp * 1000).toISOString(),
    user: { ...safePerson({ ...person, lastLoginAt: now }), requirePasswordChange: person.requirePasswordChange === true },
  });
}

export function tokenSubject(person: Item): { id: string; email: string; firstName: string; lastName: string; isAdmin: boolean } {
  return {
    id: String(person.id),
    email: String(person.email ?? ""),
    firstName: String(person.firstName ?? ""),
    lastName: String(person.lastName ?? ""),
    isAdmin: person.isAdmin === true,
  };
}
