// POST /auth/login: a lockout slot claimed before the password is checked, constant-ish time for unknown accounts, legacy
// `password` hashes migrated to `passwordHash`, a new session per login.
import { randomUUID } from "node:crypto";
import { audit, UNKNOWN_EMAIL_AUDIT_TTL_SECONDS } from "../lib/audit";
import { renderEmail, sendEmail } from "../lib/email";
import { HttpError, json, type Reply } from "../lib/http";
import { issueToken, tokenSubject } from "../lib/jwt";
import { accountLocked, claimLoginAttempt, personSubject, recordSuccessfulLogin, unknownEmailSubject } from "../lib/lockout";
import { findPersonByEmail, isActivePerson, normaliseEmail, safePerson } from "../lib/people";
import { isBcryptHash, verifyPassword } from "../lib/passwords";
import type { RequestContext } from "../lib/pipeline";
import { createSessionWithId, SESSION_MAX_LIFETIME_SECONDS } from "../lib/sessions";
import { emailField, passwordInput } from "../lib/validation";
import * as z from "../lib/zod";

const LoginBody = z.strictObject({ email: emailField, password: passwordInput });

const invalidCredentials = (): HttpError => new HttpError(401, "INVALID_CREDENTIALS", "Invalid email or password");

export async function login(ctx: RequestContext): Promise<Reply> {
  const { email, password } = ctx.body(LoginBody);
  const client = { ipAddress: ctx.ip, userAgent: ctx.userAgent };
  const person = await findPersonByEmail(email);
  const personId = person ? String(person.id) : undefined;
  const subject = personId ? personSubject(personId) : unknownEmailSubject(normaliseEmail(email));

  // The slot is claimed before the password is checked: at most 5 checks per window, whatever the concurrency.
  const claim = await claimLoginAttempt(subject);
  if (claim.kind === "locked") {
    await audit({ action: "LOGIN_FAILED", ...(personId ? { personId } : {}), success: false, ...client, details: { reason: "account_locked" } }, ctx.log);
    throw accountLocked(claim.until);
  }
  const legacy = person && !isBcryptHash(person.passwordHash) && isBcryptHash(person.password) ? (person.password as string) : undefined;
  const ok = await verifyPassword(password, person ? (legacy ?? person.passwordHash) : undefined);

  if (!person || !personId) {
    await audit(
      { action: "LOGIN_FAILED", success: false, ...client, details: { reason: "unknown_email", email: normaliseEmail(email) }, ttlSeconds: UNKNOWN_EMAIL_AUDIT_TTL_SECONDS },
      ctx.log,
    );
    throw invalidCredentials();
  }
  if (!ok) {
    await audit({ action: "LOGIN_FAILED", personId, success: false, ...client, details: { reason: "bad_password" } }, ctx.log);
    if (claim.setLock) {
      await audit({ action: "ACCOUNT_LOCKED", personId, success: true, ...client, details: { until: claim.setLock } }, ctx.log);
      const mail = renderEmail("account_locked", { firstName: String(person.firstName ?? ""), until: claim.setLock });
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
  const nowMs = Date.now();
  const { token, claims } = await issueToken(tokenSubject(person), sid, nowMs, Math.floor(nowMs / 1000) + SESSION_MAX_LIFETIME_SECONDS);
  // Three independent writes: one round trip.
  await Promise.all([
    recordSuccessfulLogin(subject, claim, { set: { lastLoginAt: now, ...(legacy ? { passwordHash: legacy } : {}) }, remove: legacy ? ["password"] : [] }),
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
