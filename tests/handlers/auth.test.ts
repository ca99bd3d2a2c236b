// /auth/login, /auth/logout, /auth/me, /auth/refresh and PUT /auth/password: success and each
// documented failure.
import { expect } from "chai";
import {
  adminLogin,
  claims,
  emailsTo,
  expectError,
  expectStatus,
  getItem,
  type LocalTarget,
  login,
  queryIndex,
  seedPerson,
  send,
  sharedTarget,
  strongPassword,
} from "./helpers";

const SAFE_VIEW = ["id", "firstName", "lastName", "email", "phone", "dateOfBirth", "address", "isAdmin", "isActive", "requirePasswordChange", "createdAt", "updatedAt", "version"];
const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe("handlers: /auth routes", function () {
  this.timeout(180_000); // the first start of the shared target may fetch DynamoDB Local
  let t: LocalTarget;
  before(async () => {
    t = await sharedTarget();
  });

  describe("POST /auth/login", () => {
    it("answers {success, accessToken, expiresAt, user} with the safe view and the contract's claims", async () => {
      const p = await seedPerson(t, { login: false });
      const { res, token } = await login(t, p.email, p.password);
      expect(res.json.success).to.equal(true);
      expect(res.json.expiresAt).to.match(ISO_Z);
      expect(res.json.user.id).to.equal(p.id);
      expect(res.json.user.requirePasswordChange).to.equal(false);
      for (const key of Object.keys(res.json.user)) expect(SAFE_VIEW, `user.${key}`).to.include(key);
      const c = claims(token);
      expect(c).to.include({ sub: p.id, email: p.email, firstName: "Test", lastName: "User", isAdmin: false });
      expect(c.sid).to.be.a("string");
      expect(c.iat).to.be.a("number");
      expect(c.exp - c.iat).to.equal(Number(t.env.JWT_EXPIRATION_HOURS ?? 24) * 3600);
      expect(c).to.not.have.property("aud");
      const header = JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());
      expect(header.alg).to.equal("HS256");
      // The session exists and is active.
      const session = await getItem(t, "SessionTrackingTable", { sessionId: c.sid });
      expect(session).to.include({ userId: p.id, isActive: true });
    });

    it("accepts the email in any case", async () => {
      const p = await seedPerson(t, { login: false });
      await login(t, p.email.toUpperCase(), p.password);
    });

    it("unknown email, wrong password and an account with no password all answer the same 401 INVALID_CREDENTIALS", async () => {
      const p = await seedPerson(t, { login: false });
      const nopw = await seedPerson(t, { login: false, extra: { passwordHash: undefined } });
      const answers = [
        await send(t, "POST", "/auth/login", { body: { email: "nobody-" + p.email, password: p.password } }),
        await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password + "x" } }),
        await send(t, "POST", "/auth/login", { body: { email: nopw.email, password: nopw.password } }),
      ];
      for (const res of answers) expectError(res, 401, "INVALID_CREDENTIALS");
      expect(new Set(answers.map((r) => r.json.error)).size, "same message for all three").to.equal(1);
    });

    it("rejects a missing body, malformed JSON and missing fields with 400", async () => {
      expectError(await send(t, "POST", "/auth/login", {}), 400);
      expectError(await send(t, "POST", "/auth/login", { raw: "{bad json", headers: { "content-type": "application/json" } }), 400, "INVALID_JSON");
      expectError(await send(t, "POST", "/auth/login", { body: { email: "a@example.test" } }), 400);
      expectError(await send(t, "POST", "/auth/login", { body: { email: 42, password: "x" } }), 400);
    });

    it("an inactive account cannot log in", async () => {
      const p = await seedPerson(t, { login: false, extra: { isActive: false } });
      const res = await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } });
      expect(res.status).to.be.oneOf([401, 403]);
      expect(res.json.accessToken).to.equal(undefined);
    });

    it("stamps lastLoginAt and writes a LOGIN_SUCCESS audit entry (no secret in details)", async () => {
      const p = await seedPerson(t);
      const item = await getItem(t, "PeopleTable", { id: p.id });
      expect(item?.lastLoginAt).to.match(ISO_Z);
      const audit = await queryIndex(t, "AuditLogsTable", "PersonIndex", "personId", p.id);
      const success = audit.find((a) => a.action === "LOGIN_SUCCESS");
      expect(success, "LOGIN_SUCCESS entry").to.not.equal(undefined);
      expect(JSON.stringify(audit)).to.not.include(p.password);
      expect(JSON.stringify(audit)).to.not.match(/\$2[aby]\$/);
      expect(JSON.stringify(audit)).to.not.include(p.token);
    });
  });

  describe("GET /auth/me", () => {
    it("answers the signed-in person's safe view", async () => {
      const p = await seedPerson(t);
      const res = await send(t, "GET", "/auth/me", { token: p.token });
      expectStatus(res, 200);
      expect(res.json.success).to.equal(true);
      expect(res.json.user).to.include({ id: p.id, email: p.email });
      for (const key of Object.keys(res.json.user)) expect(SAFE_VIEW, `user.${key}`).to.include(key);
    });

    it("answers 401 without a token or with garbage", async () => {
      expectError(await send(t, "GET", "/auth/me"), 401);
      expectError(await send(t, "GET", "/auth/me", { token: "garbage" }), 401);
      expectError(await send(t, "GET", "/auth/me", { headers: { authorization: "Basic Zm9vOmJhcg==" } }), 401);
    });
  });

  describe("POST /auth/logout", () => {
    it("ends the token's own session: the token is 401 afterwards", async () => {
      const p = await seedPerson(t);
      const res = await send(t, "POST", "/auth/logout", { token: p.token });
      expectStatus(res, 200);
      expect(res.json.success).to.equal(true);
      expectError(await send(t, "GET", "/auth/me", { token: p.token }), 401);
      const session = await getItem(t, "SessionTrackingTable", { sessionId: claims(p.token).sid });
      expect(session?.isActive).to.equal(false);
    });

    it("answers 401 without a token", async () => {
      expectError(await send(t, "POST", "/auth/logout"), 401);
    });
  });

  describe("POST /auth/refresh", () => {
    it("answers a new token for the same session with a later exp", async () => {
      const p = await seedPerson(t);
      const before = claims(p.token);
      await new Promise((r) => setTimeout(r, 1100)); // iat/exp have one-second resolution
      const res = await send(t, "POST", "/auth/refresh", { token: p.token });
      expectStatus(res, 200);
      const fresh: string = res.json.accessToken ?? res.json.token;
      expect(fresh).to.be.a("string").and.not.equal(p.token);
      const after = claims(fresh);
      expect(after.sid).to.equal(before.sid);
      expect(after.sub).to.equal(p.id);
      expect(after.exp).to.be.greaterThan(before.exp);
      expectStatus(await send(t, "GET", "/auth/me", { token: fresh }), 200);
    });

    it("answers 401 for an ended session", async () => {
      const p = await seedPerson(t);
      await send(t, "POST", "/auth/logout", { token: p.token });
      expectError(await send(t, "POST", "/auth/refresh", { token: p.token }), 401);
    });
  });

  describe("PUT /auth/password", () => {
    it("changes the password, keeps this session, ends the others, clears requirePasswordChange and emails a notice", async () => {
      const p = await seedPerson(t, { extra: { requirePasswordChange: true } });
      const other = await login(t, p.email, p.password);
      const newPassword = strongPassword();
      const res = await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword } });
      expectStatus(res, 200);
      expectStatus(await send(t, "GET", "/auth/me", { token: p.token }), 200);
      expectError(await send(t, "GET", "/auth/me", { token: other.token }), 401);
      const item = await getItem(t, "PeopleTable", { id: p.id });
      expect(item?.requirePasswordChange).to.equal(false);
      expect(item?.passwordHash).to.match(/^\$2[ab]\$\d\d\$/);
      expect(item).to.not.have.property("password");
      expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } }), 401, "INVALID_CREDENTIALS");
      await login(t, p.email, newPassword);
      expect(emailsTo(t, p.email).length, "password-changed notice").to.be.greaterThan(0);
    });

    it("rejects a wrong current password and keeps the old one", async () => {
      const p = await seedPerson(t);
      const res = await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: "Wrong-Pass-1!", newPassword: strongPassword() } });
      expect(res.status).to.be.oneOf([400, 401, 403]);
      expectError(res, res.status);
      await login(t, p.email, p.password);
    });

    it("enforces the policy: length, classes, not the current password", async () => {
      const p = await seedPerson(t);
      for (const weak of ["Sh0rt!", "alllowercase1!", "ALLUPPERCASE1!", "NoDigitsHere!", "NoSpecial123", "A1!" + "a".repeat(126)]) {
        const res = await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: weak } });
        expectError(res, 400, "WEAK_PASSWORD");
        expect(res.json.details?.[0]).to.include({ field: "newPassword", code: "password_policy" });
      }
      const same = await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: p.password } });
      expectError(same, 400, "PASSWORD_REUSED");
      await login(t, p.email, p.password);
    });

    it("refuses any of the last 5 passwords before the current one, and allows the 6th-oldest", async () => {
      const p = await seedPerson(t);
      let current = p.password;
      const token = p.token;
      const used = [current];
      for (let i = 0; i < 6; i++) {
        const next = strongPassword();
        expectStatus(await send(t, "PUT", "/auth/password", { token, body: { currentPassword: current, newPassword: next } }), 200);
        used.push(next);
        current = next;
      }
      // used[6] is current; used[5]..used[1] are the last five before it: each refused.
      for (const old of used.slice(1, 6)) {
        expectError(await send(t, "PUT", "/auth/password", { token, body: { currentPassword: current, newPassword: old } }), 400, "PASSWORD_REUSED");
      }
      // used[0] is the 6th-oldest: allowed again.
      expectStatus(await send(t, "PUT", "/auth/password", { token, body: { currentPassword: current, newPassword: used[0] } }), 200);
      await login(t, p.email, used[0]);
    });

    it("rejects unknown fields and answers 401 without a token", async () => {
      const p = await seedPerson(t);
      expectError(await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: strongPassword(), isAdmin: true } }), 400);
      expectError(await send(t, "PUT", "/auth/password", { body: { currentPassword: p.password, newPassword: strongPassword() } }), 401);
    });
  });

  it("the seeded admin can log in", async () => {
    const admin = await adminLogin(t);
    expect(claims(admin.token).isAdmin).to.equal(true);
  });
});
