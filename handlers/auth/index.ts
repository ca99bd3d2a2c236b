// The auth function: POST /auth/login, POST /auth/logout, GET /auth/me, POST /auth/refresh.
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { audit } from "../lib/audit";
import { HttpError, json } from "../lib/http";
import { issueToken, tokenSubject } from "../lib/jwt";
import { safePerson } from "../lib/people";
import { createHandler, onFirstUse, requirePrincipal, routeKey } from "../lib/pipeline";
import { endSession, extendSession, sessionHardEnd } from "../lib/sessions";

// Login (its schema, zod and bcryptjs) is evaluated on the first login, not at cold start.
const login = onFirstUse(() => require("./login") as typeof import("./login"));

const serve = createHandler("auth", {
  [routeKey("POST", "/auth/login")]: login((m) => m.login),

  [routeKey("POST", "/auth/logout")]: async (ctx) => {
    const p = requirePrincipal(ctx);
    await endSession(p.sid);
    await audit({ action: "LOGOUT", personId: p.id, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent }, ctx.log);
    return json(200, { success: true });
  },

  [routeKey("GET", "/auth/me")]: async (ctx) => {
    const p = requirePrincipal(ctx);
    return json(200, { success: true, user: safePerson(p.person) });
  },

  [routeKey("POST", "/auth/refresh")]: async (ctx) => {
    const p = requirePrincipal(ctx);
    // Same session, new expiry (never past the session's absolute end): the session's TTL follows the new token.
    const { token, claims } = await issueToken(tokenSubject(p.person), p.sid, Date.now(), sessionHardEnd(p.session));
    if (!(await extendSession(p.sid, p.id, claims.exp))) throw new HttpError(401, "UNAUTHORIZED", "The session has ended");
    return json(200, { success: true, accessToken: token, tokenType: "Bearer", expiresAt: new Date(claims.exp * 1000).toISOString(), user: safePerson(p.person) });
  },
});

export async function handler(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
  return serve(event, context);
}
