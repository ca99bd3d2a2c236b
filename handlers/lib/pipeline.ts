// The request pipeline every function shares: CORS preflight, routing from the contract's ROUTES,
// path id checks, rate limits, authentication (JWT + live session + person read from the table),
// roles, CSRF, then the route's handler; errors in the contract shape, one log line per request.
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { ENV, type FunctionName, type HttpMethod, matchPath, RATE_LIMITS, ROUTES, type RouteSpec } from "../contract";
import { ConfigError, config, resolveSecrets } from "./config";
import { clientFingerprint, consumeCsrfToken, csrfFormOf } from "./csrf";
import type { Item } from "./db";
import { CORS_ALLOW_HEADERS, corsHeaders, errorBody, forbidden, header, HttpError, json, parseJsonBody, type Reply, sourceIp, toResult, unauthorized, userAgent } from "./http";
import { bearerToken, type TokenClaims, verifyToken } from "./jwt";
import { createLogger, type Logger } from "./log";
import { getPerson, isActivePerson } from "./people";
import { checkRateLimit, rateLimitHeaders } from "./rate-limit";
import { getSession, isLiveSession } from "./sessions";
import { isUuidV4, validate } from "./validate";
import type * as z from "zod/mini";

export interface Principal {
  id: string;
  sid: string;
  claims: TokenClaims;
  /** The person item as stored now (roles come from here, not from the token). */
  person: Item;
  /** The live session item the token belongs to. */
  session: Item;
  isAdmin: boolean;
}

export interface RequestContext {
  event: APIGatewayProxyEvent;
  route: RouteSpec;
  /** Path parameters, URL-decoded and (for ids) checked to be UUID v4. */
  params: Record<string, string>;
  query: Record<string, string>;
  requestId: string;
  ip: string;
  userAgent: string;
  log: Logger;
  /** Set on user/admin routes, and on public routes called with a valid bearer token. */
  principal?: Principal;
  /** The JSON body validated by `schema` (400/413 otherwise). */
  body<T extends z.ZodMiniType>(schema: T): z.infer<T>;
}

export type RouteHandler = (ctx: RequestContext) => Promise<Reply>;
export type RouteTable = Record<string, RouteHandler>;

export const routeKey = (method: HttpMethod, path: string): string => `${method} ${path}`;

/**
 * Route handlers from a module evaluated on its routes' first request, not at cold start: a route
 * module's schemas and dependencies are most of a bundle's evaluation time, and a cold start needs
 * at most one of them. Usage: `const m = onFirstUse(() => require("./people") as typeof import("./people"))`,
 * then `m((x) => x.listPeople)`.
 */
export function onFirstUse<M>(load: () => M): (pick: (m: M) => RouteHandler) => RouteHandler {
  let mod: M | undefined;
  return (pick) => (ctx) => pick((mod ??= load()))(ctx);
}

/** The authenticated caller; 401 when there is none. */
export function requirePrincipal(ctx: RequestContext): Principal {
  if (!ctx.principal) throw unauthorized();
  return ctx.principal;
}

/** "user" access: the person themself or an admin; 403 otherwise. */
export function requireSelfOrAdmin(ctx: RequestContext, personId: string): Principal {
  const p = requirePrincipal(ctx);
  if (p.id !== personId && !p.isAdmin) throw forbidden("You may only access your own data");
  return p;
}

async function authenticate(event: APIGatewayProxyEvent): Promise<Principal> {
  const token = bearerToken(header(event, "authorization"));
  if (!token) throw unauthorized();
  const claims = await verifyToken(token);
  if (!claims) throw unauthorized("The access token is invalid or expired");
  const [session, person] = await Promise.all([getSession(claims.sid), getPerson(claims.sub)]);
  if (!isLiveSession(session, claims.sub)) throw unauthorized("The session has ended");
  if (!person || !isActivePerson(person)) throw unauthorized("The account is not active");
  return { id: claims.sub, sid: claims.sid, claims, person, session: session as Item, isAdmin: person.isAdmin === true };
}

/** What a person whose password must change may still do (the login answer tells them to change it). */
const ALLOWED_WHILE_PASSWORD_CHANGE_REQUIRED = new Set(["PUT /auth/password", "POST /auth/logout"]);

const passwordChangeRequired = (): HttpError =>
  new HttpError(403, "PASSWORD_CHANGE_REQUIRED", "The password must be changed first (PUT /auth/password)");

/**
 * A deliberate failure for tests of the 500 path: the route key in LOCAL_FAULT_ROUTE throws. Honoured
 * only on the local target (a DynamoDB endpoint is set) and never inside Lambda, where the runtime
 * always sets AWS_EXECUTION_ENV (a reserved variable a function's configuration cannot override).
 */
function injectedFault(method: string, path: string): void {
  const route = process.env[ENV.localFaultRoute];
  if (!route || process.env.AWS_EXECUTION_ENV !== undefined || !process.env[ENV.dynamoDbEndpoint]) return;
  if (route === `${method} ${path}`) throw new Error(`injected fault on ${route}: this message and its stack must never reach a client`);
}

function queryOf(event: APIGatewayProxyEvent): Record<string, string> {
  // No prototype: a query key such as `__proto__` or `constructor` is just a key.
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (typeof v === "string") out[k] = v;
  return out;
}

/** Best-effort email of a body (`email`, or `person.email` on public subscribe), for the per-email rate-limit counters (validation comes later). */
function bodyEmail(event: APIGatewayProxyEvent): string | undefined {
  try {
    const body = parseJsonBody(event) as { email?: unknown; person?: { email?: unknown } };
    const email = body?.email ?? body?.person?.email;
    return typeof email === "string" ? email : undefined;
  } catch {
    return undefined;
  }
}

interface CompiledRoute {
  spec: RouteSpec;
  handler: RouteHandler;
}

function compile(fn: FunctionName, handlers: RouteTable) {
  const own = ROUTES.filter((r) => r.fn === fn);
  for (const r of own) if (!handlers[routeKey(r.method, r.path)]) throw new Error(`no handler for ${r.method} ${r.path}`);
  const byPath = new Map<string, CompiledRoute[]>();
  for (const r of own) byPath.set(r.path, [...(byPath.get(r.path) ?? []), { spec: r, handler: handlers[routeKey(r.method, r.path)] }]);
  // A literal segment beats a parameter when two templates could match the same path.
  const literals = new Map([...byPath.keys()].map((t) => [t, t.split("/").filter((s) => !s.startsWith("{")).length]));
  const templates = [...byPath.keys()].sort((a, b) => literals.get(b)! - literals.get(a)!);
  return { byPath, templates };
}

function decodeParams(raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(value);
    } catch {
      throw new HttpError(400, "INVALID_ID", `Path parameter ${name} is not valid`);
    }
    // Every path parameter of the contract is an id (UUID v4): anything else is a 400, never a lookup.
    if (!isUuidV4(decoded)) throw new HttpError(400, "INVALID_ID", `Path parameter ${name} must be a UUID v4`, [{ field: name, code: "invalid_id", message: "Must be a UUID v4" }]);
    params[name] = decoded;
  }
  return params;
}

/** Build a Lambda handler for one function of the contract from its route handlers. */
export function createHandler(fn: FunctionName, handlers: RouteTable) {
  let compiled: ReturnType<typeof compile> | undefined;

  return async function handler(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
    const started = Date.now();
    const requestId = event?.requestContext?.requestId || context?.awsRequestId || randomUUID();
    const log = createLogger({ requestId, function: fn });
    const method = String(event?.httpMethod ?? "").toUpperCase();
    const path = typeof event?.path === "string" ? event.path : "";
    let extra: Record<string, string> = { Vary: "Origin" };
    let template: string | undefined;
    let reply: Reply;
    try {
      // Read on the first request (and again while invalid): a ConfigError answers 503 below.
      await resolveSecrets();
      extra = corsHeaders(header(event, "origin"), config().corsOrigins);
      compiled ??= compile(fn, handlers);
      let params: Record<string, string> | undefined;
      template = compiled.templates.find((t) => (params = matchPath(t, path)) !== undefined);
      if (!template || !params) throw new HttpError(404, "NOT_FOUND", "Not found");
      const routes = compiled.byPath.get(template) ?? [];
      const allowed = routes.map((r) => r.spec.method);
      if (method === "OPTIONS") {
        reply = {
          status: 204,
          headers: {
            "Access-Control-Allow-Methods": [...allowed, "OPTIONS"].join(", "),
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
            "Access-Control-Max-Age": "600",
          },
        };
      } else {
        const match = routes.find((r) => r.spec.method === method);
        if (!match) throw new HttpError(405, "METHOD_NOT_ALLOWED", `Method ${method || "(none)"} is not allowed on ${template}`, undefined, { Allow: [...allowed, "OPTIONS"].join(", ") });
        reply = await run(match, event, decodeParams(params), requestId, log, (h) => (extra = { ...extra, ...h }));
      }
    } catch (err) {
      if (err instanceof HttpError) {
        reply = json(err.status, errorBody(err), err.headers);
      } else if (err instanceof ConfigError) {
        // Fail closed: no request is served with a missing or weak secret or table name.
        log.error("configuration invalid; refusing requests", { error: err.message });
        reply = json(503, errorBody(new HttpError(503, "SERVICE_UNAVAILABLE", "The service is not configured")));
      } else {
        log.error("unhandled error", { error: err as Error });
        reply = json(500, { ...errorBody(new HttpError(500, "INTERNAL", "Internal server error")), requestId });
      }
    }
    log.info("request", { method, route: template ?? null, status: reply.status, durationMs: Date.now() - started });
    return toResult(reply, extra);
  };
}

async function run(
  match: CompiledRoute,
  event: APIGatewayProxyEvent,
  params: Record<string, string>,
  requestId: string,
  log: Logger,
  addHeaders: (h: Record<string, string>) => void,
): Promise<Reply> {
  const route = match.spec;
  const ip = sourceIp(event);
  const ua = userAgent(event);
  // Only an admin may skip the registration limit and CSRF of a public write (admins adding people):
  // with a bearer token the request is authenticated first, alongside the default count, and anyone
  // else is then counted and checked exactly like an anonymous caller. A bogus token is a 401.
  const withToken = header(event, "authorization") !== undefined;
  const adminMaySkip = route.rateLimit === "registration" && withToken;
  const rule = adminMaySkip ? "default" : route.rateLimit;
  const needsAuth = route.access !== "public" || (route.csrf === true && withToken);
  const counted = checkRateLimit(route, ip, RATE_LIMITS[rule].some((r) => r.key !== "ip") ? bodyEmail(event) : undefined, log, rule);
  const authenticated = needsAuth ? authenticate(event) : Promise.resolve(undefined);

  const serve = async (principal: Principal | undefined): Promise<Reply> => {
    if (principal?.person.requirePasswordChange === true && !ALLOWED_WHILE_PASSWORD_CHANGE_REQUIRED.has(routeKey(route.method, route.path))) throw passwordChangeRequired();
    if (route.access === "admin" && !principal?.isAdmin) throw forbidden("Administrator access is required");
    if (adminMaySkip && !principal?.isAdmin) {
      const registration = await checkRateLimit(route, ip, undefined, log);
      if (registration) addHeaders(rateLimitHeaders(registration));
    }
    // Bearer tokens are not sent automatically by browsers, so an admin's call needs no CSRF token;
    // everyone else's does, for the form of this route. It comes before body validation: a request
    // without a token learns nothing.
    if (route.csrf && !principal?.isAdmin) await consumeCsrfToken(header(event, "x-csrf-token"), clientFingerprint(ip, ua), csrfFormOf(route));
    injectedFault(route.method, route.path);
    const ctx: RequestContext = {
      event,
      route,
      params,
      query: queryOf(event),
      requestId,
      ip,
      userAgent: ua,
      log,
      principal,
      body: (schema) => validate(schema, parseJsonBody(event)),
    };
    return match.handler(ctx);
  };

  // The rate-limit answer (429/503) always wins. Authentication is a read, so it shares the count's
  // round trip; no handler (not even a GET: reads cost too, and can enumerate) runs before the count
  // has allowed the request.
  const [limited, auth] = await Promise.allSettled([counted, authenticated]);
  if (limited.status === "rejected") throw limited.reason;
  if (limited.value) addHeaders(rateLimitHeaders(limited.value));
  if (auth.status === "rejected") throw auth.reason;
  return serve(auth.value);
}
