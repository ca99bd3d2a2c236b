// Event parsing and responses: the JSON envelope, security headers, CORS and the error shape.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";

export const MAX_BODY_BYTES = 64 * 1024;

export interface ErrorDetail {
  field: string;
  code: string;
  message: string;
}

/** An expected failure with its status and machine code; anything else becomes a 500 INTERNAL. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const notFound = (what = "Resource"): HttpError => new HttpError(404, "NOT_FOUND", `${what} not found`);
export const forbidden = (message = "You are not allowed to do this"): HttpError => new HttpError(403, "FORBIDDEN", message);
export const unauthorized = (message = "Authentication required"): HttpError => new HttpError(401, "UNAUTHORIZED", message);

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, body, headers });
export const noContent = (): Reply => ({ status: 204 });

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
};

export const CORS_ALLOW_HEADERS = "Authorization, Content-Type, X-CSRF-Token";
export const CORS_EXPOSE_HEADERS = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Next-Token, X-Total-Count";

/** Paging lives in headers so that a list body is a bare array (what the web frontend reads). */
export const NEXT_TOKEN_HEADER = "X-Next-Token";
export const TOTAL_COUNT_HEADER = "X-Total-Count";

/**
 * A list answer: the items as a bare JSON array; `X-Next-Token` when there is a next page (pass it back
 * as `?nextToken=`), `X-Total-Count` when the list is complete in this answer.
 */
export function listReply(items: unknown[], page: { nextToken?: string; complete?: boolean } = {}): Reply {
  const headers: Record<string, string> = {};
  if (page.nextToken) headers[NEXT_TOKEN_HEADER] = page.nextToken;
  if (page.complete) headers[TOTAL_COUNT_HEADER] = String(items.length);
  return { status: 200, body: items, headers };
}

/** Case-insensitive header lookup (API Gateway keeps the client's casing). */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const headers = event.headers;
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted && typeof v === "string") return v;
  return undefined;
}

/** CORS headers for a request: the Origin echoed only when it is configured, never `*`. */
export function corsHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = { Vary: "Origin" };
  if (origin && allowed.includes(origin)) {
    headers["Access-Control-Allow-Origin"] = origin;
    headers["Access-Control-Allow-Credentials"] = "true";
    headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS;
  }
  return headers;
}

export function errorBody(err: HttpError): Record<string, unknown> {
  // `detail` repeats the message under FastAPI's name: the web frontend shows that field.
  return { error: err.message, code: err.code, detail: err.message, ...(err.details ? { details: err.details } : {}) };
}

export function toResult(reply: Reply, extraHeaders: Record<string, string>): APIGatewayProxyResult {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, ...extraHeaders, ...(reply.headers ?? {}) };
  if (reply.status === 204 || reply.body === undefined) return { statusCode: reply.status, headers, body: "" };
  headers["Content-Type"] = "application/json; charset=utf-8";
  return { statusCode: reply.status, headers, body: JSON.stringify(reply.body) };
}

/**
 * The request body as JSON. Absent/null/empty → 400, over 64 KiB → 413, not JSON → 400 INVALID_JSON.
 * Base64 bodies (binary media types) are decoded first.
 */
export function parseJsonBody(event: APIGatewayProxyEvent): unknown {
  const raw = rawBody(event);
  if (raw === undefined || raw.trim() === "") throw new HttpError(400, "BODY_REQUIRED", "A JSON request body is required");
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new HttpError(400, "INVALID_JSON", "The request body is not valid JSON");
  }
  if (parsed === null) throw new HttpError(400, "BODY_REQUIRED", "A JSON request body is required");
  return parsed;
}

/** The body as text, size-checked; undefined when there is none. */
export function rawBody(event: APIGatewayProxyEvent): string | undefined {
  if (event.body === null || event.body === undefined) return undefined;
  if (typeof event.body !== "string") throw new HttpError(400, "INVALID_JSON", "The request body is not valid JSON");
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, "base64") : Buffer.from(event.body, "utf8");
  if (bytes.byteLength > MAX_BODY_BYTES) throw new HttpError(413, "PAYLOAD_TOO_LARGE", `Request bodies are limited to ${MAX_BODY_BYTES} bytes`);
  return event.isBase64Encoded ? bytes.toString("utf8") : event.body;
}

/** The caller's address as API Gateway saw it (never a client-supplied X-Forwarded-For). */
export const sourceIp = (event: APIGatewayProxyEvent): string => event.requestContext?.identity?.sourceIp || "unknown";
export const userAgent = (event: APIGatewayProxyEvent): string => (header(event, "user-agent") ?? event.requestContext?.identity?.userAgent ?? "").slice(0, 512);
