// An emulation of API Gateway's REST API with Lambda proxy integration, on 127.0.0.1. Routes come
// from the contract (gatewayRoutes); each request becomes a v1 proxy event shaped as AWS documents it
// (see docs/readme/local-target.md) and the handler's result is validated the way API Gateway does.
import { createHash, randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { type FunctionName, GATEWAY_NOT_FOUND, type GatewayRoute, gatewayRoutes } from "../../handlers/contract";
import { gatewayCorsHeaders } from "../../stacks/openapi";
import { type Logger, silentLogger } from "../command";
import { LocalTargetError } from "./errors";

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** API Gateway's payload limit: larger requests never reach the function. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** API Gateway's maximum integration timeout for REST APIs. */
export const INTEGRATION_TIMEOUT_MS = 29_000;
/** Obviously fake ids, as in SAM: nothing here is a real AWS account. */
export const LOCAL_ACCOUNT_ID = "123456789012";
export const LOCAL_API_ID = "local";
export const DEFAULT_STAGE = "api";

export interface GatewayOptions {
  /** The function behind each name the routes use. */
  handlers: Record<FunctionName, ProxyHandler>;
  /** Add `/{proxy+}` ANY -> api (the integrated handler). */
  greedy?: boolean;
  /** 0 or absent: a free port. */
  port?: number;
  /** Stage name in requestContext.stage and requestContext.path (default "api", the stack's default). */
  stage?: string;
  /** Request Content-Types delivered base64-encoded (`isBase64Encoded: true`), e.g. `image/png`, `image/*`, `*\/*`. */
  binaryMediaTypes?: string[];
  /**
   * Tests only: take `identity.sourceIp` from this request header (when present) instead of the
   * socket, so one test process can act as many clients. Never set it for a served API.
   */
  sourceIpHeader?: string;
  /** Routes to serve instead of the contract's (tests of the matcher). */
  routes?: GatewayRoute[];
  /** Integration timeout (default 29 s, API Gateway's maximum). */
  integrationTimeoutMs?: number;
  /** Allowed CORS origins: the gateway's own answers (404, 413, 5xx, 504) carry them as the stack's gateway responses do. */
  corsOrigins?: readonly string[];
  log?: Logger;
}

export interface Gateway {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  port: number;
  /** Stops accepting connections, drops idle keep-alive connections and resolves once closed. */
  close(): Promise<void>;
}

// --- routing ----------------------------------------------------------------------------------------

type Segment = { kind: "literal"; value: string } | { kind: "param"; name: string } | { kind: "greedy"; name: string };

interface CompiledRoute {
  route: GatewayRoute;
  segments: Segment[];
  /** Lower sorts first: per segment literal 0, {param} 1, {proxy+} 2; then exact method 0, ANY 1. */
  rank: number[];
}

export interface RouteMatch {
  route: GatewayRoute;
  /** Decoded path parameters; empty when the template has none. */
  params: Record<string, string>;
}

const splitPath = (p: string): string[] => (p === "/" || p === "" ? [] : p.replace(/^\//, "").split("/"));

function compile(route: GatewayRoute): CompiledRoute {
  const segments: Segment[] = splitPath(route.path).map((s) => {
    const m = /^\{([^}]+?)(\+)?\}$/.exec(s);
    if (!m) return { kind: "literal", value: s };
    return m[2] ? { kind: "greedy", name: m[1] } : { kind: "param", name: m[1] };
  });
  const rank = [...segments.map((s) => (s.kind === "literal" ? 0 : s.kind === "param" ? 1 : 2)), route.method === "ANY" ? 1 : 0];
  return { route, segments, rank };
}

function compareRank(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg.kind === "greedy") {
      const rest = parts.slice(i);
      if (rest.length === 0 || rest.every((p) => p === "")) return undefined;
      params[seg.name] = decode(rest.join("/"));
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.kind === "literal") {
      if (seg.value !== part) return undefined;
    } else {
      if (part === "") return undefined;
      params[seg.name] = decode(part);
    }
  }
  return parts.length === segments.length ? params : undefined;
}

/** A matcher over a route table with API Gateway's precedence: literal > {param} > greedy, exact method > ANY. */
export function routeMatcher(routes: readonly GatewayRoute[]): (method: string, path: string) => RouteMatch | undefined {
  const compiled = routes.map(compile).sort((a, b) => compareRank(a.rank, b.rank));
  return (method, path) => {
    const parts = splitPath(path);
    for (const c of compiled) {
      if (c.route.method !== "ANY" && c.route.method !== method) continue;
      const params = matchSegments(c.segments, parts);
      if (params) return { route: c.route, params };
    }
    return undefined;
  };
}

// --- event ------------------------------------------------------------------------------------------

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");
/** Common Log Format time, as API Gateway writes requestContext.requestTime: `28/Nov/2026:13:37:02 +0000`. */
export function clfTime(d: Date): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

// Maps, not objects, while collecting: a query key or header named `toString` or `__proto__` is data.
type MultiMap = Map<string, string[]>;

const add = (multi: MultiMap, key: string, value: string) => {
  const values = multi.get(key);
  if (values) values.push(value);
  else multi.set(key, [value]);
};

/** The multi-value map as the event carries it (Object.fromEntries defines own properties, whatever the key). */
const multiValues = (multi: MultiMap): Record<string, string[]> => Object.fromEntries(multi);

/** API Gateway's single-value maps keep the last value. */
const singleValues = (multi: MultiMap): Record<string, string> => Object.fromEntries([...multi].map(([k, v]) => [k, v[v.length - 1]]));

const orNull = <T extends object>(m: T): T | null => (Object.keys(m).length ? m : null);

/** Header names as the client spelled them (API Gateway keeps their case), every value kept. */
function headerMaps(raw: string[]): MultiMap {
  const multi: MultiMap = new Map();
  for (let i = 0; i + 1 < raw.length; i += 2) add(multi, raw[i], raw[i + 1]);
  return multi;
}

/** API Gateway appends the caller's address to X-Forwarded-For (so a client cannot replace it) and sets the forwarded proto/port. */
function forwardedHeaders(multi: MultiMap, ip: string, port: number): MultiMap {
  const out: MultiMap = new Map();
  const forwardedFor: string[] = [];
  for (const [name, values] of multi) {
    const lower = name.toLowerCase();
    if (lower === "x-forwarded-for") forwardedFor.push(...values);
    else if (lower !== "x-forwarded-proto" && lower !== "x-forwarded-port") out.set(name, values);
  }
  out.set("X-Forwarded-For", [[...forwardedFor, ip].join(", ")]);
  out.set("X-Forwarded-Proto", ["http"]);
  out.set("X-Forwarded-Port", [String(port)]);
  return out;
}

function queryMaps(search: string): MultiMap {
  const multi: MultiMap = new Map();
  // Keys and values arrive decoded, as from API Gateway.
  for (const [k, v] of new URLSearchParams(search)) add(multi, k, v);
  return multi;
}

function isBinary(contentType: string | undefined, binaryMediaTypes: readonly string[]): boolean {
  if (!binaryMediaTypes.length) return false;
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return binaryMediaTypes.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === "*/*") return true;
    if (p.endsWith("/*")) return type.startsWith(p.slice(0, -1));
    return type === p;
  });
}

function sourceIp(req: http.IncomingMessage, headerName: string | undefined): string {
  if (headerName) {
    const v = req.headers[headerName.toLowerCase()];
    const value = Array.isArray(v) ? v[v.length - 1] : v;
    if (value) return value.trim();
  }
  return (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
}

// --- result -----------------------------------------------------------------------------------------

const RESULT_KEYS = new Set(["statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"]);
const isScalar = (v: unknown) => typeof v === "string" || typeof v === "number" || typeof v === "boolean";
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Why API Gateway would reject this proxy result ("Malformed Lambda proxy response"), or undefined when valid. */
export function malformedReason(result: unknown): string | undefined {
  if (!isPlainObject(result)) return "the result is not an object";
  for (const key of Object.keys(result)) if (!RESULT_KEYS.has(key)) return `unexpected key "${key}"`;
  const { statusCode, headers, multiValueHeaders, body, isBase64Encoded } = result;
  if (typeof statusCode !== "number" || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return "statusCode is not an integer HTTP status";
  if (body !== undefined && body !== null && typeof body !== "string") return "body is not a string";
  if (isBase64Encoded !== undefined && typeof isBase64Encoded !== "boolean") return "isBase64Encoded is not a boolean";
  if (headers !== undefined && headers !== null) {
    if (!isPlainObject(headers) || !Object.values(headers).every(isScalar)) return "headers is not a map of scalar values";
  }
  if (multiValueHeaders !== undefined && multiValueHeaders !== null) {
    if (!isPlainObject(multiValueHeaders) || !Object.values(multiValueHeaders).every((v) => Array.isArray(v) && v.every(isScalar))) {
      return "multiValueHeaders is not a map of arrays of scalar values";
    }
  }
  return undefined;
}

function responseHeaders(result: APIGatewayProxyResult): Map<string, { name: string; values: string[] }> {
  const out = new Map<string, { name: string; values: string[] }>();
  const add = (name: string, values: string[], replace: boolean) => {
    const key = name.toLowerCase();
    const entry = out.get(key);
    if (!entry || replace) out.set(key, { name, values });
    else entry.values.push(...values.filter((v) => !entry.values.includes(v)));
  };
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) add(name, values.map(String), true);
  for (const [name, value] of Object.entries(result.headers ?? {})) add(name, [String(value)], false);
  return out;
}

// --- server -----------------------------------------------------------------------------------------

class PayloadTooLarge extends Error {}

const FRAMING_HEADERS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "x-amzn-requestid"]);

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_REQUEST_BYTES) return reject(new PayloadTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        req.removeAllListeners("data");
        req.resume();
        reject(new PayloadTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function lambdaContext(fn: FunctionName, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const functionName = `local-${fn}`;
  const fail = () => {
    throw new Error("context.done/succeed/fail are not supported: return a promise from the handler");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${randomUUID().replace(/-/g, "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: fail,
    fail,
    succeed: fail,
  };
}

/** Start the gateway on 127.0.0.1. Throws LocalTargetError when the port is busy. */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const log = opts.log ?? silentLogger;
  const stage = opts.stage ?? DEFAULT_STAGE;
  const binaryMediaTypes = opts.binaryMediaTypes ?? [];
  const timeoutMs = opts.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
  const match = routeMatcher(opts.routes ?? gatewayRoutes({ greedy: opts.greedy ?? false }));
  let port = 0;

  const server = http.createServer(async (req, res) => {
    const requestId = randomUUID();
    const started = new Date();
    const send = (statusCode: number, headers: Map<string, { name: string; values: string[] }>, body: Buffer | string) => {
      if (res.headersSent || res.destroyed) return;
      const flat: string[] = [];
      for (const [key, { name, values }] of headers) {
        // The gateway owns framing: a function cannot set these (API Gateway remaps or drops them).
        if (!FRAMING_HEADERS.has(key)) for (const v of values) flat.push(name, v);
      }
      // What API Gateway adds: a default JSON content type and its request id.
      if (!headers.has("content-type")) flat.push("Content-Type", "application/json");
      flat.push("x-amzn-RequestId", requestId);
      const bodyless = statusCode === 204 || statusCode === 304 || statusCode < 200;
      const payload = bodyless ? Buffer.alloc(0) : typeof body === "string" ? Buffer.from(body, "utf8") : body;
      if (!bodyless) flat.push("Content-Length", String(payload.byteLength));
      try {
        res.writeHead(statusCode, flat);
      } catch {
        // A header name or value HTTP cannot carry: API Gateway would call the response malformed.
        res.removeHeader("Connection");
        const message = Buffer.from(JSON.stringify({ message: "Internal server error" }));
        res.writeHead(502, ["Content-Type", "application/json", "x-amzn-RequestId", requestId, "x-amzn-ErrorType", "InternalServerErrorException", "Content-Length", String(message.byteLength)]);
        res.end(req.method === "HEAD" ? undefined : message);
        return;
      }
      res.end(req.method === "HEAD" || bodyless ? undefined : payload);
    };
    // What the gateway answers itself carries CORS headers, so a browser can read it (stacks/openapi.ts).
    const gatewayHeaders = (type: string) => {
      const headers = new Map([["x-amzn-errortype", { name: "x-amzn-ErrorType", values: [type] }]]);
      const origin = typeof req.headers.origin === "string" ? req.headers.origin : undefined;
      for (const [name, value] of Object.entries(gatewayCorsHeaders(opts.corsOrigins ?? [], origin))) headers.set(name.toLowerCase(), { name, values: [value] });
      return headers;
    };
    const gatewayError = (statusCode: number, message: string, type: string) => send(statusCode, gatewayHeaders(type), JSON.stringify({ message }));

    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const method = (req.method ?? "GET").toUpperCase();
      // The path as received: API Gateway REST keeps it percent-encoded (only parameters are decoded).
      const path = (req.url ?? "/").split("?")[0] || "/";
      const found = match(method, path);
      if (!found) {
        send(GATEWAY_NOT_FOUND.statusCode, gatewayHeaders("NotFoundException"), JSON.stringify(GATEWAY_NOT_FOUND.body));
        return;
      }
      let bodyBytes: Buffer;
      try {
        bodyBytes = await readBody(req);
      } catch (err) {
        if (err instanceof PayloadTooLarge) {
          res.setHeader("Connection", "close");
          gatewayError(413, "Request Too Long", "RequestTooLongException");
          return;
        }
        throw err;
      }
      const ip = sourceIp(req, opts.sourceIpHeader);
      const multiHeaders = forwardedHeaders(headerMaps(req.rawHeaders), ip, port);
      const multiQuery = queryMaps(url.search);
      const binary = isBinary(req.headers["content-type"], binaryMediaTypes);
      const resourcePath = found.route.path;
      const event: APIGatewayProxyEvent = {
        resource: resourcePath,
        path,
        httpMethod: method,
        headers: singleValues(multiHeaders),
        multiValueHeaders: multiValues(multiHeaders),
        queryStringParameters: orNull(singleValues(multiQuery)),
        multiValueQueryStringParameters: orNull(multiValues(multiQuery)),
        pathParameters: orNull(found.params),
        stageVariables: null,
        body: bodyBytes.length === 0 ? null : binary ? bodyBytes.toString("base64") : bodyBytes.toString("utf8"),
        isBase64Encoded: bodyBytes.length > 0 && binary,
        requestContext: {
          accountId: LOCAL_ACCOUNT_ID,
          apiId: LOCAL_API_ID,
          resourceId: createHash("sha256").update(`${found.route.method} ${resourcePath}`).digest("hex").slice(0, 6),
          resourcePath,
          httpMethod: method,
          path: `/${stage}${path}`,
          stage,
          requestId,
          extendedRequestId: randomUUID(),
          requestTime: clfTime(started),
          requestTimeEpoch: started.getTime(),
          protocol: `HTTP/${req.httpVersion}`,
          domainName: req.headers.host ?? `127.0.0.1:${port}`,
          domainPrefix: (req.headers.host ?? "127").split(".")[0],
          identity: {
            accessKey: null,
            accountId: null,
            apiKey: null,
            apiKeyId: null,
            caller: null,
            clientCert: null,
            cognitoAuthenticationProvider: null,
            cognitoAuthenticationType: null,
            cognitoIdentityId: null,
            cognitoIdentityPoolId: null,
            principalOrgId: null,
            sourceIp: ip,
            user: null,
            userAgent: req.headers["user-agent"] ?? null,
            userArn: null,
          },
          // No authorizer on this API: the key is absent, as in AWS.
        } as APIGatewayProxyEvent["requestContext"],
      };

      const handler = opts.handlers[found.route.fn];
      if (!handler) throw new Error(`no handler loaded for function "${found.route.fn}"`);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = Symbol("timeout");
      let result: unknown;
      try {
        result = await Promise.race([
          Promise.resolve().then(() => handler(event, lambdaContext(found.route.fn, timeoutMs))),
          new Promise<typeof timedOut>((resolve) => {
            timer = setTimeout(() => resolve(timedOut), timeoutMs);
          }),
        ]);
      } catch (err) {
        // A thrown handler is a failed invocation: API Gateway answers 502 and keeps the error to itself.
        log.warn(`${found.route.fn} threw on ${method} ${path} (request ${requestId}): ${(err as Error)?.stack ?? String(err)}`);
        gatewayError(502, "Internal server error", "InternalServerErrorException");
        return;
      } finally {
        clearTimeout(timer);
      }
      if (result === timedOut) {
        log.warn(`${found.route.fn} did not answer ${method} ${path} within ${timeoutMs} ms (request ${requestId})`);
        gatewayError(504, "Endpoint request timed out", "IntegrationTimeoutException");
        return;
      }
      const why = malformedReason(result);
      if (why) {
        log.warn(`malformed Lambda proxy response from ${found.route.fn} on ${method} ${path}: ${why}`);
        gatewayError(502, "Internal server error", "InternalServerErrorException");
        return;
      }
      const ok = result as APIGatewayProxyResult;
      const body = ok.body ?? "";
      send(ok.statusCode, responseHeaders(ok), ok.isBase64Encoded ? Buffer.from(body, "base64") : body);
    } catch (err) {
      log.error(`gateway failure on ${req.method} ${req.url} (request ${requestId}): ${(err as Error)?.stack ?? String(err)}`);
      gatewayError(500, "Internal server error", "InternalServerErrorException");
    }
  });
  server.keepAliveTimeout = 60_000;
  // Slightly above keepAliveTimeout, as Node's docs advise.
  server.headersTimeout = 61_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE"
          ? new LocalTargetError(`port ${opts.port} is already in use: stop what is using it, or pass --port 0 for a free port`)
          : new LocalTargetError(`could not listen on 127.0.0.1:${opts.port ?? 0} (${err.message})`),
      );
    });
    server.listen({ port: opts.port ?? 0, host: "127.0.0.1", exclusive: true }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Give in-flight requests a moment, then drop whatever is left.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      });
      return closed;
    },
  };
}
