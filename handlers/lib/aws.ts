// Signed AWS JSON calls for the functions: SigV4 over node:http(s) with a keep-alive agent.
// This replaces the AWS SDK on the request path: evaluating the SDK (clients, the credential-provider
// chain, middleware stacks) was most of every cold start. Credentials and region come from the
// Lambda environment, which always carries them; nothing else is consulted.
import { createHash, createHmac } from "node:crypto";
import * as http from "node:http";
import type * as Https from "node:https";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What the SDK puts on its outputs and errors; kept so callers and logs read the same. */
export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  attempts: number;
  totalRetryDelay: number;
}

/** An AWS error answer, named like the SDK names it (`ConditionalCheckFailedException`, …), with the answer's fields. */
export class AwsError extends Error {
  readonly $fault: "client" | "server";
  readonly $metadata: ResponseMetadata;
  [field: string]: unknown;

  constructor(name: string, message: string, fault: "client" | "server", metadata: ResponseMetadata, fields: Record<string, unknown> = {}) {
    super(message);
    Object.assign(this, fields);
    this.name = name;
    this.$fault = fault;
    this.$metadata = metadata;
  }
}

export interface AwsRequest {
  /** SigV4 signing name (`dynamodb`, `ses`). */
  service: string;
  region: string;
  /** Scheme, host and port; the path comes from `path`. */
  endpoint: URL;
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  headers: Record<string, string>;
  /** JSON text. */
  body: string;
  credentials: AwsCredentials;
}

export interface AwsResponse {
  /** The parsed JSON answer (an empty object when the body was empty). */
  body: Record<string, unknown>;
  $metadata: ResponseMetadata;
}

const MAX_ATTEMPTS = 3;
const TIMEOUT_MS = 10_000;
const TRANSIENT_NETWORK = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);
// The SDK's standard retry mode retries these error names (throttling and transient faults).
const RETRYABLE_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestThrottledException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "TransactionInProgressException",
  "InternalServerError",
  "ServiceUnavailable",
]);

/** Credentials from the environment (what Lambda sets from the function's role); `fallback` only where the caller allows it. */
export function environmentCredentials(fallback?: AwsCredentials): AwsCredentials {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (accessKeyId && secretAccessKey) {
    const sessionToken = process.env.AWS_SESSION_TOKEN;
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  if (fallback) return fallback;
  throw new Error("AWS credentials are not in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)");
}

/** The function's region; `fallback` only where the caller allows it (DynamoDB Local ignores it). */
export function environmentRegion(fallback?: string): string {
  const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || fallback;
  if (!region) throw new Error("AWS_REGION is not set");
  return region;
}

/**
 * A POST of JSON to an AWS service from a function: region and role credentials from the environment,
 * the regional endpoint `https://<host>.<region>.amazonaws.com` unless `endpointVariable` (the SDK's own
 * AWS_ENDPOINT_URL_<SERVICE> setting) points elsewhere, e.g. at a local stand-in.
 */
export async function functionCall(call: { service: string; host: string; endpointVariable: string; path: string; headers: Record<string, string>; body: unknown }): Promise<AwsResponse> {
  const region = environmentRegion();
  return awsRequest({
    service: call.service,
    region,
    endpoint: new URL(process.env[call.endpointVariable] || `https://${call.host}.${region}.amazonaws.com`),
    method: "POST",
    path: call.path,
    headers: call.headers,
    body: JSON.stringify(call.body),
    credentials: environmentCredentials(),
  });
}

// One keep-alive agent per scheme. TLS is loaded only for an https endpoint (DynamoDB Local is http).
const agents: { "http:"?: http.Agent; "https:"?: http.Agent } = {};
let https: typeof Https | undefined;

function transport(url: URL): { request: typeof http.request; agent: http.Agent } {
  if (url.protocol === "http:") return { request: http.request, agent: (agents["http:"] ??= new http.Agent({ keepAlive: true, maxSockets: 50 })) };
  https ??= require("node:https") as typeof Https;
  return { request: https.request, agent: (agents["https:"] ??= new https.Agent({ keepAlive: true, maxSockets: 50 })) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends one signed request, retrying throttling, 5xx and dropped connections (3 attempts, jittered backoff). */
export async function awsRequest(req: AwsRequest): Promise<AwsResponse> {
  let totalRetryDelay = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(req, attempt, totalRetryDelay);
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !retryable(err)) throw err;
      const delay = Math.floor(Math.random() * Math.min(20_000, 100 * 2 ** attempt));
      totalRetryDelay += delay;
      await sleep(delay);
    }
  }
}

function retryable(err: unknown): boolean {
  if (err instanceof AwsError) return err.$fault === "server" || RETRYABLE_NAMES.has(err.name);
  return TRANSIENT_NETWORK.has((err as NodeJS.ErrnoException).code ?? "");
}

// The calls' paths are fixed ("/", "/v2/email/outbound-emails"): only unreserved characters and no
// query string, so the canonical path is the path itself. Anything else is refused, never mis-signed.
const SIGNABLE_PATH = /^\/[A-Za-z0-9\-._~/]*$/;
const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();

// The signing key changes once a day per region and service: the last one is kept.
let signingKey: { id: string; key: Buffer } | undefined;

/**
 * The request's headers with AWS Signature Version 4 added (Authorization, X-Amz-Date, the session
 * token): every header sent is signed, as the SDK's signer does; a test checks the result against it.
 */
export function signedHeaders(req: AwsRequest, now = new Date()): Record<string, string> {
  if (!SIGNABLE_PATH.test(req.path)) throw new Error(`cannot sign the path ${JSON.stringify(req.path)}`);
  const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, "");
  const day = amzDate.slice(0, 8);
  const { accessKeyId, secretAccessKey, sessionToken } = req.credentials;
  const headers: Record<string, string> = { ...req.headers, Host: req.endpoint.host, "Content-Length": String(Buffer.byteLength(req.body)), "X-Amz-Date": amzDate };
  if (sessionToken) headers["X-Amz-Security-Token"] = sessionToken;
  const canonical = Object.entries(headers)
    .map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, " ")] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const names = canonical.map(([k]) => k).join(";");
  const canonicalRequest = [req.method, req.path, "", canonical.map(([k, v]) => `${k}:${v}\n`).join(""), names, sha256(req.body)].join("\n");
  const scope = `${day}/${req.region}/${req.service}/aws4_request`;
  const id = `${secretAccessKey}/${scope}`;
  if (signingKey?.id !== id) {
    const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), req.region), req.service), "aws4_request");
    signingKey = { id, key };
  }
  const signature = createHmac("sha256", signingKey.key).update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonicalRequest)}`, "utf8").digest("hex");
  headers.Authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names}, Signature=${signature}`;
  return headers;
}

function once(req: AwsRequest, attempt: number, totalRetryDelay: number): Promise<AwsResponse> {
  const { endpoint } = req;
  const options: http.RequestOptions = {
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
    method: req.method,
    path: req.path,
    headers: signedHeaders(req),
    timeout: TIMEOUT_MS,
  };
  return new Promise<AwsResponse>((resolve, reject) => {
    const { request: send, agent } = transport(endpoint);
    const request = send({ ...options, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        const header = (name: string): string | undefined => {
          const v = res.headers[name];
          return Array.isArray(v) ? v[0] : v;
        };
        const metadata: ResponseMetadata = { httpStatusCode: status, requestId: header("x-amzn-requestid") ?? header("x-amz-request-id"), attempts: attempt, totalRetryDelay };
        const text = Buffer.concat(chunks).toString("utf8");
        let body: Record<string, unknown> = {};
        if (text) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
          // An answer that cannot be read is never retried: a write may have happened.
          else if (status < 300) return reject(new AwsError("SerializationException", "the answer is not a JSON object", "client", metadata));
        }
        if (status >= 200 && status < 300) return resolve({ body, $metadata: metadata });
        reject(errorFrom(status, header("x-amzn-errortype"), body, metadata));
      });
    });
    request.on("timeout", () => request.destroy(Object.assign(new Error(`${req.service} did not answer within ${TIMEOUT_MS} ms`), { code: "ETIMEDOUT" })));
    request.on("error", reject);
    request.end(req.body);
  });
}

/** JSON protocols name the error in `__type` (`com.amazonaws.dynamodb.v20120810#Name`) or a header (`Name:http://…`). */
function errorFrom(status: number, typeHeader: string | undefined, body: Record<string, unknown>, metadata: ResponseMetadata): AwsError {
  const { __type, message, Message, ...fields } = body;
  const raw = (typeof __type === "string" && __type) || typeHeader || (status >= 500 ? "InternalServerError" : "UnknownError");
  const name = raw.split("#").pop()!.split(":")[0]!;
  const text = typeof message === "string" ? message : typeof Message === "string" ? Message : `HTTP ${status}`;
  return new AwsError(name, text, status >= 500 ? "server" : "client", metadata, fields);
}
