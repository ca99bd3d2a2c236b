// The API Gateway emulation over real HTTP, with small in-test handlers: the v1 event as AWS
// documents it, route precedence, gateway-generated answers (404, 413, 502, 504) and response mapping.
import * as net from "node:net";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { expect } from "chai";
import { request } from "undici";
import { GATEWAY_NOT_FOUND, type GatewayRoute } from "../../handlers/contract";
import { LocalTargetError } from "../../automation/local/errors";
import { clfTime, type Gateway, MAX_REQUEST_BYTES, malformedReason, type ProxyHandler, routeMatcher, startGateway } from "../../automation/local/gateway";

interface Call {
  fn: string;
  event: APIGatewayProxyEvent;
  context: Context;
}

/** Handlers that record what they receive and answer with what the test queued (default: 200 JSON echo). */
function recorder() {
  const calls: Call[] = [];
  let next: ((event: APIGatewayProxyEvent, context: Context) => Promise<unknown> | unknown) | undefined;
  const make =
    (fn: string): ProxyHandler =>
    async (event, context) => {
      calls.push({ fn, event, context });
      if (next) return (await next(event, context)) as APIGatewayProxyResult;
      return { statusCode: 200, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ fn }) };
    };
  return {
    calls,
    handlers: { api: make("api"), auth: make("auth") },
    answer(fn: typeof next) {
      next = fn;
    },
    last(): Call {
      const call = calls.at(-1);
      if (!call) throw new Error("no handler was called");
      return call;
    },
  };
}

async function get(url: string, opts: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer } = {}) {
  const res = await request(url, { method: (opts.method ?? "GET") as "GET", headers: opts.headers, body: opts.body });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, bytes, text: bytes.toString("utf8") };
}

describe("local API Gateway emulation", () => {
  const rec = recorder();
  let gw: Gateway;

  before(async () => {
    gw = await startGateway({ handlers: rec.handlers, binaryMediaTypes: ["application/octet-stream", "image/*"] });
  });
  after(() => gw?.close());
  beforeEach(() => {
    rec.answer(undefined);
    rec.calls.length = 0;
  });

  it("listens on 127.0.0.1 at the port it reports", () => {
    expect(gw.url).to.equal(`http://127.0.0.1:${gw.port}`);
    expect(gw.port).to.be.greaterThan(0);
  });

  it("builds the v1 proxy event as documented: decoded path parameters, last-value single maps, stage only in requestContext.path", async () => {
    const before = Date.now();
    const res = await get(`${gw.url}/people/a%20b%2Fc?x=1&x=2&q=caf%C3%A9&empty=`, {
      headers: { "X-Custom": ["one", "two"], "User-Agent": "gateway-test" },
    });
    const after = Date.now();
    expect(res.status).to.equal(200);
    const { event, fn } = rec.last();
    expect(fn).to.equal("api");
    expect(event.resource).to.equal("/people/{id}");
    expect(event.path).to.equal("/people/a%20b%2Fc");
    expect(event.httpMethod).to.equal("GET");
    expect(event.pathParameters).to.deep.equal({ id: "a b/c" });
    expect(event.queryStringParameters).to.deep.equal({ x: "2", q: "café", empty: "" });
    expect(event.multiValueQueryStringParameters).to.deep.equal({ x: ["1", "2"], q: ["café"], empty: [""] });
    expect(event.stageVariables).to.equal(null);
    expect(event.body).to.equal(null);
    expect(event.isBase64Encoded).to.equal(false);
    expect(event.headers["X-Custom"]).to.equal("two");
    expect(event.multiValueHeaders["X-Custom"]).to.deep.equal(["one", "two"]);
    expect(event.headers["User-Agent"]).to.equal("gateway-test");
    expect(event.headers["X-Forwarded-For"]).to.equal("127.0.0.1");
    expect(Object.keys(event.headers).map((h) => h.toLowerCase())).not.to.include("content-type");

    const ctx = event.requestContext;
    expect(ctx.path).to.equal("/api/people/a%20b%2Fc");
    expect(ctx.stage).to.equal("api");
    expect(ctx.resourcePath).to.equal("/people/{id}");
    expect(ctx.httpMethod).to.equal("GET");
    expect(ctx.accountId).to.equal("123456789012");
    expect(ctx.requestTimeEpoch).to.be.within(before, after);
    expect(ctx.requestTime).to.match(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(ctx.identity.sourceIp).to.equal("127.0.0.1");
    expect(ctx.identity.userAgent).to.equal("gateway-test");
    expect(ctx.protocol).to.equal("HTTP/1.1");
    expect(ctx).not.to.have.property("authorizer");
    expect(res.headers["x-amzn-requestid"]).to.equal(ctx.requestId);
  });

  it("treats query keys and header names like toString, constructor and __proto__ as plain data", async () => {
    const res = await get(`${gw.url}/health?toString=1&__proto__=2&constructor=3&constructor=4`, { headers: { constructor: "c", "hasOwnProperty": "h" } });
    expect(res.status).to.equal(200);
    const { event } = rec.last();
    expect(Object.getOwnPropertyNames(event.queryStringParameters)).to.have.members(["toString", "__proto__", "constructor"]);
    expect(event.queryStringParameters?.toString).to.equal("1");
    expect(Object.getOwnPropertyDescriptor(event.queryStringParameters, "__proto__")?.value).to.equal("2");
    expect(event.multiValueQueryStringParameters?.constructor).to.deep.equal(["3", "4"]);
    expect(event.headers.constructor).to.equal("c");
    expect(event.headers.hasOwnProperty).to.equal("h");
  });

  it("sends null (not {}) for absent query and path parameters", async () => {
    await get(`${gw.url}/health`);
    const { event } = rec.last();
    expect(event.queryStringParameters).to.equal(null);
    expect(event.multiValueQueryStringParameters).to.equal(null);
    expect(event.pathParameters).to.equal(null);
  });

  it("gives every request a fresh request id", async () => {
    await Promise.all([get(`${gw.url}/health`), get(`${gw.url}/health`), get(`${gw.url}/health`)]);
    const ids = rec.calls.map((c) => c.event.requestContext.requestId);
    expect(new Set(ids).size).to.equal(3);
    const lambdaIds = rec.calls.map((c) => c.context.awsRequestId);
    expect(new Set(lambdaIds).size).to.equal(3);
  });

  it("routes each contract path to the function that owns it", async () => {
    await get(`${gw.url}/auth/login`, { method: "POST", body: "{}" });
    expect(rec.last().fn).to.equal("auth");
    expect(rec.last().event.resource).to.equal("/auth/login");
    await get(`${gw.url}/projects/p1/subscribe/u1`, { method: "POST" });
    expect(rec.last().fn).to.equal("api");
    expect(rec.last().event.pathParameters).to.deep.equal({ id: "p1", personId: "u1" });
  });

  it("answers an unknown path itself with GATEWAY_NOT_FOUND, without calling a function", async () => {
    const res = await get(`${gw.url}/no/such/path`);
    expect(res.status).to.equal(GATEWAY_NOT_FOUND.statusCode);
    expect(JSON.parse(res.text)).to.deep.equal(GATEWAY_NOT_FOUND.body);
    expect(res.headers["content-type"]).to.equal("application/json");
    expect(rec.calls).to.have.length(0);
  });

  it("sends another method on a known path to the owning function via ANY, which can answer 405", async () => {
    rec.answer(() => ({ statusCode: 405, headers: { Allow: "GET" }, body: JSON.stringify({ error: "Method not allowed", code: "METHOD_NOT_ALLOWED" }) }));
    const res = await get(`${gw.url}/health`, { method: "PATCH" });
    expect(res.status).to.equal(405);
    expect(res.headers.allow).to.equal("GET");
    expect(rec.last().event.httpMethod).to.equal("PATCH");
    expect(rec.last().event.resource).to.equal("/health");
    const preflight = await get(`${gw.url}/auth/me`, { method: "OPTIONS" });
    expect(preflight.status).to.equal(405);
    expect(rec.last().fn).to.equal("auth");
  });

  it("delivers a request body as UTF-8 text, and base64 only for binary media types", async () => {
    await get(`${gw.url}/people`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"Zoë"}' });
    expect(rec.last().event.body).to.equal('{"name":"Zoë"}');
    expect(rec.last().event.isBase64Encoded).to.equal(false);

    const bytes = Buffer.from([0, 255, 1, 128, 10]);
    await get(`${gw.url}/people`, { method: "POST", headers: { "content-type": "image/png" }, body: bytes });
    expect(rec.last().event.isBase64Encoded).to.equal(true);
    expect(Buffer.from(rec.last().event.body ?? "", "base64").equals(bytes)).to.equal(true);
  });

  it("decodes a base64 result into bytes and keeps multi-value response headers", async () => {
    const bytes = Buffer.from([137, 80, 78, 71, 0, 1, 2]);
    rec.answer(() => ({
      statusCode: 200,
      headers: { "Content-Type": "image/png", "X-One": "1" },
      multiValueHeaders: { "X-Many": ["a", "b"] },
      body: bytes.toString("base64"),
      isBase64Encoded: true,
    }));
    const res = await get(`${gw.url}/health`);
    expect(res.bytes.equals(bytes)).to.equal(true);
    expect(res.headers["content-type"]).to.equal("image/png");
    expect(res.headers["x-one"]).to.equal("1");
    expect(res.headers["x-many"]).to.deep.equal(["a", "b"]);
  });

  it("defaults the response Content-Type to application/json like API Gateway, and passes status and body through", async () => {
    rec.answer(() => ({ statusCode: 201, body: "created" }));
    const res = await get(`${gw.url}/health`);
    expect(res.status).to.equal(201);
    expect(res.text).to.equal("created");
    expect(res.headers["content-type"]).to.equal("application/json");
    rec.answer(() => ({ statusCode: 204 }));
    const empty = await get(`${gw.url}/health`);
    expect(empty.status).to.equal(204);
    expect(empty.text).to.equal("");
  });

  const malformed: Array<[string, unknown]> = [
    ["a string statusCode", { statusCode: "200", body: "{}" }],
    ["an object body", { statusCode: 200, body: { ok: true } }],
    ["an unknown key", { statusCode: 200, body: "{}", cookies: ["a=b"] }],
    ["headers that are not scalar", { statusCode: 200, headers: { "X-A": { nested: 1 } }, body: "{}" }],
    ["multiValueHeaders that are not arrays", { statusCode: 200, multiValueHeaders: { "X-A": "1" }, body: "{}" }],
    ["no result at all", undefined],
    ["a plain string", "hello"],
  ];
  for (const [what, result] of malformed) {
    it(`answers 502 {"message":"Internal server error"} for a result with ${what}`, async () => {
      rec.answer(() => result);
      const res = await get(`${gw.url}/health`);
      expect(res.status).to.equal(502);
      expect(JSON.parse(res.text)).to.deep.equal({ message: "Internal server error" });
    });
  }

  it("answers 502 for a header value HTTP cannot carry, and keeps framing headers to itself", async () => {
    rec.answer(() => ({ statusCode: 200, headers: { "X-Bad": "a\r\nInjected: yes" }, body: "{}" }));
    const bad = await get(`${gw.url}/health`);
    expect(bad.status).to.equal(502);
    expect(bad.headers.injected).to.equal(undefined);
    rec.answer(() => ({ statusCode: 200, headers: { "Content-Length": "999", "Transfer-Encoding": "chunked" }, body: "short" }));
    const framed = await get(`${gw.url}/health`);
    expect(framed.status).to.equal(200);
    expect(framed.text).to.equal("short");
    expect(framed.headers["content-length"]).to.equal("5");
  });

  it("answers 502 without the error text when the handler throws", async () => {
    rec.answer(() => {
      throw new Error("secret detail: db password is hunter2");
    });
    const res = await get(`${gw.url}/health`);
    expect(res.status).to.equal(502);
    expect(JSON.parse(res.text)).to.deep.equal({ message: "Internal server error" });
    expect(res.text).not.to.include("hunter2");
  });

  it("rejects a body over 10 MB with 413 before any function runs", async () => {
    const res = await get(`${gw.url}/people`, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.alloc(MAX_REQUEST_BYTES + 1, 0x61) });
    expect(res.status).to.equal(413);
    expect(rec.calls).to.have.length(0);
  });

  it("passes a Lambda-like context", async () => {
    await get(`${gw.url}/auth/me`);
    const { context } = rec.last();
    expect(context.functionName).to.equal("local-auth");
    expect(context.awsRequestId).to.match(/^[0-9a-f-]{36}$/);
    expect(context.invokedFunctionArn).to.equal("arn:aws:lambda:us-east-1:123456789012:function:local-auth");
    expect(context.getRemainingTimeInMillis()).to.be.within(1, 29_000);
  });

  it("ignores a client-sent source-IP header unless configured, and appends the caller to X-Forwarded-For", async () => {
    await get(`${gw.url}/health`, { headers: { "x-test-source-ip": "203.0.113.9", "X-Forwarded-For": "198.51.100.1" } });
    const { event } = rec.last();
    expect(event.requestContext.identity.sourceIp).to.equal("127.0.0.1");
    expect(event.headers["X-Forwarded-For"]).to.equal("198.51.100.1, 127.0.0.1");
  });

  it("serves concurrent requests on keep-alive connections", async () => {
    rec.answer(async (event) => {
      await new Promise((r) => setTimeout(r, 5));
      return { statusCode: 200, body: event.pathParameters?.id ?? "" };
    });
    const ids = Array.from({ length: 40 }, (_, i) => `id-${i}`);
    const answers = await Promise.all(ids.map((id) => get(`${gw.url}/projects/${id}`)));
    expect(answers.map((a) => a.text)).to.deep.equal(ids);
  });
});

describe("local API Gateway emulation: options", () => {
  it("puts the stack's CORS headers on its own answers (404, 502, 504), so a browser can read them", async () => {
    const rec = recorder();
    const origin = "http://localhost:4321";
    const gw = await startGateway({ handlers: rec.handlers, corsOrigins: [origin], integrationTimeoutMs: 200 });
    try {
      const notFound = await get(`${gw.url}/nowhere`, { headers: { origin } });
      expect(notFound.status).to.equal(404);
      expect(notFound.headers["access-control-allow-origin"]).to.equal(origin);
      rec.answer(() => {
        throw new Error("boom");
      });
      const failed = await get(`${gw.url}/health`, { headers: { origin } });
      expect(failed.status).to.equal(502);
      expect(failed.headers["access-control-allow-origin"]).to.equal(origin);
      rec.answer(() => new Promise(() => undefined));
      const slow = await get(`${gw.url}/health`, { headers: { origin } });
      expect(slow.status).to.equal(504);
      expect(slow.headers["access-control-allow-origin"]).to.equal(origin);
    } finally {
      await gw.close();
    }
    const several = await startGateway({ handlers: rec.handlers, corsOrigins: [origin, "https://app.example.org"] });
    try {
      const res = await get(`${several.url}/nowhere`, { headers: { origin: "https://app.example.org" } });
      expect(res.headers["access-control-allow-origin"]).to.equal("https://app.example.org");
      expect(res.headers).to.not.have.property("access-control-allow-credentials");
    } finally {
      await several.close();
    }
  });

  it("takes identity.sourceIp from the configured header (tests simulating many clients)", async () => {
    const rec = recorder();
    const gw = await startGateway({ handlers: rec.handlers, sourceIpHeader: "x-test-source-ip" });
    try {
      await get(`${gw.url}/health`, { headers: { "x-test-source-ip": "10.1.2.3" } });
      expect(rec.last().event.requestContext.identity.sourceIp).to.equal("10.1.2.3");
      await get(`${gw.url}/health`);
      expect(rec.last().event.requestContext.identity.sourceIp).to.equal("127.0.0.1");
    } finally {
      await gw.close();
    }
  });

  it("routes every path to api with greedy (the integrated app serves /auth/* too), with the rest of the path in {proxy}", async () => {
    const rec = recorder();
    const gw = await startGateway({ handlers: rec.handlers, greedy: true, stage: "prod" });
    try {
      await get(`${gw.url}/docs/a%20b/c`);
      const { event, fn } = rec.last();
      expect(fn).to.equal("api");
      expect(event.resource).to.equal("/{proxy+}");
      expect(event.pathParameters).to.deep.equal({ proxy: "docs/a b/c" });
      expect(event.requestContext.path).to.equal("/prod/docs/a%20b/c");
      await get(`${gw.url}/auth/login`, { method: "POST" });
      expect(rec.last().fn).to.equal("api");
      await get(`${gw.url}/`);
      expect(rec.last()).to.deep.include({ fn: "api" });
      expect(rec.last().event.resource).to.equal("/");
    } finally {
      await gw.close();
    }
  });

  it("answers 504 when the function does not answer within the integration timeout", async () => {
    const rec = recorder();
    let release: () => void = () => {};
    rec.answer(() => new Promise((resolve) => (release = () => resolve({ statusCode: 200, body: "late" }))));
    const gw = await startGateway({ handlers: rec.handlers, integrationTimeoutMs: 50 });
    try {
      const res = await get(`${gw.url}/health`);
      expect(res.status).to.equal(504);
      expect(JSON.parse(res.text)).to.deep.equal({ message: "Endpoint request timed out" });
    } finally {
      release();
      await gw.close();
    }
  });

  it("fails with a one-line LocalTargetError when the port is busy", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const err = await startGateway({ handlers: recorder().handlers, port }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(LocalTargetError);
      expect((err as Error).message).to.include(`port ${port} is already in use`);
      expect((err as Error).message).not.to.include("\n");
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

describe("gateway route precedence", () => {
  const r = (method: GatewayRoute["method"], path: string, fn: GatewayRoute["fn"] = "api"): GatewayRoute => ({ method, path, fn });

  it("prefers a literal segment over a {param}, whatever the declaration order", () => {
    const match = routeMatcher([r("GET", "/items/{id}"), r("GET", "/items/special", "auth")]);
    expect(match("GET", "/items/special")?.route.fn).to.equal("auth");
    expect(match("GET", "/items/other")?.route.path).to.equal("/items/{id}");
  });

  it("prefers the exact method over ANY on the same path", () => {
    const match = routeMatcher([r("ANY", "/items", "auth"), r("POST", "/items")]);
    expect(match("POST", "/items")?.route.fn).to.equal("api");
    expect(match("DELETE", "/items")?.route.fn).to.equal("auth");
  });

  it("tries the greedy path last and gives it the rest of the path", () => {
    const match = routeMatcher([r("ANY", "/{proxy+}", "auth"), r("GET", "/items/{id}")]);
    expect(match("GET", "/items/1")?.route.path).to.equal("/items/{id}");
    expect(match("POST", "/items/1")?.route.path).to.equal("/{proxy+}");
    expect(match("GET", "/a/b/c")?.params).to.deep.equal({ proxy: "a/b/c" });
    expect(match("GET", "/")).to.equal(undefined);
  });

  it("never matches an empty {param} segment or a different depth", () => {
    const match = routeMatcher([r("GET", "/items/{id}")]);
    expect(match("GET", "/items/")).to.equal(undefined);
    expect(match("GET", "/items")).to.equal(undefined);
    expect(match("GET", "/items/1/2")).to.equal(undefined);
  });

  it("checks results the way API Gateway does", () => {
    expect(malformedReason({ statusCode: 200, body: "x" })).to.equal(undefined);
    expect(malformedReason({ statusCode: 200, headers: { a: 1, b: true }, multiValueHeaders: { c: ["x", 2] } })).to.equal(undefined);
    expect(malformedReason({ statusCode: 99, body: "" })).to.be.a("string");
    expect(malformedReason({ statusCode: 200.5, body: "" })).to.be.a("string");
    expect(malformedReason({ statusCode: 200, isBase64Encoded: "yes" })).to.be.a("string");
  });

  it("formats requestTime in Common Log Format, UTC", () => {
    expect(clfTime(new Date(Date.UTC(2026, 0, 5, 3, 4, 5)))).to.equal("05/Jan/2026:03:04:05 +0000");
  });
});
