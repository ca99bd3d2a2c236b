// /projects routes, subscribe/unsubscribe, /subscriptions and /admin/dashboard.
import { expect } from "chai";
import {
  adminLogin,
  createProject,
  expectError,
  expectStatus,
  getItem,
  type LocalTarget,
  queryIndex,
  scanAll,
  seedPerson,
  send,
  sharedTarget,
} from "./helpers";

const MISSING_ID = "7a1b2c3d-4e5f-4a6b-9c8d-0e1f2a3b4c5d";
const PROJECT_FIELDS = ["id", "name", "description", "status", "maxParticipants", "createdBy", "createdAt", "updatedAt", "version"];

describe("handlers: /projects, subscriptions, admin dashboard", function () {
  this.timeout(180_000); // the first start of the shared target may fetch DynamoDB Local
  let t: LocalTarget;
  let admin: string;
  let adminId: string;
  before(async () => {
    t = await sharedTarget();
    const session = await adminLogin(t);
    admin = session.token;
    adminId = session.res.json.user.id;
  });

  describe("POST /projects", () => {
    it("creates a project (admin, 201) with createdBy and timestamps", async () => {
      const res = await send(t, "POST", "/projects", {
        token: admin,
        body: { name: "Alpha", description: "First", status: "active", maxParticipants: 3, startDate: "2026-01-01", endDate: "2026-12-31" },
      });
      expectStatus(res, 201);
      const p = res.json;
      expect(p).to.include({ name: "Alpha", description: "First", status: "active", maxParticipants: 3, createdBy: adminId });
      for (const key of PROJECT_FIELDS) expect(p, "project").to.have.property(key);
      expect(await getItem(t, "ProjectsTable", { id: p.id })).to.include({ name: "Alpha", maxParticipants: 3 });
    });

    it("validates name (1–200), status, maxParticipants ≥ 0, startDate ≤ endDate and unknown fields", async () => {
      for (const body of [
        {},
        { name: "" },
        { name: "x".repeat(201) },
        { name: "A", status: "paused" },
        { name: "A", maxParticipants: -1 },
        { name: "A", maxParticipants: 1.5 },
        { name: "A", maxParticipants: "5" },
        { name: "A", startDate: "2026-05-02", endDate: "2026-05-01" },
        { name: "A", id: MISSING_ID },
        { name: "A", subscriberCount: 5 },
        { name: "A", isEnabled: "yes" },
        { name: "A", registrationEndDate: "soon" },
      ]) {
        expectError(await send(t, "POST", "/projects", { token: admin, body }), 400);
      }
      expectStatus(await send(t, "POST", "/projects", { token: admin, body: { name: "x".repeat(200) } }), 201);
    });

    it("answers 403 for a non-admin and 401 anonymous", async () => {
      const user = await seedPerson(t);
      expectError(await send(t, "POST", "/projects", { token: user.token, body: { name: "Nope" } }), 403);
      expectError(await send(t, "POST", "/projects", { body: { name: "Nope" } }), 401);
    });
  });

  describe("GET /projects and /projects/{id}", () => {
    it("lists projects publicly, paginated with nextToken", async () => {
      const mine = [await createProject(t, admin), await createProject(t, admin), await createProject(t, admin)];
      const seen = new Set<string>();
      let next: string | undefined;
      let pages = 0;
      do {
        const limit = pages < 2 ? 1 : 100;
        const res = await send(t, "GET", `/projects?limit=${limit}${next ? `&nextToken=${encodeURIComponent(next)}` : ""}`);
        expectStatus(res, 200);
        expect(res.json.length).to.be.at.most(limit);
        for (const p of res.json) seen.add(p.id);
        next = res.headers["x-next-token"];
        pages++;
      } while (next && pages < 500);
      for (const p of mine) expect(seen.has(p.id)).to.equal(true);
    });

    it("reads one project publicly; 404 when absent; 400/404 for a non-UUID", async () => {
      const p = await createProject(t, admin);
      const res = await send(t, "GET", `/projects/${p.id}`);
      expectStatus(res, 200);
      expect(res.json).to.include({ id: p.id, name: p.name });
      expectError(await send(t, "GET", `/projects/${MISSING_ID}`), 404);
      const bad = await send(t, "GET", "/projects/..%2F..%2Fetc");
      expect(bad.status).to.be.oneOf([400, 404]);
      expectError(bad, bad.status);
    });

    it("rejects bad query values with 400", async () => {
      for (const q of ["limit=0", "limit=1000", "limit=x", "nextToken=%00"]) expectError(await send(t, "GET", `/projects?${q}`), 400);
    });
  });

  describe("PUT /projects/{id}", () => {
    it("updates without a version (last writer wins, version still bumped) and the real model's fields", async () => {
      const p = await createProject(t, admin);
      const res = await send(t, "PUT", `/projects/${p.id}`, { token: admin, body: { status: "cancelled", isEnabled: false, registrationEndDate: "2031-01-01", category: "cloud", location: "Cochabamba", requirements: "A laptop" } });
      expectStatus(res, 200);
      expect(res.json).to.include({ status: "cancelled", isEnabled: false, registrationEndDate: "2031-01-01", category: "cloud", location: "Cochabamba", requirements: "A laptop", version: p.version + 1 });
    });

    it("updates with the right version (admin), 409 CONFLICT with a stale one", async () => {
      const p = await createProject(t, admin);
      const res = await send(t, "PUT", `/projects/${p.id}`, { token: admin, body: { status: "completed", version: p.version } });
      expectStatus(res, 200);
      expect(res.json).to.include({ status: "completed", name: p.name });
      expect(res.json.version).to.equal(p.version + 1);
      expectError(await send(t, "PUT", `/projects/${p.id}`, { token: admin, body: { status: "active", version: p.version } }), 409, "CONFLICT");
    });

    it("answers 404 for an absent id and does not create it (no upsert)", async () => {
      expectError(await send(t, "PUT", `/projects/${MISSING_ID}`, { token: admin, body: { name: "Ghost", version: 1 } }), 404);
      expectError(await send(t, "PUT", `/projects/${MISSING_ID}`, { token: admin, body: { name: "Ghost" } }), 404);
      expect(await getItem(t, "ProjectsTable", { id: MISSING_ID })).to.equal(undefined);
    });

    it("answers 403 for a non-admin and 400 for bad values", async () => {
      const p = await createProject(t, admin);
      const user = await seedPerson(t);
      expectError(await send(t, "PUT", `/projects/${p.id}`, { token: user.token, body: { name: "Mine", version: p.version } }), 403);
      expectError(await send(t, "PUT", `/projects/${p.id}`, { token: admin, body: { status: "weird", version: p.version } }), 400);
      expectError(await send(t, "PUT", `/projects/${p.id}`, { token: admin, body: { startDate: "2027-01-02", endDate: "2027-01-01", version: p.version } }), 400);
    });
  });

  describe("DELETE /projects/{id}", () => {
    it("deletes the project and its subscriptions (admin, 204); 404 afterwards", async () => {
      const p = await createProject(t, admin);
      const u = await seedPerson(t);
      expectStatus(await send(t, "POST", `/projects/${p.id}/subscribe/${u.id}`, { token: u.token }), 201);
      expectStatus(await send(t, "DELETE", `/projects/${p.id}`, { token: admin }), 204);
      expect(await getItem(t, "ProjectsTable", { id: p.id })).to.equal(undefined);
      expect(await queryIndex(t, "SubscriptionsTable", "ProjectIndex", "projectId", p.id)).to.have.length(0);
      expectError(await send(t, "DELETE", `/projects/${p.id}`, { token: admin }), 404);
    });

    it("answers 403 for a non-admin", async () => {
      const p = await createProject(t, admin);
      const u = await seedPerson(t);
      expectError(await send(t, "DELETE", `/projects/${p.id}`, { token: u.token }), 403);
    });
  });

  describe("subscribe / unsubscribe", () => {
    it("subscribes a person (201), refuses a second time with 409 ALREADY_SUBSCRIBED", async () => {
      const p = await createProject(t, admin);
      const u = await seedPerson(t);
      const res = await send(t, "POST", `/projects/${p.id}/subscribe/${u.id}`, { token: u.token });
      expectStatus(res, 201);
      expect(res.json).to.include({ personId: u.id, projectId: p.id });
      expectError(await send(t, "POST", `/projects/${p.id}/subscribe/${u.id}`, { token: u.token }), 409, "ALREADY_SUBSCRIBED");
    });

    it("answers 409 PROJECT_FULL past maxParticipants", async () => {
      const p = await createProject(t, admin, { maxParticipants: 1 });
      const a = await seedPerson(t);
      const b = await seedPerson(t);
      expectStatus(await send(t, "POST", `/projects/${p.id}/subscribe/${a.id}`, { token: a.token }), 201);
      expectError(await send(t, "POST", `/projects/${p.id}/subscribe/${b.id}`, { token: b.token }), 409, "PROJECT_FULL");
    });

    it("refuses a project that is not active, an absent project and another person (403)", async () => {
      const inactive = await createProject(t, admin, { status: "inactive" });
      const u = await seedPerson(t);
      const other = await seedPerson(t);
      const res = await send(t, "POST", `/projects/${inactive.id}/subscribe/${u.id}`, { token: u.token });
      expect(res.status).to.be.oneOf([400, 409]);
      expectError(res, res.status);
      expectError(await send(t, "POST", `/projects/${MISSING_ID}/subscribe/${u.id}`, { token: u.token }), 404);
      const active = await createProject(t, admin);
      expectError(await send(t, "POST", `/projects/${active.id}/subscribe/${u.id}`, { token: other.token }), 403);
      expectStatus(await send(t, "POST", `/projects/${active.id}/subscribe/${u.id}`, { token: admin }), 201);
    });

    it("unsubscribes (204) and answers 404 when not subscribed; frees the place", async () => {
      const p = await createProject(t, admin, { maxParticipants: 1 });
      const a = await seedPerson(t);
      const b = await seedPerson(t);
      expectStatus(await send(t, "POST", `/projects/${p.id}/subscribe/${a.id}`, { token: a.token }), 201);
      expectError(await send(t, "DELETE", `/projects/${p.id}/unsubscribe/${a.id}`, { token: b.token }), 403);
      expectStatus(await send(t, "DELETE", `/projects/${p.id}/unsubscribe/${a.id}`, { token: a.token }), 204);
      expectError(await send(t, "DELETE", `/projects/${p.id}/unsubscribe/${a.id}`, { token: a.token }), 404);
      expectStatus(await send(t, "POST", `/projects/${p.id}/subscribe/${b.id}`, { token: b.token }), 201);
    });

    it("GET /projects/{id}/subscribers lists subscribers with the person's safe view (admin only)", async () => {
      const p = await createProject(t, admin);
      const u = await seedPerson(t);
      await send(t, "POST", `/projects/${p.id}/subscribe/${u.id}`, { token: u.token });
      const res = await send(t, "GET", `/projects/${p.id}/subscribers`, { token: admin });
      expectStatus(res, 200);
      expect(res.json).to.be.an("array").with.length(1);
      expect(JSON.stringify(res.json)).to.include(u.id).and.include(u.email);
      expectError(await send(t, "GET", `/projects/${p.id}/subscribers`, { token: u.token }), 403);
    });
  });

  describe("/subscriptions", () => {
    it("POST creates for oneself (201) with status and notes; 403 for another person; same rules as subscribe", async () => {
      const p = await createProject(t, admin, { maxParticipants: 1 });
      const u = await seedPerson(t);
      const other = await seedPerson(t);
      expectError(await send(t, "POST", "/subscriptions", { token: other.token, body: { personId: u.id, projectId: p.id } }), 403);
      const res = await send(t, "POST", "/subscriptions", { token: u.token, body: { personId: u.id, projectId: p.id, notes: "Keen <b>&</b> ready" } });
      expectStatus(res, 201);
      expect(res.json).to.include({ personId: u.id, projectId: p.id, notes: "Keen <b>&</b> ready" });
      expectError(await send(t, "POST", "/subscriptions", { token: u.token, body: { personId: u.id, projectId: p.id } }), 409, "ALREADY_SUBSCRIBED");
      expectError(await send(t, "POST", "/subscriptions", { token: other.token, body: { personId: other.id, projectId: p.id } }), 409, "PROJECT_FULL");
      expectError(await send(t, "POST", "/subscriptions", { token: u.token, body: { personId: u.id } }), 400);
      expectError(await send(t, "POST", "/subscriptions", { token: u.token, body: { personId: u.id, projectId: p.id, id: MISSING_ID } }), 400);
      expectError(await send(t, "POST", "/subscriptions", { body: { personId: u.id, projectId: p.id } }), 401);
    });

    it("GET lists all subscriptions for admins (paginated), 403 otherwise", async () => {
      const u = await seedPerson(t);
      const p = await createProject(t, admin);
      const created = (await send(t, "POST", `/projects/${p.id}/subscribe/${u.id}`, { token: u.token })).json;
      const seen = new Set<string>();
      let next: string | undefined;
      let pages = 0;
      do {
        const res = await send(t, "GET", `/subscriptions?limit=100${next ? `&nextToken=${encodeURIComponent(next)}` : ""}`, { token: admin });
        expectStatus(res, 200);
        for (const s of res.json) seen.add(s.id);
        next = res.headers["x-next-token"];
        pages++;
      } while (next && pages < 100);
      expect(seen.has(created.id)).to.equal(true);
      expectError(await send(t, "GET", "/subscriptions", { token: u.token }), 403);
    });

    it("DELETE removes one's own subscription (204); 403 for another person; 404 when absent", async () => {
      const u = await seedPerson(t);
      const other = await seedPerson(t);
      const p = await createProject(t, admin);
      const sub = (await send(t, "POST", `/projects/${p.id}/subscribe/${u.id}`, { token: u.token })).json;
      expectError(await send(t, "DELETE", `/subscriptions/${sub.id}`, { token: other.token }), 403);
      expectStatus(await send(t, "DELETE", `/subscriptions/${sub.id}`, { token: u.token }), 204);
      expectError(await send(t, "DELETE", `/subscriptions/${sub.id}`, { token: u.token }), 404);
    });
  });

  describe("GET /admin/dashboard", () => {
    it("answers the totals matching the tables and recent audit entries (admin only)", async () => {
      const res = await send(t, "GET", "/admin/dashboard", { token: admin });
      expectStatus(res, 200);
      const [people, projects, subscriptions] = await Promise.all([scanAll(t, "PeopleTable"), scanAll(t, "ProjectsTable"), scanAll(t, "SubscriptionsTable")]);
      const totals = {
        people: people.length,
        projects: projects.length,
        activeProjects: projects.filter((p) => p.status === "active").length,
        subscriptions: subscriptions.length,
      };
      expect(res.json.totals).to.deep.equal(totals);
      // The flat numbers the web frontend reads.
      expect(res.json).to.include({ totalPeople: totals.people, totalProjects: totals.projects, totalSubscriptions: totals.subscriptions, activeProjects: totals.activeProjects });
      expect(Date.parse(res.json.timestamp)).to.be.a("number").and.not.NaN;
      expect(res.json.recentAudit).to.be.an("array").that.is.not.empty;
      const user = await seedPerson(t);
      expectError(await send(t, "GET", "/admin/dashboard", { token: user.token }), 403);
      expectError(await send(t, "GET", "/admin/dashboard"), 401);
    });
  });
});
