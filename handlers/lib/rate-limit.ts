// Fixed-window rate limits as atomic DynamoDB counters (UpdateItem ADD: no read-then-write race),
// keyed by route, window, client IP and, where the rule says so, the email. Auth routes fail closed.
import { createHash } from "node:crypto";
import { RATE_LIMITS, type RateLimitRule, type RouteSpec } from "../contract";
import { ddb, table, UpdateCommand } from "./db";
import { HttpError } from "./http";
import type { Logger } from "./log";

export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Epoch seconds when the tightest window resets. */
  reset: number;
}

/** Routes whose limiter failing must not open the door: login, resets, registration and all of /auth. */
export const failsClosed = (route: RouteSpec): boolean => route.rateLimit !== "default" || route.path.startsWith("/auth/");

export const rateLimitHeaders = (s: RateLimitState): Record<string, string> => ({
  "X-RateLimit-Limit": String(s.limit),
  "X-RateLimit-Remaining": String(s.remaining),
  "X-RateLimit-Reset": String(s.reset),
});

const hash = (value: string): string => createHash("sha256").update(value).digest("hex").slice(0, 32);

/**
 * Count this request against every limit of the route. Returns the tightest state for the headers;
 * throws 429 RATE_LIMITED (with Retry-After) when a limit is exceeded, 503 when the table is
 * unreachable on a fail-closed route. `email` is used by the ip+email and email rules (lower-cased, hashed).
 */
export async function checkRateLimit(
  route: RouteSpec,
  ip: string,
  email: string | undefined,
  log: Logger,
  rule: RateLimitRule = route.rateLimit,
  nowMs = Date.now(),
): Promise<RateLimitState | undefined> {
  const now = Math.floor(nowMs / 1000);
  const endpoint = `${route.method} ${route.path}`;
  let tightest: RateLimitState | undefined;
  try {
    const states = await Promise.all(
      RATE_LIMITS[rule].map(async (spec) => {
        const windowStart = now - (now % spec.windowSeconds);
        const reset = windowStart + spec.windowSeconds;
        const emailHash = hash((email ?? "").trim().toLowerCase());
        const subject = spec.key === "ip" ? ip : spec.key === "email" ? emailHash : `${ip}#${emailHash}`;
        const out = await ddb().send(
          new UpdateCommand({
            TableName: table("RateLimitTable"),
            Key: { id: `${rule}#${spec.key}#${endpoint}#${windowStart}#${subject}` },
            UpdateExpression: "ADD requestCount :one SET endpoint = :endpoint, lastReset = :lastReset, #ttl = :ttl",
            ExpressionAttributeNames: { "#ttl": "ttl" },
            ExpressionAttributeValues: { ":one": 1, ":endpoint": endpoint, ":lastReset": new Date(windowStart * 1000).toISOString(), ":ttl": reset + 60 },
            ReturnValues: "UPDATED_NEW",
          }),
        );
        const count = Number(out.Attributes?.requestCount ?? 1);
        return { limit: spec.limit, remaining: Math.max(0, spec.limit - count), reset, exceeded: count > spec.limit };
      }),
    );
    for (const s of states) {
      if (!tightest || s.remaining < tightest.remaining || (s.remaining === tightest.remaining && s.reset > tightest.reset)) {
        tightest = { limit: s.limit, remaining: s.remaining, reset: s.reset };
      }
    }
    const exceeded = states.filter((s) => s.exceeded);
    if (exceeded.length > 0) {
      const reset = Math.max(...exceeded.map((s) => s.reset));
      const worst = exceeded.find((s) => s.reset === reset) ?? exceeded[0];
      throw new HttpError(429, "RATE_LIMITED", "Too many requests, try again later", undefined, {
        "Retry-After": String(Math.max(1, reset - now)),
        ...rateLimitHeaders({ limit: worst.limit, remaining: 0, reset }),
      });
    }
    return tightest;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (failsClosed(route)) {
      log.error("rate limiter unavailable; failing closed", { route: endpoint, error: (err as Error).message });
      throw new HttpError(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable", undefined, { "Retry-After": "5" });
    }
    log.warn("rate limiter unavailable; failing open", { route: endpoint, error: (err as Error).message });
    return undefined;
  }
}
