// The twelve faults of the old handlers (api-contract.md, "What the old handlers got wrong"), one
// test each, named by number.
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { SignJWT } from "jose";
import { DeleteTableCommand } from "@aws-sdk/client-dynamodb";
import { bundleHandlers } from "../../automation/shared/build";
import { createTables, localDynamoClient } from "../../automation/local/tables";
import { LOCAL_TABLE_PREFIX } from "../../automation/local/target";
import { RATE_LIMITS } from "../../handlers/contract";
import {
  adminLogin,
  claims,
  createProject,
  csrf,
  deleteItem,
  emailsTo,
  expectError,
  expectStatus,
  getItem,
  type LocalTarget,
  login,
  mapLimit,
  newIp,
  personByEmail,
  putItem,
  queryIndex,
  roomInWindow,
  resetTokenFromEmail,
  scanAll,
  seedPerson,
  send,
  sha256Encodings,
  sharedTarget,
  strongPassword,
  uniqueEmail,
} from "./helpers";

const ALLOWED_PERSON_FIELDS = ["id", "firstName", "lastName", "email", "phone", "dateOfBirth", "address", "isAdmin", "isActive", "requirePasswordChange", "createdAt", "updatedAt", "version"];

describe("handlers: the old handlers' faults, fixed", function () {
  this.timeout(180_000); // the first start of the shared target may fetch DynamoDB Local
  let t: LocalTarget;
  let admin: string;
  before(async () => {
    t = await sharedTarget();
    admin = (await adminLogin(t)).token;
  });

  it("fault 1: data and admin routes require authorization, and identity comes from the token, never the body", async () => {
    const victim = await seedPerson(t);
    const attacker = await seedPerson(t);
    const project = await createProject(t, admin);
    for (const [method, p] of [
      ["GET", "/people"],
      ["GET", `/people/${victim.id}`],
      ["DELETE", `/people/${victim.id}`],
      ["GET", "/subscriptions"],
      ["GET", "/admin/dashboard"],
      ["GET", `/projects/${project.id}/subscribers`],
    ] as const) {
      expectError(await send(t, method, p), 401);
    }
    // Naming someone else in the body does not act as them.
    expectError(await send(t, "POST", "/subscriptions", { token: attacker.token, body: { personId: victim.id, projectId: project.id } }), 403);
    expect(await queryIndex(t, "SubscriptionsTable", "PersonIndex", "personId", victim.id)).to.have.length(0);
    expectError(await send(t, "PUT", `/people/${victim.id}`, { token: attacker.token, body: { firstName: "X", version: 1 } }), 403);
  });

  it("fault 2: GET /people returns the safe view only — no password hashes or lockout fields", async () => {
    const locked = await seedPerson(t, { login: false, extra: { failedLoginAttempts: 3, accountLockedUntil: new Date(Date.now() - 1000).toISOString(), password: "$2b$04$legacylegacylegacylegacyOe7g6CQdCdJkG0xkZyWTeW2l0vZm" } });
    let next: string | undefined;
    let found = false;
    let pages = 0;
    do {
      const res = await send(t, "GET", `/people?limit=100${next ? `&nextToken=${encodeURIComponent(next)}` : ""}`, { token: admin });
      expectStatus(res, 200);
      for (const person of res.json) {
        for (const key of Object.keys(person)) expect(ALLOWED_PERSON_FIELDS, `person.${key}`).to.include(key);
        if (person.id === locked.id) found = true;
      }
      next = res.headers["x-next-token"];
      pages++;
    } while (next && pages < 100);
    expect(found).to.equal(true);
  });

  it("fault 3: signatures are always verified — unsigned and re-signed tokens are refused by both functions", async () => {
    const p = await seedPerson(t);
    const c = claims(p.token);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64(c)}.`;
    const noSignature = p.token.split(".").slice(0, 2).join(".") + ".";
    const noSignatureAtAll = p.token.split(".").slice(0, 2).join(".");
    for (const token of [unsigned, noSignature, noSignatureAtAll]) {
      expectError(await send(t, "GET", "/auth/me", { token }), 401); // auth function
      expectError(await send(t, "GET", `/people/${p.id}`, { token }), 401); // api function
    }
  });

  it("fault 4: one configured secret for both functions; no secret is a literal in the bundles", async () => {
    const p = await seedPerson(t);
    // A token issued by the auth function works on the api function, and a refreshed one too.
    expectStatus(await send(t, "GET", `/people/${p.id}`, { token: p.token }), 200);
    const refreshed = await send(t, "POST", "/auth/refresh", { token: p.token });
    expectStatus(refreshed, 200);
    expectStatus(await send(t, "GET", `/people/${p.id}`, { token: refreshed.json.accessToken ?? refreshed.json.token }), 200);
    // Tokens signed with the usual placeholder secrets are refused.
    for (const literal of ["your-secret-key", "secret", "change-me", "your-jwt-secret-key-change-in-production", "default-secret"]) {
      const forged = await new SignJWT(claims(p.token)).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(literal));
      expectError(await send(t, "GET", `/people/${p.id}`, { token: forged }), 401);
    }
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "fault4-"));
    try {
      for (const b of Object.values(bundleHandlers({ outDir }))) {
        const code = fs.readFileSync(b.file, "utf8");
        expect(code, `${b.fn} bundle`).to.not.include(t.env.JWT_SECRET);
        expect(code, `${b.fn} bundle`).to.not.include(t.env.CSRF_SECRET);
        expect(code, `${b.fn} bundle`).to.not.match(/your-secret-key|change-me|your-jwt-secret/i);
      }
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });

  it("fault 5: login reads passwordHash, password change writes passwordHash, a legacy `password` hash is migrated", async () => {
    const p = await seedPerson(t);
    const next = strongPassword();
    expectStatus(await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: next } }), 200);
    const item = await getItem(t, "PeopleTable", { id: p.id });
    expect(item?.passwordHash).to.match(/^\$2[ab]\$\d\d\$/);
    expect(item).to.not.have.property("password");
    await login(t, p.email, next);
    // Legacy: the hash sits in `password` only.
    const legacy = await seedPerson(t, { login: false });
    const stored = await getItem(t, "PeopleTable", { id: legacy.id });
    await putItem(t, "PeopleTable", { ...stored, password: stored?.passwordHash, passwordHash: undefined });
    await login(t, legacy.email, legacy.password);
    const migrated = await getItem(t, "PeopleTable", { id: legacy.id });
    expect(migrated?.passwordHash).to.equal(stored?.passwordHash);
    expect(migrated).to.not.have.property("password");
    await login(t, legacy.email, legacy.password);
  });

  it("fault 6: the deployed login has a lockout (423 after 5) and a rate limit (429 after 10 per IP+email)", async () => {
    const p = await seedPerson(t, { login: false });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await send(t, "POST", "/auth/login", { body: { email: p.email, password: "Wrong-Pass-1!" } })).status);
    expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 423]);
    await roomInWindow(RATE_LIMITS.login[0].windowSeconds, 30);
    const ip = newIp();
    const ghost = uniqueEmail("ghost");
    const limited: number[] = [];
    for (let i = 0; i < 11; i++) limited.push((await send(t, "POST", "/auth/login", { ip, body: { email: ghost, password: "Wrong-Pass-1!" } })).status);
    // An unknown email locks like an account (a 423 reveals nothing); the limit still answers the 11th.
    expect(limited).to.deep.equal([...Array(5).fill(401), ...Array(5).fill(423), 429]);
  });

  it("fault 7: reset tokens are stored hashed, only for known emails, emailed, confirmable, with an epoch-seconds TTL", async () => {
    const p = await seedPerson(t, { login: false });
    const ghost = uniqueEmail("ghost");
    expectStatus(await send(t, "POST", "/auth/password-reset", { body: { email: ghost } }), 200);
    expect(await queryIndex(t, "PasswordResetTokensTable", "EmailIndex", "email", ghost), "nothing stored for an unknown email").to.have.length(0);
    expectStatus(await send(t, "POST", "/auth/password-reset", { body: { email: p.email } }), 200);
    const token = resetTokenFromEmail(t, p.email);
    expect(token, "the token was emailed").to.be.a("string");
    const items = await queryIndex(t, "PasswordResetTokensTable", "EmailIndex", "email", p.email);
    expect(items).to.have.length(1);
    const [item] = items;
    expect(item.resetToken).to.not.equal(token);
    expect(sha256Encodings(token!), "the key is SHA-256 of the emailed token").to.include(item.resetToken);
    expect(JSON.stringify(item)).to.not.include(token);
    expect(item.expiresAt, "TTL attribute is a Number").to.be.a("number");
    expect(item.expiresAt - Date.now() / 1000).to.be.within(3500, 3700);
    expectStatus(await send(t, "POST", "/auth/password-reset/confirm", { body: { token, newPassword: strongPassword() } }), 200);
  });

  it("fault 8: logout ends only its own session; refresh keeps one session", async () => {
    const p = await seedPerson(t);
    const second = await login(t, p.email, p.password);
    const sessionsBefore = (await queryIndex(t, "SessionTrackingTable", "UserIndex", "userId", p.id)).filter((s) => s.isActive === true);
    expect(sessionsBefore).to.have.length(2);
    for (let i = 0; i < 3; i++) expectStatus(await send(t, "POST", "/auth/refresh", { token: second.token }), 200);
    const afterRefresh = (await queryIndex(t, "SessionTrackingTable", "UserIndex", "userId", p.id)).filter((s) => s.isActive === true);
    expect(afterRefresh.map((s) => s.sessionId).sort()).to.deep.equal(sessionsBefore.map((s) => s.sessionId).sort());
    expectStatus(await send(t, "POST", "/auth/logout", { token: p.token }), 200);
    expectError(await send(t, "GET", "/auth/me", { token: p.token }), 401);
    expectStatus(await send(t, "GET", "/auth/me", { token: second.token }), 200);
    expect((await getItem(t, "SessionTrackingTable", { sessionId: claims(second.token).sid }))?.isActive).to.equal(true);
  });

  it("fault 9: passwords and text are stored exactly as given (no sanitising)", async () => {
    const p = await seedPerson(t);
    const tricky = `Pa<ss>&"wörd' ${randomUUID().slice(0, 6)} 1;--`;
    expectStatus(await send(t, "PUT", "/auth/password", { token: p.token, body: { currentPassword: p.password, newPassword: tricky } }), 200);
    await login(t, p.email, tricky);
    expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: tricky.replace("<", "&lt;") } }), 401);
    const ip = newIp();
    const names = { firstName: "Zoë <script>alert(1)</script>", lastName: "O'Brien-Łukasz & 李 🙂", email: uniqueEmail("text") };
    const res = await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": await csrf(t, ip) }, body: names });
    expectStatus(res, 201);
    expect(res.json).to.include({ firstName: names.firstName, lastName: names.lastName });
    const stored = await personByEmail(t, names.email);
    expect(stored).to.include({ firstName: names.firstName, lastName: names.lastName });
  });

  it("fault 10: unknown routes are 404, bad query values 400, missing ids 404 without upsert, 500s never leak", async () => {
    expectError(await send(t, "GET", "/definitely/not/a/route"), 404, "NOT_FOUND");
    expectError(await send(t, "POST", "/projects/list"), 405);
    expectError(await send(t, "GET", "/projects?limit=banana"), 400);
    expectError(await send(t, "GET", "/projects?limit=1e2"), 400);
    expectError(await send(t, "GET", "/projects?nextToken=eyJpZCI6eyJTIjoieCJ9fQ"), 400);
    const ghost = randomUUID();
    expectError(await send(t, "PUT", `/projects/${ghost}`, { token: admin, body: { name: "Upsert?", version: 1 } }), 404);
    expectError(await send(t, "DELETE", `/projects/${ghost}`, { token: admin }), 404);
    expectError(await send(t, "PUT", `/people/${ghost}`, { token: admin, body: { firstName: "Upsert?", version: 1 } }), 404);
    expectError(await send(t, "DELETE", `/people/${ghost}`, { token: admin }), 404);
    expect(await getItem(t, "ProjectsTable", { id: ghost })).to.equal(undefined);
    expect(await getItem(t, "PeopleTable", { id: ghost })).to.equal(undefined);
    // An item the handlers did not write (wrong types in every field): whatever the answer, no 500 text leaks.
    const odd = randomUUID();
    await putItem(t, "ProjectsTable", { id: odd, name: 42, status: { S: "x" }, maxParticipants: "many", startDate: 7, version: "one" });
    try {
      const someone = await seedPerson(t, { login: false });
      for (const res of [
        await send(t, "GET", `/projects/${odd}`),
        await send(t, "PUT", `/projects/${odd}`, { token: admin, body: { name: "Fixed", version: 1 } }),
        await send(t, "POST", `/projects/${odd}/subscribe/${someone.id}`, { token: admin }),
      ]) {
        if (res.status >= 500) {
          expectError(res, 500, "INTERNAL");
          expect(JSON.stringify(res.json)).to.match(/[0-9a-f-]{16,}/i, "a request id");
          expect(res.text).to.not.match(/\bat [\w.<>]+ \(|TypeError|ValidationException|node_modules|\.ts:\d+/);
        } else if (res.status >= 400) expectError(res, res.status);
      }
    } finally {
      // Other tests list every project: do not leave the odd item behind.
      await deleteItem(t, "ProjectsTable", { id: odd });
    }
  });

  it("fault 11: lists are complete across pages and email uniqueness is enforced", async () => {
    const project = await createProject(t, admin);
    const people = await mapLimit(Array.from({ length: 12 }), 4, () => seedPerson(t));
    for (const p of people) expectStatus(await send(t, "POST", `/projects/${project.id}/subscribe/${p.id}`, { token: p.token }), 201);
    const subs = await send(t, "GET", `/projects/${project.id}/subscribers`, { token: admin });
    expectStatus(subs, 200);
    expect(subs.json).to.be.an("array").with.length(12);
    expect(subs.headers["x-total-count"]).to.equal("12");
    expect(new Set(subs.json.map((s: any) => s.id)).size).to.equal(12);
    const all = await scanAll(t, "ProjectsTable");
    const seen = new Set<string>();
    let next: string | undefined;
    let pages = 0;
    do {
      const res = await send(t, "GET", `/projects?limit=7${next ? `&nextToken=${encodeURIComponent(next)}` : ""}`);
      expectStatus(res, 200);
      for (const p of res.json) seen.add(p.id);
      next = res.headers["x-next-token"];
      pages++;
    } while (next && pages < 1000);
    for (const p of all) expect(seen.has(p.id), `project ${p.id} listed`).to.equal(true);
    // Email uniqueness, compared lower-cased, for registration by the public and by an admin.
    const email = uniqueEmail("uniq");
    expectStatus(await send(t, "POST", "/people", { token: admin, body: { firstName: "U", lastName: "N", email } }), 201);
    expectError(await send(t, "POST", "/people", { token: admin, body: { firstName: "U", lastName: "N", email: email.toUpperCase() } }), 409, "EMAIL_EXISTS");
    const ip = newIp();
    expectError(await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": await csrf(t, ip) }, body: { firstName: "U", lastName: "N", email } }), 409, "EMAIL_EXISTS");
  });

  it("fault 12: the rate limiter is atomic (parallel requests cannot overshoot) and not keyed on User-Agent", async () => {
    await roomInWindow(RATE_LIMITS.passwordReset[0].windowSeconds, 30);
    const ip = newIp();
    const email = uniqueEmail("race");
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(t, "POST", "/auth/password-reset", { ip, headers: { "user-agent": `agent-${i}` }, body: { email } })),
    );
    const allowed = responses.filter((r) => r.status === 200).length;
    const limited = responses.filter((r) => r.status === 429).length;
    expect({ allowed, limited }).to.deep.equal({ allowed: 3, limited: 9 });
    expect(emailsTo(t, email)).to.have.length(0);
  });

  it("fault 12: with the limiter's table unreachable, auth routes fail closed (503) and the others fail open", async () => {
    const client = localDynamoClient(t.dynamoEndpoint);
    const p = await seedPerson(t, { login: false });
    const ip = newIp();
    const csrfToken = await csrf(t, ip);
    try {
      await client.send(new DeleteTableCommand({ TableName: t.tableNames.RateLimitTable }));
      expectError(await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } }), 503);
      expectError(await send(t, "POST", "/auth/password-reset", { body: { email: p.email } }), 503);
      expectError(await send(t, "POST", "/people", { ip, headers: { "x-csrf-token": csrfToken }, body: { firstName: "F", lastName: "C", email: uniqueEmail("fc") } }), 503);
      expectStatus(await send(t, "GET", "/projects"), 200);
      expectStatus(await send(t, "GET", `/people/${p.id}`, { token: admin }), 200);
    } finally {
      // Put the table back exactly as the contract defines it, for the tests that follow.
      await createTables(t.dynamoEndpoint, { prefix: LOCAL_TABLE_PREFIX });
      client.destroy();
    }
    expectStatus(await send(t, "GET", "/projects"), 200);
  });
});
