import { expect } from "chai";
import { acquire, call, type Env, FRONTEND_ORIGIN, loginAs, release, seedPerson } from "./support";

describe("handlers: the driver's smoke checks and the admin person lifecycle", function () {
  this.timeout(120_000);
  let env: Env;
  before(async () => {
    env = await acquire();
  });
  after(release);

  it("GET /health reports a healthy database", async () => {
    const res = await call("GET", "/health");
    expect(res.status).to.equal(200);
    expect(res.json).to.include({ status: "healthy", service: "people-register-api", handler: "enhanced", version: "dev" });
    expect(res.json.checks.database).to.equal("ok");
    expect(res.headers["content-type"]).to.equal("application/json; charset=utf-8");
    expect(res.headers["x-content-type-options"]).to.equal("nosniff");
  });

  it("401 on /people and /auth/me without a token", async () => {
    for (const p of ["/people", "/auth/me"]) {
      const res = await call("GET", p);
      expect(res.status, p).to.equal(401);
      expect(res.json.code).to.equal("UNAUTHORIZED");
    }
  });

  it("answers the CORS preflight for an allowed origin only", async () => {
    const ok = await call("OPTIONS", "/people", { headers: { Origin: FRONTEND_ORIGIN, "Access-Control-Request-Method": "POST" } });
    expect(ok.status).to.equal(204);
    expect(ok.headers["access-control-allow-origin"]).to.equal(FRONTEND_ORIGIN);
    expect(ok.headers["access-control-allow-headers"]).to.include("X-CSRF-Token");
    expect(ok.headers["access-control-allow-methods"]).to.include("POST");
    expect(ok.headers.vary).to.equal("Origin");
    const evil = await call("OPTIONS", "/people", { headers: { Origin: "https://evil.example" } });
    expect(evil.headers["access-control-allow-origin"]).to.equal(undefined);
  });

  it("403 CSRF_INVALID before validation on an anonymous POST /people", async () => {
    const res = await call("POST", "/people", { body: { firstName: "", email: "not-an-email", isAdmin: true } });
    expect(res.status).to.equal(403);
    expect(res.json.code).to.equal("CSRF_INVALID");
  });

  it("404 on an unknown path and 405 on a wrong method", async () => {
    const nf = await call("GET", "/nope");
    expect(nf.status).to.equal(404);
    expect(nf.json).to.deep.equal({ error: "Not found", code: "NOT_FOUND", detail: "Not found" });
    const na = await call("PATCH", "/people");
    expect(na.status).to.equal(405);
    expect(na.headers.allow).to.include("GET");
  });

  it("an admin creates, reads, updates and deletes a person", async () => {
    const admin = await seedPerson(env, { isAdmin: true });
    const token = await loginAs(admin.email);
    const email = `smoke+${Date.now()}@example.invalid`;
    const created = await call("POST", "/people", { token, body: { firstName: "Smoke-Test", lastName: "Run", email } });
    expect(created.status, JSON.stringify(created.json)).to.equal(201);
    const person = created.json;
    expect(person).to.include({ email, version: 1, isAdmin: false });
    expect(person).to.not.have.any.keys("passwordHash", "password", "failedLoginAttempts");

    const read = await call("GET", `/people/${person.id}`, { token });
    expect(read.status).to.equal(200);
    expect(read.json.email).to.equal(email);

    const updated = await call("PUT", `/people/${person.id}`, { token, body: { lastName: "Run-Updated", version: 1 } });
    expect(updated.status).to.equal(200);
    expect(updated.json).to.include({ lastName: "Run-Updated", version: 2 });

    const stale = await call("PUT", `/people/${person.id}`, { token, body: { lastName: "Again", version: 1 } });
    expect(stale.status).to.equal(409);
    expect(stale.json.code).to.equal("CONFLICT");

    expect((await call("DELETE", `/people/${person.id}`, { token })).status).to.equal(204);
    expect((await call("GET", `/people/${person.id}`, { token })).status).to.equal(404);
    expect((await call("DELETE", `/people/${person.id}`, { token })).status).to.equal(404);
  });
});
