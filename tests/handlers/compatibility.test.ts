// Data compatibility with the registry-api (FastAPI) app that shares the tables: items in its shape,
// with hashes made by Python's bcrypt at cost 12, log in and read back; items these handlers write
// keep the contract's field names; hashes these handlers make at the production cost verify in Python.
import { execFileSync, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { expect } from "chai";
import { BCRYPT_COST_DEFAULT } from "../../handlers/contract";
import fixtures from "../fixtures/registry-api/people.json";
import {
  adminLogin,
  claims,
  createProject,
  expectStatus,
  getItem,
  type LocalTarget,
  login,
  putItem,
  queryIndex,
  rememberSecret,
  resetTokenFromEmail,
  send,
  sharedTarget,
  strongPassword,
  uniqueEmail,
} from "./helpers";

const REPO_ROOT = path.resolve(__dirname, "../..");
const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const PYTHON = "/usr/bin/python3";

const hasPythonBcrypt = (): boolean => spawnSync(PYTHON, ["-c", "import bcrypt"], { stdio: "ignore" }).status === 0;

const expectKeys = (item: Record<string, unknown> | undefined, keys: string[], what: string): void => {
  expect(item, what).to.not.equal(undefined);
  for (const k of keys) expect(item, `${what}.${k}`).to.have.property(k);
};

describe("handlers: compatibility with the registry-api app", function () {
  this.timeout(180_000); // the first start of the shared target may fetch DynamoDB Local
  let t: LocalTarget;
  before(async () => {
    t = await sharedTarget();
    rememberSecret(fixtures.person.password);
    rememberSecret(fixtures.legacyPerson.password);
  });

  it("a person item in the registry-api's shape with a Python-made $2b$12$ hash logs in (real cost 12) and reads back unchanged", async () => {
    const item = fixtures.person.item;
    await putItem(t, "PeopleTable", item);
    const session = await login(t, item.email, fixtures.person.password);
    const c = claims(session.token);
    expect(c).to.include({ sub: item.id, email: item.email, firstName: item.firstName, lastName: item.lastName, isAdmin: false });
    const res = await send(t, "GET", `/people/${item.id}`, { token: session.token });
    expectStatus(res, 200);
    const { passwordHash, failedLoginAttempts, lastPasswordChange, ...visible } = item;
    expect(res.json).to.deep.include(visible);
    expect(res.json.version, "an item without version counts as version 1").to.equal(1);
    // Login kept every field and the Python hash; it only stamped the login.
    const stored = await getItem(t, "PeopleTable", { id: item.id });
    expect(stored).to.deep.include({ ...visible, passwordHash, lastPasswordChange });
    expect(stored?.lastLoginAt).to.match(ISO_Z);
    // The handlers can update it (version 1) and keep the shape.
    const put = await send(t, "PUT", `/people/${item.id}`, { token: session.token, body: { phone: "+44 20 7946 0000", version: 1 } });
    expectStatus(put, 200);
    const updated = await getItem(t, "PeopleTable", { id: item.id });
    expect(updated).to.deep.include({ ...visible, phone: "+44 20 7946 0000", updatedAt: updated?.updatedAt, passwordHash });
    expect(updated?.version).to.equal(2);
  });

  it("a registry-api item with the hash in the legacy `password` attribute ($2a$12$) logs in and is migrated to passwordHash", async () => {
    const item = fixtures.legacyPerson.item;
    await putItem(t, "PeopleTable", item);
    await login(t, item.email, fixtures.legacyPerson.password);
    const stored = await getItem(t, "PeopleTable", { id: item.id });
    expect(stored?.passwordHash).to.equal(item.password);
    expect(stored).to.not.have.property("password");
    await login(t, item.email, fixtures.legacyPerson.password);
  });

  it("items the handlers write keep the contract's field names (person, project, subscription, session, audit, email)", async () => {
    const admin = (await adminLogin(t)).token;
    const email = uniqueEmail("shape");
    const created = await send(t, "POST", "/people", {
      token: admin,
      body: { firstName: "Shape", lastName: "Check", email, phone: "123", dateOfBirth: "2000-01-01", address: { street: "s", city: "c", state: "st", country: "co", postalCode: "p" } },
    });
    expectStatus(created, 201);
    const id = created.json.id;
    const token = resetTokenFromEmail(t, email);
    const password = strongPassword();
    expectStatus(await send(t, "POST", "/auth/password-reset/confirm", { body: { token, newPassword: password } }), 200);
    const session = await login(t, email, password);

    const person = await getItem(t, "PeopleTable", { id });
    expectKeys(person, ["id", "firstName", "lastName", "email", "phone", "dateOfBirth", "address", "passwordHash", "requirePasswordChange", "isAdmin", "isActive", "createdAt", "updatedAt", "lastLoginAt"], "person");
    // `zipCode` beside `postalCode`: registry-api 3b58af3 reads the postal code under that name.
    expect(person?.address).to.deep.equal({ street: "s", city: "c", state: "st", country: "co", postalCode: "p", zipCode: "p" });
    expect(person).to.include({ emailVerified: false });
    expect(person?.passwordHash).to.match(/^\$2[ab]\$\d\d\$[./A-Za-z0-9]{53}$/);
    expect(person?.createdAt).to.match(ISO_Z);
    expect(person?.isAdmin).to.equal(false);
    expect(person?.isActive).to.equal(true);

    const project = await createProject(t, admin, { startDate: "2026-01-01", endDate: "2026-06-30" });
    expectKeys(await getItem(t, "ProjectsTable", { id: project.id }), ["id", "name", "description", "status", "maxParticipants", "startDate", "endDate", "createdBy", "createdAt", "updatedAt"], "project");

    const sub = await send(t, "POST", "/subscriptions", { token: session.token, body: { personId: id, projectId: project.id, notes: "n" } });
    expectStatus(sub, 201);
    expectKeys(await getItem(t, "SubscriptionsTable", { id: sub.json.id }), ["id", "personId", "projectId", "status", "notes", "createdAt", "updatedAt"], "subscription");

    const sess = await getItem(t, "SessionTrackingTable", { sessionId: claims(session.token).sid });
    expectKeys(sess, ["sessionId", "userId", "createdAt", "lastActivity", "isActive", "ipAddress", "userAgent", "ttl"], "session");
    expect(sess?.ttl, "session TTL is epoch seconds").to.be.a("number").within(Date.now() / 1000, Date.now() / 1000 + 31 * 24 * 3600);

    const audit = await queryIndex(t, "AuditLogsTable", "PersonIndex", "personId", id);
    const loginEntry = audit.find((a) => a.action === "LOGIN_SUCCESS");
    expectKeys(loginEntry, ["id", "timestamp", "personId", "action", "success", "ipAddress", "userAgent"], "audit");
    expect(audit.map((a) => a.action)).to.include.members(["PERSON_CREATED", "PASSWORD_RESET_COMPLETED", "LOGIN_SUCCESS", "SUBSCRIPTION_CREATED"]);

    const emails = await queryIndex(t, "EmailTrackingTable", "RecipientIndex", "recipientEmail", email);
    expect(emails.length).to.be.greaterThan(0);
    for (const e of emails) {
      expectKeys(e, ["emailId", "recipientEmail", "status", "templateType", "createdAt", "ttl"], "email tracking");
      expect(e.ttl).to.be.a("number");
      expect(JSON.stringify(e), "no link or token in the tracking row").to.not.include(String(token));
    }
  });

  let productionHash: { password: string; hash: string } | undefined;

  it("records the registry-api app wrote (3b58af3: zip_code, naive timestamps, missing flags; HEAD projects without version) read without failing", async () => {
    const admin = (await adminLogin(t)).token;
    const personId = randomUUID();
    const naive = "2026-11-30T20:22:42.447235";
    // What 3b58af3's create_person stores: the address under the model's field name, no isAdmin, no version.
    await putItem(t, "PeopleTable", {
      id: personId,
      firstName: "Old",
      lastName: "App",
      email: uniqueEmail("app"),
      phone: "+591 4 4000000",
      dateOfBirth: "1980-01-02",
      address: { street: "Calle 1", city: "Sucre", state: "Chuquisaca", country: "Bolivia", zip_code: "0000" },
      createdAt: naive,
      updatedAt: naive,
      isActive: true,
      emailVerified: false,
      requirePasswordChange: false,
      failedLoginAttempts: 0,
    });
    const person = await send(t, "GET", `/people/${personId}`, { token: admin });
    expectStatus(person, 200);
    expect(person.json.address).to.deep.equal({ street: "Calle 1", city: "Sucre", state: "Chuquisaca", country: "Bolivia", postalCode: "0000" });
    expect(person.json).to.include({ createdAt: "2026-11-30T20:22:42.447Z", isAdmin: false, version: 1 });
    expect((await send(t, "GET", "/people?limit=100", { token: admin })).status).to.equal(200);

    // A HEAD project: no version, no subscriberCount, HEAD's extra fields; and a subscription with null notes.
    const projectId = randomUUID();
    await putItem(t, "ProjectsTable", {
      id: projectId,
      name: "App project",
      description: "Written by the app",
      status: "active",
      maxParticipants: 2,
      startDate: "2030-01-01",
      endDate: "2030-01-31",
      createdBy: personId,
      createdAt: naive,
      updatedAt: naive,
      category: "cloud",
      currentParticipants: 0,
      formSchema: { fields: [] },
    });
    await putItem(t, "SubscriptionsTable", { id: randomUUID(), personId, projectId, status: "active", notes: null, createdAt: naive, updatedAt: naive });
    const project = await send(t, "GET", `/projects/${projectId}`);
    expectStatus(project, 200);
    expect(project.json).to.include({ version: 1, isEnabled: true, createdAt: "2026-11-30T20:22:42.447Z", category: "cloud" });
    // The public view lists the model's fields only: attributes the app stores for itself stay in the table.
    expect(project.json).to.not.have.any.keys("formSchema", "currentParticipants");
    const subscribers = await send(t, "GET", `/projects/${projectId}/subscribers`, { token: admin });
    expectStatus(subscribers, 200);
    expect(subscribers.json).to.have.length(1);
    expect(subscribers.json[0]).to.include({ id: personId, status: "active", notes: "", subscribedAt: "2026-11-30T20:22:42.447Z" });
    const mine = await send(t, "GET", `/people/${personId}/subscriptions`, { token: admin });
    expect(mine.json[0]).to.include({ projectId, notes: "" });
    // Editing without a version works on the app's record and starts its version.
    const edited = await send(t, "PUT", `/projects/${projectId}`, { token: admin, body: { description: "Edited here" } });
    expectStatus(edited, 200);
    expect(edited.json.version).to.equal(2);
  });

  it(`the handlers' password lib hashes at the production cost ${BCRYPT_COST_DEFAULT} and verifies the Python-made hash`, function () {
    this.timeout(60_000);
    // Run the handlers' own code with the target's production-like config (no BCRYPT_COST override),
    // in a child process so this process's environment is never touched.
    const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
    for (const [k, v] of Object.entries(t.env)) if (k !== "BCRYPT_COST" && typeof v === "string") env[k] = v;
    const password = strongPassword();
    const script = `
      const { hashPassword, verifyPassword } = require("./handlers/lib/passwords");
      (async () => {
        const hash = await hashPassword(process.argv[1]);
        const fixture = await verifyPassword(process.argv[2], process.argv[3]);
        process.stdout.write(JSON.stringify({ hash, self: await verifyPassword(process.argv[1], hash), fixture }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const out = JSON.parse(
      execFileSync(process.execPath, ["--require", "tsx/cjs", "-e", script, password, fixtures.person.password, fixtures.person.item.passwordHash], { cwd: REPO_ROOT, env, encoding: "utf8" }),
    );
    expect(out.hash).to.match(new RegExp(`^\\$2[ab]\\$${BCRYPT_COST_DEFAULT}\\$`));
    expect(out.self).to.equal(true);
    expect(out.fixture, "the Python-made hash verifies in the handlers' lib").to.equal(true);
    productionHash = { password, hash: out.hash };
  });

  it("Python's bcrypt (what the registry-api uses) verifies a hash the handlers made at cost 12", function () {
    // Python's bcrypt comes from the Debian package python3-bcrypt (PyPI is not reachable here).
    if (!hasPythonBcrypt()) this.skip();
    expect(productionHash, "the previous test made a hash").to.not.equal(undefined);
    const check = spawnSync(PYTHON, ["-c", "import bcrypt,sys; print(bcrypt.checkpw(sys.argv[1].encode(), sys.argv[2].encode()))", productionHash!.password, productionHash!.hash], {
      encoding: "utf8",
    });
    expect(check.stdout.trim(), check.stderr).to.equal("True");
  });
});
