// Attacks, each reproduced against the real handlers on DynamoDB Local through the API Gateway
// emulation: what an attacker tried, and what a user relies on afterwards (a login, the outbox, a
// reset link). Success bodies of /people and /projects are not asserted here (their shape is
// another change's); statuses, error codes and follow-up effects are.
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import bcrypt from "bcryptjs";
import { ENV } from "../../handlers/contract";
import type * as Lockout from "../../handlers/lib/lockout";
import {
  adminLogin,
  claims,
  csrf,
  emailsTo,
  expectError,
  expectStatus,
  getItem,
  type LocalTarget,
  login,
  mapLimit,
  newIp,
  putItem,
  queryIndex,
  resetTokenFromEmail,
  rememberSecret,
  seedPerson,
  send,
  sharedTarget,
  strongPassword,
  uniqueEmail,
  updateItem,
} from "./helpers";

/**
 * The lockout module bound to the shared target: a fresh load, so its configuration (endpoint, table
 * names, cached once per process like a Lambda's) comes from the target's environment now, not from
 * whatever an earlier test file's target had set when the module was first used in this process.
 */
function lockoutOnTarget(): typeof Lockout {
  for (const key of Object.keys(require.cache)) if (key.includes("/handlers/lib/") || key.includes("/handlers/contract/")) delete require.cache[key];
  return require("../../handlers/lib/lockout") as typeof Lockout;
}

const wrongLogin = (t: LocalTarget, email: string, i: number) => send(t, "POST", "/auth/login", { body: { email, password: `Wrong-${i}-Pass!` } });
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

describe("handlers: attacks", function () {
  this.timeout(180_000);
  let t: LocalTarget;
  before(async () => {
    t = await sharedTarget();
  });

  describe("1. lockout under concurrency", () => {
    it("a burst of 20 wrong passwords checks exactly 5; the right password arriving afterwards gets 423", async () => {
      const p = await seedPerson(t, { login: false });
      const statuses = (await Promise.all(Array.from({ length: 20 }, (_, i) => wrongLogin(t, p.email, i)))).map((r) => r.status);
      expect(statuses.filter((s) => s === 401), `statuses ${statuses}`).to.have.length(5);
      expect(statuses.filter((s) => s === 423), `statuses ${statuses}`).to.have.length(15);
      expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } }), 423, "ACCOUNT_LOCKED");
      expect((await getItem(t, "PeopleTable", { id: p.id }))?.failedLoginAttempts).to.equal(5);
    });

    it("40 parallel logins with the right password among them: at most 5 failures are checked per success, and the lock holds", async () => {
      const p = await seedPerson(t, { login: false });
      const right = Math.floor(Math.random() * 40);
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i === right ? send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } }) : wrongLogin(t, p.email, i))),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.every((s) => s === 200 || s === 401 || s === 423), `statuses ${statuses}`).to.equal(true);
      const checked = statuses.filter((s) => s === 401).length;
      const succeeded = statuses.filter((s) => s === 200).length;
      // Before the fix 35 of 40 were checked. Now 5 failures lock; a success in between may reset the count once.
      expect(checked, `statuses ${statuses}`).to.be.at.most(5 * (succeeded + 1));
      if (succeeded === 0) expect(checked).to.equal(5);
      const item = await getItem(t, "PeopleTable", { id: p.id });
      const locked = typeof item?.accountLockedUntil === "string" && Date.parse(item.accountLockedUntil) > Date.now();
      const next = await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } });
      expect(next.status, "the next right login follows the stored lock").to.equal(locked ? 423 : 200);
    });

    it("a success never clears a lock it did not see", async () => {
      const p = await seedPerson(t, { login: false });
      // An attempt with the right password claims its slot, and is still checking its password...
      const { claimLoginAttempt, personSubject, recordSuccessfulLogin } = lockoutOnTarget();
      const claim = await claimLoginAttempt(personSubject(p.id));
      expect(claim.kind).to.equal("claimed");
      // ...while 4 wrong ones take slots 2..5 and lock the account.
      for (let i = 0; i < 4; i++) expectError(await wrongLogin(t, p.email, i), 401);
      expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } }), 423, "ACCOUNT_LOCKED");
      // The earlier success settles now: the lock stays.
      if (claim.kind === "claimed") await recordSuccessfulLogin(personSubject(p.id), claim, { set: { lastLoginAt: new Date().toISOString() }, remove: [] });
      expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } }), 423, "ACCOUNT_LOCKED");
      expect(Date.parse((await getItem(t, "PeopleTable", { id: p.id }))?.accountLockedUntil)).to.be.greaterThan(Date.now());
    });

    it("an unknown email locks after 5 failures too: a 423 does not reveal that an account exists", async () => {
      const email = uniqueEmail("nobody");
      for (let i = 0; i < 5; i++) expectError(await wrongLogin(t, email, i), 401, "INVALID_CREDENTIALS");
      expectError(await wrongLogin(t, email, 6), 423, "ACCOUNT_LOCKED");
    });

    it("the current password asked before sensitive changes is counted like a login (a stolen token cannot guess it)", async () => {
      const p = await seedPerson(t);
      for (let i = 0; i < 5; i++) {
        expectError(await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: `Guess-${i}-Pass!`, newPassword: strongPassword() } }), 401, "INVALID_CREDENTIALS");
      }
      expectError(await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: strongPassword() } }), 423, "ACCOUNT_LOCKED");
    });
  });

  describe("2. a user's bearer token does not lift the registration limits", () => {
    it("POST /people with a non-admin token still needs a CSRF token and counts against 10/hour per IP", async () => {
      const user = await seedPerson(t);
      const ip = newIp();
      const email = uniqueEmail("spam");
      expectError(await send(t, "POST", "/people", { ip, token: user.token, body: { firstName: "Buy cheap <a href=x>", lastName: "X", email } }), 403, "CSRF_INVALID");
      expect(emailsTo(t, email), "no welcome email without CSRF").to.have.length(0);
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const res = await send(t, "POST", "/people", { ip, token: user.token, headers: { "x-csrf-token": await csrf(t, ip) }, body: { firstName: "F", lastName: "L", email: uniqueEmail("spam") } });
        statuses.push(res.status);
      }
      // The first request above (403) counted too: 10 per hour in all.
      expect(statuses.filter((s) => s === 201), `statuses ${statuses}`).to.have.length(9);
      expectError(await send(t, "POST", "/people", { ip, token: user.token, headers: { "x-csrf-token": await csrf(t, ip) }, body: { firstName: "F", lastName: "L", email: uniqueEmail("spam") } }), 429, "RATE_LIMITED");
    });

    it("an admin's token still skips them", async () => {
      const admin = (await adminLogin(t)).token;
      const ip = newIp();
      for (let i = 0; i < 12; i++) expectStatus(await send(t, "POST", "/people", { ip, token: admin, body: { firstName: "A", lastName: "B", email: uniqueEmail("byadmin") } }), 201);
    });

    it("a CSRF token issued for another form is refused", async () => {
      const ip = newIp();
      const other = await csrf(t, ip, "default");
      expectError(await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": other }, body: { firstName: "F", lastName: "L", email: uniqueEmail("form") } }), 403, "CSRF_INVALID");
    });
  });

  describe("3. mixed-case legacy emails", () => {
    async function seedLegacy(): Promise<{ id: string; email: string; password: string }> {
      const id = randomUUID();
      const email = `Alice-${randomUUID().slice(0, 8)}@Example.test`;
      const password = strongPassword();
      const now = new Date().toISOString();
      // As the registry-api app writes it: the address as typed.
      await putItem(t, "PeopleTable", { id, firstName: "Alice", lastName: "Legacy", email, passwordHash: bcrypt.hashSync(password, 4), isActive: true, isAdmin: false, createdAt: now, updatedAt: now });
      return { id, email, password };
    }

    it("registering the lower-cased address of a mixed-case owner is 409, and the owner keeps their login and resets", async () => {
      const owner = await seedLegacy();
      const ip = newIp();
      const res = await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": await csrf(t, ip) }, body: { firstName: "Mallory", lastName: "M", email: owner.email.toLowerCase() } });
      expectError(res, 409, "EMAIL_EXISTS");
      expect((await queryIndex(t, "PeopleTable", "EmailIndex", "email", owner.email.toLowerCase())).length, "no look-alike stored").to.equal(0);
      await login(t, owner.email, owner.password);
      expectStatus(await send(t, "POST", "/auth/password-reset", { body: { email: owner.email } }), 200);
      expect(resetTokenFromEmail(t, owner.email), "the owner's mailbox gets the link").to.be.a("string");
    });

    it("changing one's email to a mixed-case owner's address (any case) is 409", async () => {
      const owner = await seedLegacy();
      const p = await seedPerson(t);
      const res = await send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { email: owner.email.toUpperCase(), currentPassword: p.password, version: 1 } });
      expectError(res, 409, "EMAIL_EXISTS");
      await login(t, owner.email, owner.password);
    });
  });

  describe("4. email change", () => {
    it("needs the current password: without it 400, with a wrong one 401, and nothing changes", async () => {
      const p = await seedPerson(t);
      const email = uniqueEmail("moved");
      expectError(await send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { email, version: 1 } }), 400, "VALIDATION_ERROR");
      expectError(await send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { email, currentPassword: "Not-The-1-Password!", version: 1 } }), 401, "INVALID_CREDENTIALS");
      expect((await getItem(t, "PeopleTable", { id: p.id }))?.email).to.equal(p.email);
    });

    it("with the password: the old address is told, other sessions end, and old reset links die", async () => {
      const p = await seedPerson(t);
      const other = await login(t, p.email, p.password);
      expectStatus(await send(t, "POST", "/auth/password-reset", { body: { email: p.email } }), 200);
      const oldLink = resetTokenFromEmail(t, p.email);
      expect(oldLink).to.be.a("string");
      const email = uniqueEmail("moved");
      expectStatus(await send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { email, currentPassword: p.password, version: 1 } }), 200);
      expect(emailsTo(t, p.email).some((m) => /email address .*changed/i.test(m.subject)), "notice to the old address").to.equal(true);
      expectError(await send(t, "GET", "/auth/me", { token: other.token }), 401);
      expectStatus(await send(t, "GET", "/auth/me", { token: p.token }), 200);
      expectError(await send(t, "GET", `/auth/password-reset?token=${encodeURIComponent(oldLink as string)}`), 400, "TOKEN_INVALID");
      await login(t, email, p.password);
    });
  });

  describe("5. reset links", () => {
    it("a password change revokes every outstanding link", async () => {
      const p = await seedPerson(t);
      expectStatus(await send(t, "POST", "/auth/password-reset", { body: { email: p.email } }), 200);
      const link = resetTokenFromEmail(t, p.email) as string;
      expectStatus(await send(t, "GET", `/auth/password-reset?token=${encodeURIComponent(link)}`), 200);
      expectStatus(await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: strongPassword() } }), 200);
      expectError(await send(t, "GET", `/auth/password-reset?token=${encodeURIComponent(link)}`), 400, "TOKEN_INVALID");
      expectError(await send(t, "POST", "/auth/password-reset/confirm", { body: { token: link, newPassword: strongPassword() } }), 400, "TOKEN_INVALID");
    });

    it("a newer link revokes the older one", async () => {
      const p = await seedPerson(t, { login: false });
      expectStatus(await send(t, "POST", "/auth/password-reset", { body: { email: p.email } }), 200);
      const first = resetTokenFromEmail(t, p.email) as string;
      expectStatus(await send(t, "POST", "/auth/password-reset", { body: { email: p.email } }), 200);
      const second = resetTokenFromEmail(t, p.email, new Set([first])) as string;
      expect(second).to.be.a("string").and.not.equal(first);
      expectError(await send(t, "GET", `/auth/password-reset?token=${encodeURIComponent(first)}`), 400, "TOKEN_INVALID");
      expectStatus(await send(t, "GET", `/auth/password-reset?token=${encodeURIComponent(second)}`), 200);
    });
  });

  describe("6. lower-severity holes", () => {
    it("forgot-password takes the same time for known and unknown emails (30 samples each; medians printed)", async () => {
      const p = await seedPerson(t, { login: false });
      const sample = async (email: string): Promise<number> => {
        const started = performance.now();
        expectStatus(await send(t, "POST", "/auth/password-reset", { body: { email } }), 200);
        return performance.now() - started;
      };
      const kinds = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? "known" : "unknown"));
      const times = await mapLimit(kinds, 4, (kind) => sample(kind === "known" ? p.email : uniqueEmail("ghost")));
      const known = median(times.filter((_, i) => kinds[i] === "known"));
      const unknown = median(times.filter((_, i) => kinds[i] === "unknown"));
      console.log(`      forgot-password medians: known ${known.toFixed(1)} ms, unknown ${unknown.toFixed(1)} ms (ratio ${(known / unknown).toFixed(2)})`);
      // Both wait for the same floor; a loose bound, since the machine is shared.
      expect(known / unknown).to.be.within(0.8, 1.25);
    });

    it("forgot-password is capped per IP across emails (10 per hour)", async () => {
      const ip = newIp();
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push((await send(t, "POST", "/auth/password-reset", { ip, body: { email: uniqueEmail("probe") } })).status);
      expect(statuses.slice(0, 10).every((s) => s === 200), `statuses ${statuses}`).to.equal(true);
      expect(statuses[10]).to.equal(429);
    });

    it("passwords over 72 bytes (bcrypt's limit) are refused; 72 bytes are accepted", async () => {
      const p = await seedPerson(t);
      const over = `Aa1!${"é".repeat(35)}`; // 74 bytes, 39 characters
      const exactly = `Aa1!${"é".repeat(34)}`; // 72 bytes
      rememberSecret(over);
      rememberSecret(exactly);
      const res = await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: over } });
      expectError(res, 400, "WEAK_PASSWORD");
      expect(res.json.details?.[0]?.message).to.match(/72 bytes/);
      expectStatus(await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: exactly } }), 200);
      await login(t, p.email, exactly);
    });

    it("a session ends 7 days after its login, however often it was refreshed", async () => {
      const p = await seedPerson(t);
      const sid = claims(p.token).sid;
      const almost = new Date(Date.now() - (7 * 24 - 1) * 3600_000).toISOString();
      await updateItem(t, "SessionTrackingTable", { sessionId: sid }, { createdAt: almost });
      const refreshed = await send(t, "POST", "/auth/refresh", { token: p.token });
      expectStatus(refreshed, 200);
      const exp = claims(refreshed.json.accessToken).exp;
      expect(exp, "capped at the session's end").to.be.at.most(Math.floor(Date.parse(almost) / 1000) + 7 * 24 * 3600);
      await updateItem(t, "SessionTrackingTable", { sessionId: sid }, { createdAt: new Date(Date.now() - 8 * 24 * 3600_000).toISOString() });
      expectError(await send(t, "POST", "/auth/refresh", { token: refreshed.json.accessToken }), 401);
      expectError(await send(t, "GET", "/auth/me", { token: refreshed.json.accessToken }), 401);
    });

    it("requirePasswordChange is enforced: only PUT /auth/password and logout until it is changed", async () => {
      const p = await seedPerson(t, { extra: { requirePasswordChange: true } });
      expectError(await send(t, "GET", "/auth/me", { token: p.token }), 403, "PASSWORD_CHANGE_REQUIRED");
      expectError(await send(t, "GET", `/people/${p.id}`, { token: p.token }), 403, "PASSWORD_CHANGE_REQUIRED");
      expectStatus(await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: strongPassword() } }), 200);
      expectStatus(await send(t, "GET", "/auth/me", { token: p.token }), 200);
    });

    it("an unknown email's failed-login audit row expires (TTL), the others do not", async () => {
      const email = uniqueEmail("typed");
      const since = new Date(Date.now() - 1000).toISOString();
      expectError(await wrongLogin(t, email, 1), 401);
      const rows = (await queryIndex(t, "AuditLogsTable", "ActionIndex", "action", "LOGIN_FAILED")).filter((r) => r.timestamp >= since && r.details?.email === email);
      expect(rows).to.have.length(1);
      expect(rows[0].ttl - Date.now() / 1000).to.be.within(29 * 24 * 3600, 31 * 24 * 3600);
      const p = await seedPerson(t, { login: false });
      expectError(await wrongLogin(t, p.email, 1), 401);
      const own = await queryIndex(t, "AuditLogsTable", "PersonIndex", "personId", p.id);
      expect(own.map((r) => r.action)).to.include("LOGIN_FAILED");
      expect(own.every((r) => r.ttl === undefined), "a known person's rows are kept").to.equal(true);
    });
  });

  describe("a real 500", () => {
    const fault = ENV.localFaultRoute;
    afterEach(() => {
      delete process.env[fault];
      delete process.env.AWS_EXECUTION_ENV;
    });

    it("a route that fails on purpose answers 500 INTERNAL with a request id and nothing else", async () => {
      process.env[fault] = "GET /projects";
      const res = await send(t, "GET", "/projects");
      expectError(res, 500, "INTERNAL");
      expect(Object.keys(res.json).sort()).to.deep.equal(["code", "detail", "error", "requestId"]);
      expect(res.json.detail).to.equal(res.json.error); // FastAPI's field for the frontend: the same human message
      expect(res.json.requestId).to.be.a("string").and.not.equal("");
      for (const leak of ["injected", "stack", "Error", " at ", ".ts", ".js", "/work", t.env[ENV.jwtSecret], t.env[ENV.csrfSecret]]) {
        expect(res.text, `body leaks ${leak.slice(0, 12)}`).not.to.include(leak);
      }
      expect(res.headers["x-content-type-options"]).to.equal("nosniff");
    });

    it("the fault hook cannot be switched on inside Lambda", async () => {
      process.env[fault] = "GET /projects";
      process.env.AWS_EXECUTION_ENV = "AWS_Lambda_nodejs22.x";
      expectStatus(await send(t, "GET", "/projects"), 200);
    });
  });
});
