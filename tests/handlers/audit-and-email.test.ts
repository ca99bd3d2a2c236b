// The audit log and the email tracking rows: every documented action is written, in the contract's
// field names, and no password, hash or token is ever stored in them.
import { expect } from "chai";
import {
  adminLogin,
  assertNoSecretsStored,
  createProject,
  csrf,
  expectStatus,
  type LocalTarget,
  login,
  newIp,
  queryIndex,
  resetTokenFromEmail,
  scanAll,
  seedPerson,
  send,
  sharedTarget,
  strongPassword,
  uniqueEmail,
} from "./helpers";

const ACTIONS = [
  "LOGIN_SUCCESS",
  "LOGIN_FAILED",
  "ACCOUNT_LOCKED",
  "LOGOUT",
  "PASSWORD_CHANGED",
  "PASSWORD_RESET_REQUESTED",
  "PASSWORD_RESET_COMPLETED",
  "PERSON_CREATED",
  "PERSON_UPDATED",
  "PERSON_DELETED",
  "PROJECT_CREATED",
  "PROJECT_UPDATED",
  "PROJECT_DELETED",
  "SUBSCRIPTION_CREATED",
  "SUBSCRIPTION_DELETED",
];

describe("handlers: audit log and email tracking", function () {
  this.timeout(180_000); // the first start of the shared target may fetch DynamoDB Local
  let t: LocalTarget;
  before(async () => {
    t = await sharedTarget();
  });

  it("every documented audit action is written with the contract's fields, and none carries a secret", async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const admin = (await adminLogin(t)).token;
    // Accounts: a lockout, a logout, a password change, a reset, an update and a deletion.
    const locked = await seedPerson(t, { login: false });
    for (let i = 0; i < 5; i++) await send(t, "POST", "/auth/login", { body: { email: locked.email, password: "Wrong-Pass-1!" } });
    const p = await seedPerson(t);
    const second = await login(t, p.email, p.password);
    expectStatus(await send(t, "POST", "/auth/logout", { token: second.token }), 200);
    const changed = strongPassword();
    expectStatus(await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: changed } }), 200);
    expectStatus(await send(t, "POST", "/auth/password-reset", { body: { email: p.email } }), 200);
    const token = resetTokenFromEmail(t, p.email);
    expectStatus(await send(t, "POST", "/auth/password-reset/confirm", { body: { token, newPassword: strongPassword() } }), 200);
    const created = await send(t, "POST", "/people", { token: admin, body: { firstName: "Audit", lastName: "Trail", email: `audit-${Date.now()}@example.test` } });
    expectStatus(created, 201);
    const personId = created.json.id;
    expectStatus(await send(t, "PUT", `/people/${personId}`, { token: admin, body: { lastName: "Trailed", version: created.json.version } }), 200);
    // Projects and subscriptions.
    const u = await seedPerson(t);
    const project = await createProject(t, admin);
    expectStatus(await send(t, "PUT", `/projects/${project.id}`, { token: admin, body: { description: "Changed", version: project.version } }), 200);
    expectStatus(await send(t, "POST", `/projects/${project.id}/subscribe/${u.id}`, { token: u.token }), 201);
    expectStatus(await send(t, "DELETE", `/projects/${project.id}/unsubscribe/${u.id}`, { token: u.token }), 204);
    expectStatus(await send(t, "DELETE", `/projects/${project.id}`, { token: admin }), 204);
    expectStatus(await send(t, "DELETE", `/people/${personId}`, { token: admin }), 204);

    for (const action of ACTIONS) {
      const entries = (await queryIndex(t, "AuditLogsTable", "ActionIndex", "action", action)).filter((e) => e.timestamp >= since);
      expect(entries.length, `${action} entries since the test began`).to.be.greaterThan(0);
      for (const e of entries) {
        // The eight fields the contract (and the registry-api app) reads, with their types.
        for (const key of ["id", "timestamp", "personId", "action", "ipAddress", "userAgent"]) expect(e[key], `${action}.${key}`).to.be.a("string");
        expect(e.success, `${action}.success`).to.be.a("boolean");
        expect(e.details, `${action}.details`).to.be.an("object");
        expect(Date.parse(e.timestamp), `${action}.timestamp`).to.not.be.NaN;
      }
    }
    assertNoSecretsStored(await scanAll(t, "AuditLogsTable"), "AuditLogsTable");
  });

  it("every email sent has a tracking row (template, recipient, status, TTL) and no row carries a link or token", async () => {
    const p = await seedPerson(t, { login: false });
    expectStatus(await send(t, "POST", "/auth/password-reset", { body: { email: p.email } }), 200);
    expect(resetTokenFromEmail(t, p.email), "the emailed token").to.be.a("string");
    const rows = await queryIndex(t, "EmailTrackingTable", "RecipientIndex", "recipientEmail", p.email);
    expect(rows.map((r) => r.templateType)).to.include("password_reset");
    for (const r of rows) {
      expect(r.status).to.be.a("string");
      expect(r.ttl).to.be.a("number");
    }
    const all = await scanAll(t, "EmailTrackingTable");
    expect(JSON.stringify(all)).to.not.match(/reset-password\?token=/);
    assertNoSecretsStored(all, "EmailTrackingTable");
  });

  it("no table stores a password or a token in plain text (hashes only where the contract keeps them)", async () => {
    // Make sure each table holds something written just now: a public registration uses a CSRF token.
    const ip = newIp();
    expectStatus(await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": await csrf(t, ip) }, body: { firstName: "C", lastName: "T", email: uniqueEmail("stored") } }), 201);
    for (const table of ["PasswordResetTokensTable", "RateLimitTable", "CSRFTokenTable", "SessionTrackingTable"] as const) {
      const items = await scanAll(t, table);
      expect(items.length, `${table} has items to check`).to.be.greaterThan(0);
      assertNoSecretsStored(items, table);
    }
    // People and password history keep bcrypt hashes by design: no plain text there either.
    assertNoSecretsStored(await scanAll(t, "PeopleTable"), "PeopleTable", { allowHashes: true });
    assertNoSecretsStored(await scanAll(t, "PasswordHistoryTable"), "PasswordHistoryTable", { allowHashes: true });
  });
});
