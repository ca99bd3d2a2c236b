// The test HTTP helpers (tests/support/http.ts) against the gateway with an echo handler: what a test
// writes is what the function receives.
import type { APIGatewayProxyEvent } from "aws-lambda";
import { expect } from "chai";
import { type Gateway, type ProxyHandler, startGateway } from "../../automation/local/gateway";
import { api, csrfToken, login, randomIp } from "../support/http";

describe("test HTTP helpers", () => {
  let gw: Gateway;
  let target: { url: string; sourceIpHeader: string };
  const seen: APIGatewayProxyEvent[] = [];

  const echo: ProxyHandler = async (event) => {
    seen.push(event);
    if (event.path === "/auth/login") {
      const body = JSON.parse(event.body ?? "{}");
      if (body.password !== "right") return { statusCode: 401, body: JSON.stringify({ error: "Invalid credentials", code: "INVALID_CREDENTIALS" }) };
      return { statusCode: 200, body: JSON.stringify({ success: true, accessToken: "a.b.c", expiresAt: "2030-01-01T00:00:00.000Z", user: { email: body.email } }) };
    }
    if (event.path === "/auth/csrf-token") return { statusCode: 200, body: JSON.stringify({ csrfToken: `for-${event.requestContext.identity.sourceIp}` }) };
    return { statusCode: 200, headers: { "X-Echo": "yes" }, multiValueHeaders: { "X-Many": ["1", "2"] }, body: event.body ?? "" };
  };

  before(async () => {
    gw = await startGateway({ handlers: { api: echo, auth: echo }, sourceIpHeader: "x-test-source-ip" });
    target = { url: `${gw.url}/`, sourceIpHeader: "x-test-source-ip" };
  });
  after(() => gw?.close());

  it("sends objects as JSON with a token, and parses the answer", async () => {
    const res = await api(target).request("post", "/people", { body: { a: 1 }, token: "tok" });
    const event = seen.at(-1)!;
    expect(event.httpMethod).to.equal("POST");
    expect(event.body).to.equal('{"a":1}');
    expect(event.headers["content-type"]).to.equal("application/json");
    expect(event.headers.authorization).to.equal("Bearer tok");
    expect(res.status).to.equal(200);
    expect(res.json).to.deep.equal({ a: 1 });
    expect(res.headers["x-echo"]).to.equal("yes");
    expect(res.headers["x-many"]).to.equal("1, 2");
  });

  it("sends a string body byte for byte, lets headers override, and leaves json undefined for non-JSON", async () => {
    const res = await api(target).request("PUT", "/people/1", { body: "{not json", headers: { "Content-Type": "text/plain" } });
    const event = seen.at(-1)!;
    expect(event.body).to.equal("{not json");
    expect(event.headers["Content-Type"]).to.equal("text/plain");
    expect(Object.keys(event.headers).filter((h) => h.toLowerCase() === "content-type")).to.have.length(1);
    expect(res.text).to.equal("{not json");
    expect(res.json).to.equal(undefined);
  });

  it("gives each client its own IP, and a request's ip wins", async () => {
    const a = api(target);
    const b = api(target, { ip: "10.0.0.1" });
    expect(a.ip).to.match(/^10\.\d+\.\d+\.\d+$/);
    expect(b.ip).to.equal("10.0.0.1");
    await a.request("GET", "/health");
    expect(seen.at(-1)!.requestContext.identity.sourceIp).to.equal(a.ip);
    await b.request("GET", "/health");
    expect(seen.at(-1)!.requestContext.identity.sourceIp).to.equal("10.0.0.1");
    await b.request("GET", "/health", { ip: "10.0.0.2" });
    expect(seen.at(-1)!.requestContext.identity.sourceIp).to.equal("10.0.0.2");
  });

  it("login resolves with the token from the given IP and rejects with the status on failure", async () => {
    const ip = randomIp();
    const ok = await login(target, "me@example.test", "right", ip);
    expect(ok.token).to.equal("a.b.c");
    expect(ok.ip).to.equal(ip);
    expect(seen.at(-1)!.requestContext.identity.sourceIp).to.equal(ip);
    const err = await login(target, "me@example.test", "wrong").then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/answered 401/);
    expect(err?.message).not.to.include("wrong");
  });

  it("csrfToken fetches a token issued to the given IP", async () => {
    expect(await csrfToken(target, "10.7.7.7")).to.equal("for-10.7.7.7");
  });
});
