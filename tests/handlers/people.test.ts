// /people routes: registration (public + CSRF), list (admin), read/update (self or admin), delete
// (admin) and a person's subscriptions.
import { expect } from "chai";
import {
  adminLogin,
  createProject,
  csrf,
  emailsTo,
  expectError,
  expectStatus,
  getItem,
  type LocalTarget,
  newIp,
  personByEmail,
  queryIndex,
  resetTokenFromEmail,
  seedPerson,
  send,
  sharedTarget,
  strongPassword,
  login,
  uniqueEmail,
} from "./helpers";

const SAFE_VIEW = ["id", "firstName", "lastName", "email", "phone", "dateOfBirth", "address", "isAdmin", "isActive", "requirePasswordChange", "createdAt", "updatedAt", "version"];
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MISSING_ID = "3e1f2d4c-5b6a-4789-8abc-def012345678";

const expectSafeView = (person: Record<string, unknown>): void => {
  for (const key of Object.keys(person)) expect(SAFE_VIEW, `person.${key}`).to.include(key);
};

describe("handlers: /people", function () {
  this.timeout(180_000); // the first start of the shared target may fetch DynamoDB Local
  let t: LocalTarget;
  let admin: string;
  before(async () => {
    t = await sharedTarget();
    admin = (await adminLogin(t)).token;
  });

  /** Public registration with a fresh CSRF token from the same client. */
  async function register(body: Record<string, unknown>, ip = newIp()) {
    const token = await csrf(t, ip);
    return send(t, "POST", "/people", { body, ip, headers: { "x-csrf-token": token } });
  }

  describe("POST /people (registration)", () => {
    it("creates the person (201, safe view, UUID v4 id) and emails a set-password link, never a password", async () => {
      const email = uniqueEmail("reg");
      const address = { street: "1 Main St", city: "Springfield", state: "IL", country: "US", postalCode: "62701" };
      const res = await register({ firstName: "Reg", lastName: "Istered", email, phone: "+1 555 0100", dateOfBirth: "1990-02-28", address });
      expectStatus(res, 201);
      const person = res.json;
      expectSafeView(person);
      expect(person.id).to.match(UUID_V4);
      expect(person).to.deep.include({ firstName: "Reg", lastName: "Istered", email, phone: "+1 555 0100", dateOfBirth: "1990-02-28", address, isAdmin: false });
      const stored = await getItem(t, "PeopleTable", { id: person.id });
      expect(stored?.email).to.equal(email);
      expect(stored).to.not.have.property("password");
      // The welcome email carries a set-password link that works.
      const mails = emailsTo(t, email);
      expect(mails.length).to.be.greaterThan(0);
      const token = resetTokenFromEmail(t, email);
      expect(token, "set-password link").to.be.a("string");
      const password = strongPassword();
      expectStatus(await send(t, "POST", "/auth/password-reset/confirm", { body: { token, newPassword: password } }), 200);
      await login(t, email, password);
    });

    it("answers 409 EMAIL_EXISTS for an email already registered, compared lower-cased", async () => {
      const email = uniqueEmail("dup");
      expectStatus(await register({ firstName: "A", lastName: "B", email }), 201);
      expectError(await register({ firstName: "C", lastName: "D", email: email.toUpperCase() }), 409, "EMAIL_EXISTS");
      expect((await queryIndex(t, "PeopleTable", "EmailIndex", "email", email)).length).to.equal(1);
    });

    it("rejects missing required fields, a bad email, a bad date and unknown fields with 400 and details", async () => {
      for (const body of [
        { lastName: "B", email: uniqueEmail() },
        { firstName: "A", email: uniqueEmail() },
        { firstName: "A", lastName: "B" },
        { firstName: "A", lastName: "B", email: "not-an-email" },
        { firstName: "A", lastName: "B", email: uniqueEmail(), dateOfBirth: "1990-02-30" },
        { firstName: "A", lastName: "B", email: uniqueEmail(), nickname: "x" },
        { firstName: "", lastName: "B", email: uniqueEmail() },
      ]) {
        const res = await register(body);
        expectError(res, 400);
        expect(res.json.details, JSON.stringify(body)).to.be.an("array").that.is.not.empty;
      }
    });

    it("requires a CSRF token without a bearer token; an admin's bearer token needs none", async () => {
      expectError(await send(t, "POST", "/people", { body: { firstName: "A", lastName: "B", email: uniqueEmail() } }), 403, "CSRF_INVALID");
      expectStatus(await send(t, "POST", "/people", { token: admin, body: { firstName: "A", lastName: "B", email: uniqueEmail() } }), 201);
    });
  });

  describe("GET /people", () => {
    it("lists the safe view only, for admins, across pages with nextToken", async () => {
      const mine = [await seedPerson(t, { login: false }), await seedPerson(t, { login: false }), await seedPerson(t, { login: false })];
      const seen = new Set<string>();
      let next: string | undefined;
      let pages = 0;
      do {
        const limit = pages < 2 ? 2 : 100; // two small pages, then big ones (other tests add people too)
        const res = await send(t, "GET", `/people?limit=${limit}${next ? `&nextToken=${encodeURIComponent(next)}` : ""}`, { token: admin });
        expectStatus(res, 200);
        expect(res.json.length).to.be.at.most(limit);
        for (const p of res.json) {
          expectSafeView(p);
          seen.add(p.id);
        }
        next = res.headers["x-next-token"];
        pages++;
      } while (next && pages < 500);
      for (const p of mine) expect(seen.has(p.id), p.email).to.equal(true);
      expect(pages).to.be.greaterThan(1);
    });

    it("answers 401 anonymous and 403 for a non-admin", async () => {
      const user = await seedPerson(t);
      expectError(await send(t, "GET", "/people"), 401);
      expectError(await send(t, "GET", "/people", { token: user.token }), 403);
    });

    it("rejects bad limit and nextToken values with 400", async () => {
      for (const q of ["limit=0", "limit=101", "limit=abc", "limit=-1", "limit=1.5", "nextToken=%%%", "nextToken=bm90LWpzb24"]) {
        expectError(await send(t, "GET", `/people?${q}`, { token: admin }), 400);
      }
    });
  });

  describe("GET /people/{id}", () => {
    it("answers the person to themself and to an admin; 403 to another person", async () => {
      const a = await seedPerson(t);
      const b = await seedPerson(t);
      const self = await send(t, "GET", `/people/${a.id}`, { token: a.token });
      expectStatus(self, 200);
      expect(self.json.id).to.equal(a.id);
      expectSafeView(self.json);
      expectStatus(await send(t, "GET", `/people/${a.id}`, { token: admin }), 200);
      expectError(await send(t, "GET", `/people/${a.id}`, { token: b.token }), 403);
      expectError(await send(t, "GET", `/people/${a.id}`), 401);
    });

    it("answers 404 for an absent id (admin) and 400/404 for a non-UUID id", async () => {
      expectError(await send(t, "GET", `/people/${MISSING_ID}`, { token: admin }), 404);
      const res = await send(t, "GET", "/people/not-a-uuid", { token: admin });
      expect(res.status).to.be.oneOf([400, 404]);
      expectError(res, res.status);
    });
  });

  describe("PUT /people/{id}", () => {
    it("updates profile fields partially, bumps version and keeps the rest", async () => {
      const p = await seedPerson(t, { extra: { phone: "+1 555 0199" } });
      const current = (await send(t, "GET", `/people/${p.id}`, { token: p.token })).json;
      const res = await send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { firstName: "Renamed", version: current.version } });
      expectStatus(res, 200);
      expect(res.json).to.include({ id: p.id, firstName: "Renamed", lastName: current.lastName, phone: "+1 555 0199", email: p.email });
      expect(res.json.version).to.equal(current.version + 1);
      expect(Date.parse(res.json.updatedAt)).to.be.at.least(Date.parse(current.updatedAt));
      const stored = await getItem(t, "PeopleTable", { id: p.id });
      expect(stored).to.include({ firstName: "Renamed", phone: "+1 555 0199" });
      expect(stored?.passwordHash, "the hash is untouched").to.match(/^\$2/);
    });

    it("answers 409 CONFLICT for a stale version", async () => {
      const p = await seedPerson(t);
      const current = (await send(t, "GET", `/people/${p.id}`, { token: p.token })).json;
      expectStatus(await send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { lastName: "One", version: current.version } }), 200);
      expectError(await send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { lastName: "Two", version: current.version } }), 409, "CONFLICT");
      expect((await getItem(t, "PeopleTable", { id: p.id }))?.lastName).to.equal("One");
    });

    it("without a version the update applies (last writer wins) and still bumps the version", async () => {
      const p = await seedPerson(t);
      const res = await send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { lastName: "NoVersion", address: { city: "Tarija", zipCode: "123" } } });
      expectStatus(res, 200);
      expect(res.json).to.include({ lastName: "NoVersion", version: 2 });
      // `zipCode` is read as postalCode; every address field is a string.
      expect(res.json.address).to.deep.equal({ street: "", city: "Tarija", state: "", country: "", postalCode: "123" });
      expect((await getItem(t, "PeopleTable", { id: p.id }))?.version).to.equal(2);
    });

    it("lets an admin set isAdmin and isActive; a person setting their own isAdmin/isActive gets 400 and nothing is stored", async () => {
      const p = await seedPerson(t);
      const v = (await send(t, "GET", `/people/${p.id}`, { token: p.token })).json.version;
      expectError(await send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { isAdmin: true, version: v } }), 400);
      expectError(await send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { isActive: false, version: v } }), 400);
      expect((await getItem(t, "PeopleTable", { id: p.id }))?.isAdmin).to.equal(false);
      const res = await send(t, "PUT", `/people/${p.id}`, { token: admin, body: { isAdmin: true, version: v } });
      expectStatus(res, 200);
      expect(res.json.isAdmin).to.equal(true);
      // The promotion is read from the table: the person's existing token now reaches admin routes.
      expectStatus(await send(t, "GET", "/people?limit=1", { token: p.token }), 200);
    });

    it("an admin deactivating a person ends their access: their token is 401 and login fails", async () => {
      const p = await seedPerson(t);
      const res = await send(t, "PUT", `/people/${p.id}`, { token: admin, body: { isActive: false, version: 1 } });
      expectStatus(res, 200);
      expect(res.json.isActive).to.equal(false);
      expectError(await send(t, "GET", `/people/${p.id}`, { token: p.token }), 401);
      const again = await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } });
      expect(again.status).to.be.oneOf([401, 403]);
      expect(again.json.accessToken).to.equal(undefined);
    });

    it("answers 403 for another person, 404 for an absent id, 400 for bad values", async () => {
      const a = await seedPerson(t);
      const b = await seedPerson(t);
      expectError(await send(t, "PUT", `/people/${a.id}`, { token: b.token, body: { firstName: "X", version: 1 } }), 403);
      expectError(await send(t, "PUT", `/people/${MISSING_ID}`, { token: admin, body: { firstName: "X", version: 1 } }), 404);
      expect(await getItem(t, "PeopleTable", { id: MISSING_ID }), "no upsert").to.equal(undefined);
      expectError(await send(t, "PUT", `/people/${a.id}`, { token: a.token, body: { firstName: 7, version: 1 } }), 400);
      expectError(await send(t, "PUT", `/people/${a.id}`, { token: a.token, body: { dateOfBirth: "yesterday", version: 1 } }), 400);
    });
  });

  describe("DELETE /people/{id}", () => {
    it("deletes the person and their subscriptions (admin, 204)", async () => {
      const p = await seedPerson(t);
      const project = await createProject(t, admin);
      expectStatus(await send(t, "POST", `/projects/${project.id}/subscribe/${p.id}`, { token: p.token }), 201);
      const res = await send(t, "DELETE", `/people/${p.id}`, { token: admin });
      expectStatus(res, 204);
      expect(res.text).to.equal("");
      expect(await getItem(t, "PeopleTable", { id: p.id })).to.equal(undefined);
      expect(await queryIndex(t, "SubscriptionsTable", "PersonIndex", "personId", p.id)).to.have.length(0);
      expectError(await send(t, "DELETE", `/people/${p.id}`, { token: admin }), 404);
    });

    it("answers 403 for a non-admin (even on themself) and 401 anonymous", async () => {
      const p = await seedPerson(t);
      expectError(await send(t, "DELETE", `/people/${p.id}`, { token: p.token }), 403);
      expectError(await send(t, "DELETE", `/people/${p.id}`), 401);
      expect(await personByEmail(t, p.email)).to.not.equal(undefined);
    });
  });

  describe("GET /people/{id}/subscriptions", () => {
    it("lists the person's subscriptions to themself and to an admin; 403 to another person", async () => {
      const p = await seedPerson(t);
      const other = await seedPerson(t);
      const projects = [await createProject(t, admin), await createProject(t, admin)];
      for (const pr of projects) expectStatus(await send(t, "POST", `/projects/${pr.id}/subscribe/${p.id}`, { token: p.token }), 201);
      const res = await send(t, "GET", `/people/${p.id}/subscriptions`, { token: p.token });
      expectStatus(res, 200);
      expect(res.json).to.be.an("array").with.length(2);
      expect(res.headers["x-total-count"]).to.equal("2");
      expect(res.json.map((s: any) => s.projectId).sort()).to.deep.equal(projects.map((x) => x.id).sort());
      expectStatus(await send(t, "GET", `/people/${p.id}/subscriptions`, { token: admin }), 200);
      expectError(await send(t, "GET", `/people/${p.id}/subscriptions`, { token: other.token }), 403);
    });
  });
});
