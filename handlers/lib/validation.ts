// Validation with zod (the `zod/mini` build: same checks, a fraction of the bundle size). Objects are
// strict, so unknown fields (isAdmin, passwordHash, id, …) are rejected, never silently stored.
import * as z from "./zod";
import { type ErrorDetail, HttpError } from "./http";
import { UUID_V4 } from "./validate";

// The schema-free part lives in lib/validate.ts (the pipeline loads it without zod); re-exported here.
export { isUuidV4, issuesToDetails, validate } from "./validate";

// Shared field schemas.
export const uuidV4 = z.string().check(z.regex(UUID_V4, "Must be a UUID v4"));
export const emailField = z.string().check(z.maxLength(254), z.email());
export const nonEmpty = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), z.refine((s) => s.trim().length > 0, "Must not be blank"));
/** Any string of at most `max` characters, "" included. */
export const maxText = (max: number) => z.string().check(z.maxLength(max));
/** A phone number as given ("" means unknown): registration, profile updates and the public subscribe page. */
export const phoneField = maxText(40);

/** A calendar date `YYYY-MM-DD` that exists. */
export const isoDate = z.string().check(
  z.regex(/^\d{4}-\d{2}-\d{2}$/, "Must be a date YYYY-MM-DD"),
  z.refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, "Must be a real calendar date"),
);

/** A date or an ISO 8601 date-time. */
export const isoDateOrDateTime = z.union([isoDate, z.iso.datetime({ offset: true })]);

export const passwordInput = z.string().check(z.minLength(1), z.maxLength(1024));

/** bcrypt's input limit. */
export const MAX_PASSWORD_BYTES = 72;

/** Password policy: 8–128 characters (at most 72 bytes) with upper, lower, digit and special; returns the problems. */
export function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < 8) problems.push("at least 8 characters");
  if (length > 128) problems.push("at most 128 characters");
  // bcrypt ignores every byte past the 72nd: a longer password would be only partly checked.
  else if (Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES) problems.push(`at most ${MAX_PASSWORD_BYTES} bytes (UTF-8)`);
  if (!/\p{Lu}/u.test(password)) problems.push("an upper-case letter");
  if (!/\p{Ll}/u.test(password)) problems.push("a lower-case letter");
  if (!/\p{Nd}/u.test(password)) problems.push("a digit");
  if (!/[^\p{L}\p{Nd}\s]/u.test(password)) problems.push("a special character");
  return problems;
}

export function assertPasswordPolicy(password: string, field = "newPassword"): void {
  const problems = passwordProblems(password);
  if (problems.length > 0) {
    throw new HttpError(400, "WEAK_PASSWORD", "The password does not meet the policy", [
      { field, code: "password_policy", message: `The password needs ${problems.join(", ")}` },
    ]);
  }
}

/** `?limit=` (1–100, default 50) and `?nextToken=` (opaque; decoded by the data layer). */
export function pageQuery(query: Record<string, string>): { limit: number; nextToken?: string } {
  const details: ErrorDetail[] = [];
  let limit = 50;
  if (query.limit !== undefined) {
    if (!/^\d{1,3}$/.test(query.limit) || Number(query.limit) < 1 || Number(query.limit) > 100) {
      details.push({ field: "limit", code: "invalid_limit", message: "limit must be an integer from 1 to 100" });
    } else limit = Number(query.limit);
  }
  const nextToken = query.nextToken;
  if (nextToken !== undefined && (nextToken === "" || nextToken.length > 2048)) {
    details.push({ field: "nextToken", code: "invalid_token", message: "nextToken is not valid" });
  }
  if (details.length) throw new HttpError(400, "VALIDATION_ERROR", "Query parameters are invalid", details);
  return { limit, ...(nextToken !== undefined ? { nextToken } : {}) };
}
