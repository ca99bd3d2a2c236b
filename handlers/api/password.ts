// Password change, self-service reset (request, check, confirm) and the CSRF token route.
import { audit } from "../lib/audit";
import { assertCurrentPassword, assertNotReused, consumeResetToken, createResetToken, findResetToken, RESET_TTL_SECONDS, setPassword, tokenInvalid } from "../lib/credentials";
import { clientFingerprint, issueCsrfToken } from "../lib/csrf";
import { renderEmail, sendEmail } from "../lib/email";
import { HttpError, json, type Reply } from "../lib/http";
import { findPersonByEmail, getPerson, isActivePerson } from "../lib/people";
import { type RequestContext, requirePrincipal } from "../lib/pipeline";
import { endSessionsOf } from "../lib/sessions";
import { assertPasswordPolicy, emailField, passwordInput } from "../lib/validation";
import * as z from "../lib/zod";

const ChangePassword = z.strictObject({ currentPassword: passwordInput, newPassword: passwordInput });
const ResetRequest = z.strictObject({ email: emailField });
const ResetConfirm = z.strictObject({ token: z.string().check(z.minLength(1), z.maxLength(512)), newPassword: passwordInput });

const GENERIC_RESET_ANSWER = { success: true, message: "If an account exists for this email, a reset link has been sent." };

export async function csrfToken(ctx: RequestContext): Promise<Reply> {
  return json(200, issueCsrfToken(clientFingerprint(ctx.ip, ctx.userAgent), ctx.query.form ?? "default"));
}

export async function changePassword(ctx: RequestContext): Promise<Reply> {
  const p = requirePrincipal(ctx);
  const { currentPassword, newPassword } = ctx.body(ChangePassword);
  assertPasswordPolicy(newPassword);
  await assertCurrentPassword(p.person, currentPassword);
  await assertNotReused(p.person, newPassword);
  await setPassword(p.person, newPassword);
  const ended = await endSessionsOf(p.id, p.sid);
  const person = p.person;
  await sendEmail({ to: String(person.email), template: "password_changed", ...renderEmail("password_changed", { firstName: String(person.firstName ?? "") }) }, ctx.log);
  await audit({ action: "PASSWORD_CHANGED", personId: p.id, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { otherSessionsEnded: ended } }, ctx.log);
  return json(200, { success: true, message: "Password changed; other sessions were signed out" });
}

/**
 * A reset request answers no sooner than this after it started, whether or not the email exists:
 * the known-email path (token, email, audit) must not be measurably slower than the unknown one.
 * Above what the known path takes on AWS (a few DynamoDB writes and one SES call).
 */
export const RESET_ANSWER_FLOOR_MS = 400;

export async function requestReset(ctx: RequestContext): Promise<Reply> {
  const started = Date.now();
  const reply = await requestResetWork(ctx);
  const wait = started + RESET_ANSWER_FLOOR_MS - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  return reply;
}

async function requestResetWork(ctx: RequestContext): Promise<Reply> {
  const { email } = ctx.body(ResetRequest);
  const person = await findPersonByEmail(email);
  // Same answer either way; a token is only written (and emailed) for a real, active account.
  if (person && isActivePerson(person)) {
    const { link } = await createResetToken(person, RESET_TTL_SECONDS, "reset");
    await sendEmail({ to: String(person.email), template: "password_reset", ...renderEmail("password_reset", { firstName: String(person.firstName ?? ""), link }) }, ctx.log);
    await audit({ action: "PASSWORD_RESET_REQUESTED", personId: String(person.id), success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { by: "self" } }, ctx.log);
  }
  return json(200, GENERIC_RESET_ANSWER);
}

export async function checkReset(ctx: RequestContext): Promise<Reply> {
  const token = ctx.query.token;
  if (!token) throw new HttpError(400, "TOKEN_INVALID", "A reset token is required", [{ field: "token", code: "required", message: "Give the token from the email" }]);
  const item = await findResetToken(token);
  if (!item) throw tokenInvalid();
  return json(200, { valid: true, expiresAt: new Date(Number(item.expiresAt) * 1000).toISOString() });
}

export async function confirmReset(ctx: RequestContext): Promise<Reply> {
  const { token, newPassword } = ctx.body(ResetConfirm);
  assertPasswordPolicy(newPassword);
  const item = await findResetToken(token);
  if (!item) throw tokenInvalid();
  const person = typeof item.personId === "string" ? await getPerson(item.personId) : await findPersonByEmail(String(item.email ?? ""));
  if (!person) throw tokenInvalid();
  await assertNotReused(person, newPassword);
  // Single use: only the request that deletes the token goes on.
  if (!(await consumeResetToken(token))) throw tokenInvalid();
  const personId = String(person.id);
  await setPassword(person, newPassword);
  const ended = await endSessionsOf(personId);
  await sendEmail({ to: String(person.email), template: "password_changed", ...renderEmail("password_changed", { firstName: String(person.firstName ?? "") }) }, ctx.log);
  await audit({ action: "PASSWORD_RESET_COMPLETED", personId, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { sessionsEnded: ended } }, ctx.log);
  return json(200, { success: true, message: "Password set; you can now log in" });
}
