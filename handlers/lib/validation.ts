// Validation with zod (the `zod/mini` build: same checks, a fraction of the bundle size). Objects are
// strict, so unknown fields (isAdmin, passwordHash, id, …) are rejected, never silently stored.
import * as z from "zod/mini";
import { type ErrorDetail, HttpError } from "./http";



const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
export const isUuidV4 = (value: string): boolean => UUID_V4.test(value);

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return "Unknown field";
    case "invalid_type":
      return `Expected ${issue.expected}`;
    case "too_small":
      return issue.origin === "string" ? `Must be at least ${issue.minimum} characters` : `Must be at least ${issue.minimum}`;
    case "too_big":
      return issue.origin === "string" ? `Must be at most ${issue.maximum} characters` : `Must be at most ${issue.maximum}`;
    case "invalid_format":
      return `Must be a valid ${issue.format}`;
    case "invalid_value":
      return `Must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return issue.message && issue.message !== "Invalid input" ? issue.message : "Invalid value";
  }
}

export function issuesToDetails(issues: readonly z.core.$ZodIssue[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) details.push({ field: base ? `${base}.${key}` : key, code: "unknown_field", message: "Unknown field" });
    } else {
      details.push({ field: base || "body", code: issue.code, message: describe(issue) });
    }
  }
  return details;
}

/** Parse or throw 400 VALIDATION_ERROR with one detail per problem. */
export function validate<T extends z.ZodMiniType>(schema: T, value: unknown, what = "Request body"): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, "VALIDATION_ERROR", `${what} is invalid`, issuesToDetails(result.error.issues));
  return result.data;
}

// Shared field schemas.
export const uuidV4 = z.string().check(z.regex(UUID_V4, "Must be a UUID v4"));
export const emailField = z.string().check(z.maxLength(254), z.email());
export const nonEmpty = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), z.refine((s) => s.trim().length > 0, "Must not be blank"));

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
