// CSRF tokens for public state-changing routes: HMAC-SHA256 over (client fingerprint, form, issue
// time, nonce) with CSRF_SECRET, valid one hour, single use (a conditional write in CSRFTokenTable
// marks a token used; a second use fails the condition).
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { RouteSpec } from "../contract";
import { config } from "./config";
import { ddb, isConditionFailure, PutCommand, table } from "./db";
import { HttpError } from "./http";

export const CSRF_TTL_SECONDS = 3600;
const FORM = /^[A-Za-z0-9_-]{1,32}$/;
const CLOCK_SKEW_SECONDS = 60;

export const csrfInvalid = (): HttpError => new HttpError(403, "CSRF_INVALID", "A valid CSRF token is required (header X-CSRF-Token)");

/** The client a token is bound to: source IP and user agent, hashed. */
export const clientFingerprint = (ip: string, userAgent: string): string => createHash("sha256").update(`${ip}\n${userAgent}`).digest("hex");

const mac = (fingerprint: string, form: string, issuedAt: number, nonce: string): string =>
  createHmac("sha256", config().csrfSecret).update(`v1|${fingerprint}|${form}|${issuedAt}|${nonce}`).digest("base64url");

export function issueCsrfToken(fingerprint: string, form = "default", nowMs = Date.now()): { csrfToken: string; expiresAt: string } {
  if (!FORM.test(form)) throw new HttpError(400, "VALIDATION_ERROR", "Query parameters are invalid", [{ field: "form", code: "invalid_format", message: "form must be 1-32 letters, digits, - or _" }]);
  const issuedAt = Math.floor(nowMs / 1000);
  const nonce = randomBytes(16).toString("base64url");
  return { csrfToken: `${issuedAt}.${nonce}.${form}.${mac(fingerprint, form, issuedAt, nonce)}`, expiresAt: new Date((issuedAt + CSRF_TTL_SECONDS) * 1000).toISOString() };
}

/**
 * The form a route's CSRF token must be issued for (`GET /auth/csrf-token?form=<form>`): its method and
 * literal path segments, e.g. POST /people -> "post-people". A token for one form is refused by another.
 */
export const csrfFormOf = (route: Pick<RouteSpec, "method" | "path">): string =>
  [route.method.toLowerCase(), ...route.path.split("/").filter((s) => s !== "" && !s.startsWith("{"))].join("-").slice(0, 32);

/** Check signature, binding, form and age; returns the issue time, or undefined when the token is not good. */
export function checkCsrfToken(token: string | undefined, fingerprint: string, expectedForm: string, nowMs = Date.now()): number | undefined {
  if (!token || token.length > 256) return undefined;
  const parts = token.split(".");
  if (parts.length !== 4) return undefined;
  const [issued, nonce, form, given] = parts;
  if (!/^\d{1,12}$/.test(issued) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) || !FORM.test(form) || form !== expectedForm) return undefined;
  const issuedAt = Number(issued);
  const now = Math.floor(nowMs / 1000);
  if (issuedAt > now + CLOCK_SKEW_SECONDS || now - issuedAt > CSRF_TTL_SECONDS) return undefined;
  const expected = Buffer.from(mac(fingerprint, form, issuedAt, nonce));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? issuedAt : undefined;
}

/** Verify and use up a token; 403 CSRF_INVALID when missing, forged, expired, bound elsewhere, for another form or reused. */
export async function consumeCsrfToken(token: string | undefined, fingerprint: string, form: string): Promise<void> {
  const issuedAt = checkCsrfToken(token, fingerprint, form);
  if (issuedAt === undefined || !token) throw csrfInvalid();
  try {
    await ddb().send(
      new PutCommand({
        TableName: table("CSRFTokenTable"),
        Item: {
          token: createHash("sha256").update(token).digest("hex"),
          session_id: fingerprint,
          created_at: new Date(issuedAt * 1000).toISOString(),
          used_at: new Date().toISOString(),
          ttl: issuedAt + CSRF_TTL_SECONDS + CLOCK_SKEW_SECONDS,
        },
        ConditionExpression: "attribute_not_exists(#t)",
        ExpressionAttributeNames: { "#t": "token" },
      }),
    );
  } catch (err) {
    if (isConditionFailure(err)) throw csrfInvalid();
    throw new HttpError(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable");
  }
}
