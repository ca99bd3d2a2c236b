// Security: forged and ended tokens, authorization between people and roles, mass assignment,
// lockout, rate limits and CSRF.
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { generateKeyPair, SignJWT } from "jose";
import { RATE_LIMITS } from "../../handlers/contract";
import {
  adminLogin,
  claims,
  createProject,
  csrf,
  emailsTo,
  expectError,
  expectStatus,
  getItem,
  type LocalTarget,
  login,
  newIp,
  personByEmail,
  roomInWindow,
  seedPerson,
  send,
  sharedTarget,
  strongPassword,
  uniqueEmail,
  updateItem,
} from "./helpers";

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("handlers: security", function () {
  this.timeout(180_000); // the first start of the shared target may fetch DynamoDB Local
  let t: LocalTarget;
  let secret: Uint8Array;
  before(async () => {
    t = await sharedTarget();
    expect(t.env.JWT_SECRET, "the target's JWT secret").to.be.a("string");
    secret = new TextEncoder().encode(t.env.JWT_SECRET);
  });

  describe("tokens", () => {
    it("a token with alg none is 401", async () => {
      const p = await seedPerson(t);
      const c = claims(p.token);
      const unsigned = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(c)}.`;
      expectError(await send(t, "GET", "/auth/me", { token: unsigned }), 401);
      expectError(await send(t, "GET", `/people/${p.id}`, { token: unsigned }), 401);
      // The same claims correctly signed pass: only the algorithm differs.
      const good = await new SignJWT(c).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(secret);
      expectStatus(await send(t, "GET", `/people/${p.id}`, { token: good }), 200);
    });

    it("a token signed with another algorithm (HS512 with the same secret, RS256) is 401", async () => {
      const p = await seedPerson(t);
      const c = claims(p.token);
      const hs512 = await new SignJWT(c).setProtectedHeader({ alg: "HS512", typ: "JWT" }).sign(secret);
      const { privateKey } = await generateKeyPair("RS256");
      const rs256 = await new SignJWT(c).setProtectedHeader({ alg: "RS256", typ: "JWT" }).sign(privateKey);
      for (const token of [hs512, rs256]) {
        expectError(await send(t, "GET", "/auth/me", { token }), 401);
        expectError(await send(t, "GET", `/people/${p.id}`, { token }), 401);
      }
    });

    it("a token signed with a wrong secret is 401", async () => {
      const p = await seedPerson(t);
      const wrong = await new SignJWT(claims(p.token)).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("x".repeat(48)));
      expectError(await send(t, "GET", "/auth/me", { token: wrong }), 401);
      expectError(await send(t, "GET", `/people/${p.id}`, { token: wrong }), 401);
    });

    it("an expired token (valid signature, live session) is 401", async () => {
      const p = await seedPerson(t);
      const now = Math.floor(Date.now() / 1000);
      const expired = await new SignJWT({ ...claims(p.token), iat: now - 7200, exp: now - 60 }).setProtectedHeader({ alg: "HS256" }).sign(secret);
      expectError(await send(t, "GET", "/auth/me", { token: expired }), 401);
      expectError(await send(t, "GET", `/people/${p.id}`, { token: expired }), 401);
      expectStatus(await send(t, "GET", "/auth/me", { token: p.token }), 200);
    });

    it("tampered claims (isAdmin, sub) with the original signature are 401", async () => {
      const p = await seedPerson(t);
      const victim = await seedPerson(t);
      const [h, , s] = p.token.split(".");
      const c = claims(p.token);
      for (const changed of [{ ...c, isAdmin: true }, { ...c, sub: victim.id }, { ...c, exp: c.exp + 3600 }]) {
        const tampered = `${h}.${b64url(changed)}.${s}`;
        expectError(await send(t, "GET", `/people/${victim.id}`, { token: tampered }), 401);
        expectError(await send(t, "GET", "/people", { token: tampered }), 401);
      }
    });

    it("a correctly signed token whose sid was never a session is 401", async () => {
      const p = await seedPerson(t);
      const forged = await new SignJWT({ ...claims(p.token), sid: randomUUID() }).setProtectedHeader({ alg: "HS256" }).sign(secret);
      expectError(await send(t, "GET", `/people/${p.id}`, { token: forged }), 401);
    });

    it("a token whose session ended by logout is 401 on every function", async () => {
      const p = await seedPerson(t);
      expectStatus(await send(t, "POST", "/auth/logout", { token: p.token }), 200);
      expectError(await send(t, "GET", "/auth/me", { token: p.token }), 401);
      expectError(await send(t, "GET", `/people/${p.id}`, { token: p.token }), 401);
      expectError(await send(t, "POST", "/auth/refresh", { token: p.token }), 401);
    });

    it("tokens of sessions ended by a password change are 401 on every function", async () => {
      const p = await seedPerson(t);
      const other = await login(t, p.email, p.password);
      expectStatus(await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: strongPassword() } }), 200);
      expectError(await send(t, "GET", "/auth/me", { token: other.token }), 401);
      expectError(await send(t, "GET", `/people/${p.id}`, { token: other.token }), 401);
    });

    it("an isAdmin claim signed with the real secret does not make a non-admin an admin (role read from the table)", async () => {
      const p = await seedPerson(t);
      const elevated = await new SignJWT({ ...claims(p.token), isAdmin: true }).setProtectedHeader({ alg: "HS256" }).sign(secret);
      expectError(await send(t, "GET", "/people", { token: elevated }), 403);
      expectError(await send(t, "GET", "/admin/dashboard", { token: elevated }), 403);
    });
  });

  describe("authorization", () => {
    it("a person reading or changing another person gets 403", async () => {
      const a = await seedPerson(t);
      const b = await seedPerson(t);
      expectError(await send(t, "GET", `/people/${b.id}`, { token: a.token }), 403);
      expectError(await send(t, "PUT", `/people/${b.id}`, { token: a.token, body: { firstName: "Mallory", version: 1 } }), 403);
      expectError(await send(t, "GET", `/people/${b.id}/subscriptions`, { token: a.token }), 403);
      expect((await getItem(t, "PeopleTable", { id: b.id }))?.firstName).to.equal("Test");
    });

    it("every admin route answers 403 to a non-admin", async () => {
      const u = await seedPerson(t);
      const admin = (await adminLogin(t)).token;
      const project = await createProject(t, admin);
      const other = await seedPerson(t, { login: false });
      for (const [method, p, body] of [
        ["GET", "/people", undefined],
        ["DELETE", `/people/${other.id}`, undefined],
        ["POST", "/projects", { name: "X" }],
        ["PUT", `/projects/${project.id}`, { name: "X", version: project.version }],
        ["DELETE", `/projects/${project.id}`, undefined],
        ["GET", `/projects/${project.id}/subscribers`, undefined],
        ["GET", "/subscriptions", undefined],
        ["GET", "/admin/dashboard", undefined],
        ["POST", "/admin/password-reset", { personId: other.id }],
      ] as const) {
        expectError(await send(t, method, p, { token: u.token, body }), 403);
      }
      expect(await getItem(t, "ProjectsTable", { id: project.id })).to.include({ name: project.name });
      expect(await getItem(t, "PeopleTable", { id: other.id })).to.not.equal(undefined);
    });
  });

  describe("mass assignment", () => {
    it("registration with isAdmin, passwordHash or id is 400 and nothing is stored", async () => {
      for (const extra of [{ isAdmin: true }, { passwordHash: "$2b$04$abcdefghijklmnopqrstuu5Mj1Yy8o6pGmjX5xv3sKj0yxyz12345" }, { id: randomUUID() }, { password: "Aa1!aaaaaaa" }, { requirePasswordChange: false }]) {
        const ip = newIp();
        const email = uniqueEmail("mass");
        const res = await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": await csrf(t, ip) }, body: { firstName: "M", lastName: "A", email, ...extra } });
        expectError(res, 400);
        expect(await personByEmail(t, email), JSON.stringify(Object.keys(extra))).to.equal(undefined);
      }
    });

    it("an update with isAdmin (self), passwordHash or id is 400 and the item is unchanged", async () => {
      const p = await seedPerson(t);
      const admin = (await adminLogin(t)).token;
      const before = await getItem(t, "PeopleTable", { id: p.id });
      for (const [token, extra] of [
        [p.token, { isAdmin: true }],
        [p.token, { passwordHash: "x" }],
        [p.token, { id: randomUUID() }],
        [admin, { passwordHash: "x" }],
        [admin, { failedLoginAttempts: 0 }],
        [admin, { email: undefined, createdAt: "2020-01-01T00:00:00Z" }],
      ] as const) {
        expectError(await send(t, "PUT", `/people/${p.id}`, { token, body: { ...extra, version: before?.version } }), 400);
      }
      expect(await getItem(t, "PeopleTable", { id: p.id })).to.deep.equal(before);
    });

    it("a project or subscription body with id is 400; a createdBy/subscribedBy the frontend sends is ignored (the caller is recorded)", async () => {
      const admin = await adminLogin(t);
      const u = await seedPerson(t);
      const project = await createProject(t, admin.token);
      expectError(await send(t, "POST", "/projects", { token: admin.token, body: { name: "X", id: randomUUID() } }), 400);
      const spoofed = await send(t, "POST", "/projects", { token: admin.token, body: { name: "X", createdBy: u.id } });
      expectStatus(spoofed, 201);
      expect(spoofed.json.createdBy).to.equal(claims(admin.token).sub);
      expectError(await send(t, "POST", "/subscriptions", { token: u.token, body: { personId: u.id, projectId: project.id, id: randomUUID() } }), 400);
      const sub = await send(t, "POST", "/subscriptions", { token: u.token, body: { personId: u.id, projectId: project.id, subscribedBy: "someone-else" } });
      expectStatus(sub, 201);
      expect(sub.json.subscribedBy).to.equal(u.id);
    });
  });

  describe("lockout", () => {
    it("5 failed logins lock the account: the 6th attempt with the right password is 423 ACCOUNT_LOCKED", async () => {
      const p = await seedPerson(t, { login: false });
      const ip = newIp();
      for (let i = 1; i <= 5; i++) {
        expectError(await send(t, "POST", "/auth/login", { ip, body: { email: p.email, password: `Wrong-${i}-Pass!` } }), 401, "INVALID_CREDENTIALS");
      }
      const locked = await send(t, "POST", "/auth/login", { ip, body: { email: p.email, password: p.password } });
      expectError(locked, 423, "ACCOUNT_LOCKED");
      expect(locked.json.accessToken).to.equal(undefined);
      // From another client too: the lock is on the account.
      expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } }), 423, "ACCOUNT_LOCKED");
      const item = await getItem(t, "PeopleTable", { id: p.id });
      expect(item?.failedLoginAttempts).to.equal(5);
      const until = Date.parse(item?.accountLockedUntil);
      expect((until - Date.now()) / 60_000).to.be.within(13, 15.5);
      expect(emailsTo(t, p.email).some((m) => /lock/i.test(m.subject + m.text)), "account-locked notice").to.equal(true);
    });

    it("4 failures do not lock; a success resets the count", async () => {
      const p = await seedPerson(t, { login: false });
      for (let i = 0; i < 4; i++) expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: "Wrong-Pass-1!" } }), 401);
      await login(t, p.email, p.password);
      for (let i = 0; i < 4; i++) expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: "Wrong-Pass-1!" } }), 401);
      await login(t, p.email, p.password);
    });

    it("a lock that has run out lets the right password in again", async () => {
      const p = await seedPerson(t, { login: false });
      for (let i = 0; i < 5; i++) await send(t, "POST", "/auth/login", { body: { email: p.email, password: "Wrong-Pass-1!" } });
      expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } }), 423);
      const past = new Date(Date.now() - 60_000).toISOString();
      await updateItem(t, "PeopleTable", { id: p.id }, { accountLockedUntil: past, failedLoginWindowStart: new Date(Date.now() - 16 * 60_000).toISOString() });
      await login(t, p.email, p.password);
    });
  });

  describe("rate limits", () => {
    /** Sends `n` requests, sequentially, and returns the responses. */
    async function burst(n: number, make: (i: number) => Promise<Awaited<ReturnType<typeof send>>>) {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await make(i));
      return out;
    }

    const expect429At = (responses: Awaited<ReturnType<typeof send>>[], limit: number) => {
      responses.slice(0, limit).forEach((r, i) => expect(r.status, `request ${i + 1}`).to.not.equal(429));
      const over = responses[limit];
      expectError(over, 429, "RATE_LIMITED");
      expect(Number(over.headers["retry-after"]), "Retry-After seconds").to.be.greaterThan(0);
      expect(over.headers["x-ratelimit-limit"]).to.equal(String(limit));
      expect(over.headers["x-ratelimit-remaining"]).to.equal("0");
    };

    it("login: the 11th attempt per IP+email within 15 minutes is 429 with Retry-After", async () => {
      const [rule] = RATE_LIMITS.login.filter((r) => r.key === "ip+email");
      await roomInWindow(rule.windowSeconds, 30);
      const ip = newIp();
      const email = uniqueEmail("rl"); // unknown account: no lockout in the way
      const responses = await burst(rule.limit + 1, () => send(t, "POST", "/auth/login", { ip, body: { email, password: "Wrong-Pass-1!" } }));
      expect429At(responses, rule.limit);
      expect(responses[0].headers["x-ratelimit-limit"], "rate-limit headers on normal answers").to.be.a("string");
      // Another email from the same IP is still allowed (until the per-IP limit).
      expectError(await send(t, "POST", "/auth/login", { ip, body: { email: uniqueEmail("rl2"), password: "Wrong-Pass-1!" } }), 401);
    });

    it("login: the 31st attempt per IP within 15 minutes is 429, whatever the emails", async () => {
      const [rule] = RATE_LIMITS.login.filter((r) => r.key === "ip");
      await roomInWindow(rule.windowSeconds, 30);
      const ip = newIp();
      const responses = await burst(rule.limit + 1, () => send(t, "POST", "/auth/login", { ip, body: { email: uniqueEmail("rlip"), password: "Wrong-Pass-1!" } }));
      expect429At(responses, rule.limit);
    });

    it("login: lockout answers before the rate limit (5 failures → 423, not 429)", async () => {
      const p = await seedPerson(t, { login: false });
      const ip = newIp();
      const statuses = (await burst(8, () => send(t, "POST", "/auth/login", { ip, body: { email: p.email, password: "Wrong-Pass-1!" } }))).map((r) => r.status);
      expect(statuses.slice(0, 5)).to.deep.equal([401, 401, 401, 401, 401]);
      expect(statuses.slice(5)).to.deep.equal([423, 423, 423]);
    });

    it("password-reset request: the 4th per IP+email within an hour is 429", async () => {
      const [rule] = RATE_LIMITS.passwordReset;
      await roomInWindow(rule.windowSeconds, 30);
      const ip = newIp();
      const email = uniqueEmail("rlreset");
      expect429At(await burst(rule.limit + 1, () => send(t, "POST", "/auth/password-reset", { ip, body: { email } })), rule.limit);
    });

    it("registration: the 11th per IP within an hour is 429", async () => {
      const [rule] = RATE_LIMITS.registration;
      await roomInWindow(rule.windowSeconds, 30);
      const ip = newIp();
      const responses = await burst(rule.limit + 1, async () =>
        send(t, "POST", "/people", { ip, headers: { "x-csrf-token": await csrf(t, ip) }, body: { firstName: "R", lastName: "L", email: uniqueEmail("rlreg") } }),
      );
      expect429At(responses, rule.limit);
      responses.slice(0, rule.limit).forEach((r) => expect(r.status).to.equal(201));
    });

    it("everything else: the 101st request per IP within a minute is 429", async () => {
      const [rule] = RATE_LIMITS.default;
      await roomInWindow(rule.windowSeconds, 25);
      const ip = newIp();
      const responses = await burst(rule.limit + 1, () => send(t, "GET", "/projects?limit=1", { ip }));
      expect429At(responses, rule.limit);
      expect(Number(responses[rule.limit].headers["retry-after"])).to.be.at.most(rule.windowSeconds);
    });
  });

  describe("CSRF", () => {
    const body = () => ({ firstName: "C", lastName: "S", email: uniqueEmail("csrf") });

    it("a public state-changing request without X-CSRF-Token is 403 CSRF_INVALID", async () => {
      const b = body();
      expectError(await send(t, "POST", "/people", { body: b }), 403, "CSRF_INVALID");
      expect(await personByEmail(t, b.email)).to.equal(undefined);
    });

    it("a forged token (made up, altered, or issued to another client) is 403", async () => {
      const ip = newIp();
      const real = await csrf(t, ip);
      const altered = real.slice(0, -2) + (real.endsWith("AA") ? "BB" : "AA");
      const otherClients = await csrf(t, newIp());
      for (const token of ["forged-token", altered, otherClients, "", "x".repeat(5000)]) {
        const b = body();
        expectError(await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": token }, body: b }), 403, "CSRF_INVALID");
        expect(await personByEmail(t, b.email)).to.equal(undefined);
      }
      // The untouched token still works once.
      expectStatus(await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": real }, body: body() }), 201);
    });

    it("a reused token is 403 the second time", async () => {
      const ip = newIp();
      const token = await csrf(t, ip);
      expectStatus(await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": token }, body: body() }), 201);
      const b = body();
      expectError(await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": token }, body: b }), 403, "CSRF_INVALID");
      expect(await personByEmail(t, b.email)).to.equal(undefined);
    });
  });
});
