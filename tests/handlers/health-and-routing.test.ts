// GET /health, GET /auth/csrf-token, and what every response carries: the error shape for unknown
// routes and wrong methods, the security headers and CORS.
import { expect } from "chai";
import { ROUTES } from "../../handlers/contract";
import { expectError, expectStatus, type LocalTarget, newIp, send, sharedTarget } from "./helpers";

const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe("handlers: health, routing, headers", function () {
  this.timeout(180_000); // the first start of the shared target may fetch DynamoDB Local
  let t: LocalTarget;
  before(async () => {
    t = await sharedTarget();
  });

  it("GET /health answers 200 with the service, handler, version and a database check", async () => {
    const res = await send(t, "GET", "/health");
    expectStatus(res, 200);
    expect(res.json).to.include({ status: "healthy" });
    expect(res.json.service).to.be.a("string").and.not.equal("");
    expect(res.json.version).to.be.a("string");
    expect(res.json.handler).to.equal("enhanced");
    expect(res.json.timestamp).to.match(ISO_Z);
    expect(res.json.checks).to.be.an("object").that.has.property("database");
    expect(res.headers["content-type"]).to.match(/^application\/json; charset=utf-8/i);
  });

  it("every response carries the security headers (success, error and 404 alike)", async () => {
    for (const [method, p] of [
      ["GET", "/health"],
      ["GET", "/projects"],
      ["GET", "/people"],
      ["GET", "/people/not-a-uuid"],
    ] as const) {
      const res = await send(t, method, p);
      expect(res.headers["x-content-type-options"], `${method} ${p}`).to.equal("nosniff");
      expect(res.headers["x-frame-options"], `${method} ${p}`).to.equal("DENY");
      expect(res.headers["strict-transport-security"], `${method} ${p}`).to.match(/max-age=\d+/);
      expect(res.headers["referrer-policy"], `${method} ${p}`).to.be.a("string");
      expect(res.headers["cache-control"], `${method} ${p}`).to.include("no-store");
    }
  });

  it("an unknown route answers 404 NOT_FOUND in the error shape (never 200)", async () => {
    for (const p of ["/nope", "/people/x/y/z", "/admin", "/auth", "/projects/" + "a".repeat(40) + "/zzz"]) {
      const res = await send(t, "GET", p);
      expectError(res, 404, "NOT_FOUND");
    }
  });

  it("a wrong method on a known path answers 405 in the error shape", async () => {
    for (const [method, p] of [
      ["DELETE", "/health"],
      ["PUT", "/projects"],
      ["PATCH", "/people"],
      ["GET", "/auth/login"],
      ["DELETE", "/auth/csrf-token"],
    ] as const) {
      const res = await send(t, method, p);
      expectError(res, 405);
    }
  });

  it("every contract route answers something other than 404 (each is wired)", async () => {
    const concrete = (p: string) => p.replace(/\{[^}]+\}/g, "00000000-0000-4000-8000-000000000000");
    for (const r of ROUTES) {
      const res = await send(t, r.method, concrete(r.path), r.method === "GET" || r.method === "DELETE" ? {} : { body: {} });
      // Only a route with an id may answer 404 (that id is absent); a fixed path always exists.
      if (res.status === 404) expect(r.path, `${r.method} ${r.path} answered 404`).to.include("{");
      expect(res.status, `${r.method} ${r.path}`).to.be.below(500);
    }
  });

  it("query keys and header names that are Object.prototype properties are plain data (no 5xx)", async () => {
    for (const key of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf"]) {
      const res = await send(t, "GET", `/projects?${key}=1`);
      expect(res.status, `?${key}=1 -> ${res.text}`).to.equal(200);
      const viaHeader = await send(t, "GET", "/projects", { headers: { [key.replace(/_/g, "x")]: "1" } });
      expect(viaHeader.status, `header ${key}`).to.equal(200);
      const wrongMethod = await send(t, "PUT", `/auth/me?${key}=1`);
      expectError(wrongMethod, 405);
    }
  });

  it("bodies: absent or null → 400, malformed → 400 INVALID_JSON, over 64 KiB → 413, on every body route", async () => {
    const big = JSON.stringify({ email: "a@example.test", password: "x".repeat(70 * 1024) });
    for (const [method, p] of [
      ["POST", "/auth/login"],
      ["POST", "/auth/password-reset"],
      ["POST", "/auth/password-reset/confirm"],
    ] as const) {
      expectError(await send(t, method, p), 400);
      expectError(await send(t, method, p, { raw: "null", headers: { "content-type": "application/json" } }), 400);
      expectError(await send(t, method, p, { raw: "{\"email\": ", headers: { "content-type": "application/json" } }), 400, "INVALID_JSON");
      expectError(await send(t, method, p, { raw: big, headers: { "content-type": "application/json" } }), 413);
    }
  });

  it("GET /auth/csrf-token answers {csrfToken, expiresAt} about an hour ahead", async () => {
    const res = await send(t, "GET", "/auth/csrf-token", { ip: newIp() });
    expectStatus(res, 200);
    expect(res.json.csrfToken).to.be.a("string").with.length.greaterThan(16);
    const expires = typeof res.json.expiresAt === "number" ? res.json.expiresAt * 1000 : Date.parse(res.json.expiresAt);
    const minutes = (expires - Date.now()) / 60_000;
    expect(minutes).to.be.within(55, 61);
  });

  describe("CORS", () => {
    it("a configured origin is echoed with credentials, never `*`", async () => {
      const origin = (t.env.CORS_ORIGINS ?? "").split(",").map((o) => o.trim()).find((o) => o && o !== "*");
      expect(origin, "the local target configures at least one allowed origin").to.be.a("string");
      const res = await send(t, "GET", "/projects", { headers: { origin: origin! } });
      expect(res.headers["access-control-allow-origin"]).to.equal(origin);
      expect(res.headers["access-control-allow-origin"]).to.not.equal("*");
    });

    it("an unknown origin gets no Access-Control-Allow-Origin", async () => {
      const res = await send(t, "GET", "/projects", { headers: { origin: "https://evil.example" } });
      expect(res.headers["access-control-allow-origin"]).to.equal(undefined);
    });

    it("a preflight from a configured origin allows Authorization, Content-Type and X-CSRF-Token", async () => {
      const origin = (t.env.CORS_ORIGINS ?? "").split(",").map((o) => o.trim()).find((o) => o && o !== "*")!;
      const res = await send(t, "OPTIONS", "/people", {
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-csrf-token" },
      });
      expect(res.status).to.be.oneOf([200, 204]);
      expect(res.headers["access-control-allow-origin"]).to.equal(origin);
      const allowed = (res.headers["access-control-allow-headers"] ?? "").toLowerCase();
      for (const h of ["authorization", "content-type", "x-csrf-token"]) expect(allowed).to.include(h);
    });

    it("a preflight from an unknown origin is not allowed", async () => {
      const res = await send(t, "OPTIONS", "/people", { headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
      expect(res.headers["access-control-allow-origin"]).to.equal(undefined);
    });
  });
});
