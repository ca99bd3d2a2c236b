import { expect } from "chai";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { SignJWT } from "jose";
import { acquire, call, type Env, linkToken, loginAs, outboxMessages, randomIp, release, seedPerson, STRONG_PASSWORD } from "./support";

describe("handlers: authentication, sessions, lockout and passwords", function () {
  this.timeout(120_000);
  let env: Env;
  before(async () => {
    env = await acquire();
  });
  after(release);

  it("logs in with claims exactly as the contract, reads /auth/me, and logout ends that session only", async () => {
    const person = await seedPerson(env);
    const first = await loginAs(person.email);
    const second = await loginAs(person.email);
    const [, payload] = first.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    expect(Object.keys(claims).sort()).to.deep.equal(["email", "exp", "firstName", "iat", "isAdmin", "lastName", "sid", "sub"]);
    expect(claims.sub).to.equal(person.id);
    const me = await call("GET", "/auth/me", { token: first });
    expect(me.status).to.equal(200);
    expect(me.json.user).to.include({ id: person.id, email: person.email });
    expect(me.json.user).to.not.have.any.keys("passwordHash", "password");
    expect((await call("POST", "/auth/logout", { token: first })).status).to.equal(200);
    expect((await call("GET", "/auth/me", { token: first })).status).to.equal(401);
    expect((await call("GET", "/auth/me", { token: second })).status).to.equal(200);
  });

  it("refresh keeps the session: logging out the refreshed token ends the original too", async () => {
    const person = await seedPerson(env);
    const token = await loginAs(person.email);
    const refreshed = await call("POST", "/auth/refresh", { token });
    expect(refreshed.status).to.equal(200);
    const sid = (t: string) => JSON.parse(Buffer.from(t.split(".")[1], "base64url").toString("utf8")).sid;
    expect(sid(refreshed.json.accessToken)).to.equal(sid(token));
    await call("POST", "/auth/logout", { token: refreshed.json.accessToken });
    expect((await call("GET", "/auth/me", { token })).status).to.equal(401);
  });

  it("rejects unsigned, foreign-algorithm, wrong-secret and tampered tokens", async () => {
    const person = await seedPerson(env);
    const good = await loginAs(person.email);
    const [h, p, s] = good.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const none = `${b64({ alg: "none", typ: "JWT" })}.${p}.`;
    const tampered = `${h}.${b64({ ...claims, isAdmin: true })}.${s}`;
    const wrongSecret = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("x".repeat(40)));
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: "HS512" }).sign(new TextEncoder().encode(process.env.JWT_SECRET!));
    for (const token of [none, tampered, wrongSecret, hs512, "garbage"]) {
      expect((await call("GET", "/auth/me", { token })).status, token).to.equal(401);
    }
  });

  it("locks an account after exactly 5 parallel failures (423 before the password), and emails the person", async () => {
    const person = await seedPerson(env);
    const results = await Promise.all(
      Array.from({ length: 9 }, () => call("POST", "/auth/login", { body: { email: person.email, password: "Wrong!Passw0rd" }, ip: randomIp() })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401)).to.have.length(5);
    expect(statuses.filter((s) => s === 423)).to.have.length(4);
    const right = await call("POST", "/auth/login", { body: { email: person.email, password: STRONG_PASSWORD } });
    expect(right.status).to.equal(423);
    expect(right.json.code).to.equal("ACCOUNT_LOCKED");
    expect(outboxMessages(env, person.email).some((m) => m.includes("X-Template: account_locked"))).to.equal(true);
  });

  it("answers 401 INVALID_CREDENTIALS alike for an unknown email, a wrong password and no password", async () => {
    const noPassword = await seedPerson(env, {}, null);
    const person = await seedPerson(env);
    for (const body of [
      { email: "nobody@example.com", password: STRONG_PASSWORD },
      { email: person.email, password: "Wrong!Passw0rd" },
      { email: noPassword.email, password: STRONG_PASSWORD },
    ]) {
      const res = await call("POST", "/auth/login", { body });
      expect(res.status).to.equal(401);
      expect(res.json).to.deep.equal({ error: "Invalid email or password", code: "INVALID_CREDENTIALS", detail: "Invalid email or password" });
    }
  });

  it("accepts $2a$ and $2y$ hashes in the legacy `password` attribute and migrates them to passwordHash", async () => {
    // OpenBSD bcrypt test vector ("U*U", cost 5), the $2a$ form Python's bcrypt also verifies.
    const person = await seedPerson(env, { password: "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" }, null);
    const res = await call("POST", "/auth/login", { body: { email: person.email, password: "U*U" } });
    expect(res.status).to.equal(200);
    const stored = (await env.doc.send(new GetCommand({ TableName: env.tables.PeopleTable, Key: { id: person.id } }))).Item!;
    expect(stored.passwordHash).to.equal("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
    expect(stored).to.not.have.property("password");
    const y = await seedPerson(env, { passwordHash: "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" }, null);
    expect((await call("POST", "/auth/login", { body: { email: y.email, password: "U*U" } })).status).to.equal(200);
  });

  it("inactive people cannot log in", async () => {
    const person = await seedPerson(env, { isActive: false });
    expect((await call("POST", "/auth/login", { body: { email: person.email, password: STRONG_PASSWORD } })).status).to.equal(401);
  });

  it("password change: policy, current password, no reuse, other sessions end, notice emailed", async () => {
    const person = await seedPerson(env);
    const keep = await loginAs(person.email);
    const other = await loginAs(person.email);
    const weak = await call("PUT", "/auth/password", { token: keep, body: { currentPassword: STRONG_PASSWORD, newPassword: "short" } });
    expect(weak.status).to.equal(400);
    const wrong = await call("PUT", "/auth/password", { token: keep, body: { currentPassword: "Nope!1234", newPassword: "N3w!Password" } });
    expect(wrong.status).to.equal(401);
    const same = await call("PUT", "/auth/password", { token: keep, body: { currentPassword: STRONG_PASSWORD, newPassword: STRONG_PASSWORD } });
    expect(same.status).to.equal(400);
    expect(same.json.code).to.equal("PASSWORD_REUSED");
    // Stored exactly as typed: surrounding spaces and markup characters included.
    const fancy = " N3w<b>&'\"Pässword ";
    const ok = await call("PUT", "/auth/password", { token: keep, body: { currentPassword: STRONG_PASSWORD, newPassword: fancy } });
    expect(ok.status, JSON.stringify(ok.json)).to.equal(200);
    expect((await call("GET", "/auth/me", { token: other })).status).to.equal(401);
    expect((await call("GET", "/auth/me", { token: keep })).status).to.equal(200);
    expect((await call("POST", "/auth/login", { body: { email: person.email, password: fancy } })).status).to.equal(200);
    const back = await call("PUT", "/auth/password", { token: keep, body: { currentPassword: fancy, newPassword: STRONG_PASSWORD } });
    expect(back.json.code).to.equal("PASSWORD_REUSED");
    expect(outboxMessages(env, person.email).some((m) => m.includes("X-Template: password_changed"))).to.equal(true);
  });

  it("password reset: generic answer, emailed single-use token, all sessions end", async () => {
    const person = await seedPerson(env);
    const session = await loginAs(person.email);
    const unknown = await call("POST", "/auth/password-reset", { body: { email: "ghost@example.com" } });
    const known = await call("POST", "/auth/password-reset", { body: { email: person.email.toUpperCase() } });
    expect(unknown.status).to.equal(200);
    expect(known.json).to.deep.equal(unknown.json);
    const token = linkToken(outboxMessages(env, person.email).find((m) => m.includes("X-Template: password_reset"))!);
    const check = await call("GET", `/auth/password-reset?token=${encodeURIComponent(token)}`);
    expect(check.status).to.equal(200);
    expect(check.json.valid).to.equal(true);
    expect((await call("GET", "/auth/password-reset?token=bogus-token-bogus-token")).json.code).to.equal("TOKEN_INVALID");
    const confirm = await call("POST", "/auth/password-reset/confirm", { body: { token, newPassword: "Res3t!Password" } });
    expect(confirm.status, JSON.stringify(confirm.json)).to.equal(200);
    expect((await call("POST", "/auth/password-reset/confirm", { body: { token, newPassword: "Res3t!Password2" } })).json.code).to.equal("TOKEN_INVALID");
    expect((await call("GET", "/auth/me", { token: session })).status).to.equal(401);
    expect((await call("POST", "/auth/login", { body: { email: person.email, password: "Res3t!Password" } })).status).to.equal(200);
  });

  it("rate-limits login per IP+email with 429, Retry-After and X-RateLimit headers", async () => {
    const ip = randomIp();
    const email = "rate@example.com";
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 11; i++) {
      last = await call("POST", "/auth/login", { body: { email, password: "Wrong!Passw0rd" }, ip });
      statuses.push(last.status);
    }
    // An unknown email locks after 5 failures like an account (a 423 reveals nothing), then the limit answers.
    expect(statuses.slice(0, 10)).to.deep.equal([...Array(5).fill(401), ...Array(5).fill(423)]);
    expect(last!.status).to.equal(429);
    expect(last!.json.code).to.equal("RATE_LIMITED");
    expect(Number(last!.headers["retry-after"])).to.be.greaterThan(0);
    expect(last!.headers["x-ratelimit-remaining"]).to.equal("0");
  });
});
