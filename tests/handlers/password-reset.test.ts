// The password-reset flow: request (public + CSRF-free per the route table, rate-limited), check,
// confirm; and the admin-triggered reset.
import { expect } from "chai";
import {
  adminLogin,
  emailsTo,
  expectError,
  expectStatus,
  getItem,
  type LocalTarget,
  login,
  newIp,
  queryIndex,
  resetTokenFromEmail,
  resetTokensFromEmails,
  seedPerson,
  send,
  sharedTarget,
  strongPassword,
  uniqueEmail,
  updateItem,
} from "./helpers";

describe("handlers: password reset", function () {
  this.timeout(180_000); // the first start of the shared target may fetch DynamoDB Local
  let t: LocalTarget;
  before(async () => {
    t = await sharedTarget();
  });

  /** Request a reset for `email` and return the token from the emailed link. */
  async function requestReset(email: string): Promise<string> {
    const res = await send(t, "POST", "/auth/password-reset", { body: { email } });
    expectStatus(res, 200);
    const token = resetTokenFromEmail(t, email);
    expect(token, "a reset link was emailed").to.be.a("string");
    return token!;
  }

  it("POST /auth/password-reset answers the same generic 200 whether or not the email exists", async () => {
    const p = await seedPerson(t, { login: false });
    const known = await send(t, "POST", "/auth/password-reset", { body: { email: p.email } });
    const unknown = await send(t, "POST", "/auth/password-reset", { body: { email: uniqueEmail("ghost") } });
    expectStatus(known, 200);
    expectStatus(unknown, 200);
    expect(known.json).to.deep.equal(unknown.json);
  });

  it("emails <frontendUrl>/reset-password?token=… only to a person that exists", async () => {
    const p = await seedPerson(t, { login: false });
    const ghost = uniqueEmail("ghost");
    await send(t, "POST", "/auth/password-reset", { body: { email: p.email } });
    await send(t, "POST", "/auth/password-reset", { body: { email: ghost } });
    const mails = emailsTo(t, p.email);
    const frontend = (t.env.FRONTEND_URL ?? "").replace(/\/+$/, "");
    expect(frontend).to.not.equal("");
    expect(mails.some((m) => m.text.includes(`${frontend}/reset-password?token=`))).to.equal(true);
    expect(emailsTo(t, ghost)).to.have.length(0);
  });

  it("rejects a missing or malformed email with 400", async () => {
    expectError(await send(t, "POST", "/auth/password-reset", {}), 400);
    expectError(await send(t, "POST", "/auth/password-reset", { body: { email: "not-an-email" } }), 400);
    expectError(await send(t, "POST", "/auth/password-reset", { body: { email: "a@example.test", extra: 1 } }), 400);
  });

  it("GET /auth/password-reset?token= answers {valid:true, expiresAt} for a live token and 400 TOKEN_INVALID otherwise", async () => {
    const p = await seedPerson(t, { login: false });
    const token = await requestReset(p.email);
    const ok = await send(t, "GET", `/auth/password-reset?token=${encodeURIComponent(token)}`);
    expectStatus(ok, 200);
    expect(ok.json.valid).to.equal(true);
    expect(ok.json.expiresAt).to.be.a("string");
    expectError(await send(t, "GET", `/auth/password-reset?token=${"x".repeat(43)}`), 400, "TOKEN_INVALID");
    expectError(await send(t, "GET", `/auth/password-reset`), 400);
  });

  it("confirm sets the new password, ends every session, is single use and emails a notice", async () => {
    const p = await seedPerson(t);
    const token = await requestReset(p.email);
    const before = emailsTo(t, p.email).length;
    const newPassword = strongPassword();
    const res = await send(t, "POST", "/auth/password-reset/confirm", { body: { token, newPassword } });
    expectStatus(res, 200);
    expectError(await send(t, "GET", "/auth/me", { token: p.token }), 401);
    expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } }), 401, "INVALID_CREDENTIALS");
    await login(t, p.email, newPassword);
    expect(emailsTo(t, p.email).length, "a password-changed notice").to.be.greaterThan(before);
    // Single use.
    expectError(await send(t, "POST", "/auth/password-reset/confirm", { body: { token, newPassword: strongPassword() } }), 400, "TOKEN_INVALID");
    expectError(await send(t, "GET", `/auth/password-reset?token=${encodeURIComponent(token)}`), 400, "TOKEN_INVALID");
  });

  it("confirm refuses a weak password and an unknown token, and keeps the token usable after a weak attempt", async () => {
    const p = await seedPerson(t, { login: false });
    const token = await requestReset(p.email);
    expectError(await send(t, "POST", "/auth/password-reset/confirm", { body: { token, newPassword: "weak" } }), 400);
    expectError(await send(t, "POST", "/auth/password-reset/confirm", { body: { token: "y".repeat(43), newPassword: strongPassword() } }), 400, "TOKEN_INVALID");
    expectError(await send(t, "POST", "/auth/password-reset/confirm", { body: { token } }), 400);
    expectStatus(await send(t, "POST", "/auth/password-reset/confirm", { body: { token, newPassword: strongPassword() } }), 200);
  });

  it("an expired token (TTL passed, item not yet swept) is refused", async () => {
    const p = await seedPerson(t, { login: false });
    const token = await requestReset(p.email);
    const [item] = await queryIndex(t, "PasswordResetTokensTable", "EmailIndex", "email", p.email);
    expect(item, "the stored reset item").to.not.equal(undefined);
    await updateItem(t, "PasswordResetTokensTable", { resetToken: item.resetToken }, { expiresAt: Math.floor(Date.now() / 1000) - 60 });
    expectError(await send(t, "POST", "/auth/password-reset/confirm", { body: { token, newPassword: strongPassword() } }), 400, "TOKEN_INVALID");
  });

  describe("POST /admin/password-reset", () => {
    it("sends the person a reset link, sets requirePasswordChange and answers {personId, emailed:true}", async () => {
      const admin = await adminLogin(t);
      const p = await seedPerson(t, { login: false });
      const res = await send(t, "POST", "/admin/password-reset", { token: admin.token, body: { personId: p.id } });
      expectStatus(res, 200);
      expect(res.json).to.deep.include({ personId: p.id, emailed: true });
      expect((await getItem(t, "PeopleTable", { id: p.id }))?.requirePasswordChange).to.equal(true);
      const [token] = resetTokensFromEmails(t, p.email);
      expect(token, "reset link emailed").to.be.a("string");
      expectStatus(await send(t, "POST", "/auth/password-reset/confirm", { body: { token, newPassword: strongPassword() } }), 200);
    });

    it("answers 404 for an unknown person, 400 for a bad id, 403 for a non-admin, 401 anonymous", async () => {
      const admin = await adminLogin(t);
      const user = await seedPerson(t);
      expectError(await send(t, "POST", "/admin/password-reset", { token: admin.token, body: { personId: "8d1f4a2e-0b6c-4e1d-9f3a-1c2b3d4e5f60" } }), 404);
      expectError(await send(t, "POST", "/admin/password-reset", { token: admin.token, body: { personId: "nope" } }), 400);
      expectError(await send(t, "POST", "/admin/password-reset", { token: user.token, body: { personId: user.id } }), 403);
      expectError(await send(t, "POST", "/admin/password-reset", { body: { personId: user.id }, ip: newIp() }), 401);
    });
  });
});
