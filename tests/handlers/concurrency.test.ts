// Concurrency-safe writes: project capacity, optimistic versions and the lockout counter under
// parallel requests (real HTTP, all in flight at once).
import { expect } from "chai";
import {
  adminLogin,
  createProject,
  getItem,
  type LocalTarget,
  mapLimit,
  queryIndex,
  seedPerson,
  send,
  sharedTarget,
} from "./helpers";

describe("handlers: concurrency", function () {
  this.timeout(180_000);
  let t: LocalTarget;
  let admin: string;
  before(async () => {
    t = await sharedTarget();
    admin = (await adminLogin(t)).token;
  });

  it("20 parallel subscriptions to a project with 5 places: exactly 5 succeed, the rest are 409 PROJECT_FULL", async () => {
    const project = await createProject(t, admin, { maxParticipants: 5 });
    const people = await mapLimit(Array.from({ length: 20 }), 5, () => seedPerson(t));
    const responses = await Promise.all(people.map((p) => send(t, "POST", `/projects/${project.id}/subscribe/${p.id}`, { token: p.token })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201), `statuses ${statuses}`).to.have.length(5);
    expect(responses.filter((r) => r.status === 409 && r.json?.code === "PROJECT_FULL"), `statuses ${statuses}`).to.have.length(15);
    expect(await queryIndex(t, "SubscriptionsTable", "ProjectIndex", "projectId", project.id)).to.have.length(5);
  });

  it("20 parallel subscriptions through POST /subscriptions respect the same capacity", async () => {
    const project = await createProject(t, admin, { maxParticipants: 5 });
    const people = await mapLimit(Array.from({ length: 20 }), 5, () => seedPerson(t));
    const responses = await Promise.all(people.map((p) => send(t, "POST", "/subscriptions", { token: p.token, body: { personId: p.id, projectId: project.id } })));
    expect(responses.filter((r) => r.status === 201)).to.have.length(5);
    expect(await queryIndex(t, "SubscriptionsTable", "ProjectIndex", "projectId", project.id)).to.have.length(5);
  });

  it("the same person subscribing 10 times in parallel gets exactly one subscription", async () => {
    const project = await createProject(t, admin);
    const p = await seedPerson(t);
    const responses = await Promise.all(Array.from({ length: 10 }, () => send(t, "POST", `/projects/${project.id}/subscribe/${p.id}`, { token: p.token })));
    expect(responses.filter((r) => r.status === 201)).to.have.length(1);
    expect(responses.filter((r) => r.json?.code === "ALREADY_SUBSCRIBED")).to.have.length(9);
    expect(await queryIndex(t, "SubscriptionsTable", "PersonIndex", "personId", p.id)).to.have.length(1);
  });

  it("10 parallel person updates with the same version: exactly 1 succeeds, 9 are 409 CONFLICT", async () => {
    const p = await seedPerson(t);
    const { version } = (await send(t, "GET", `/people/${p.id}`, { token: p.token })).json;
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => send(t, "PUT", `/people/${p.id}`, { token: p.token, body: { firstName: `Writer${i}`, version } })),
    );
    const winners = responses.filter((r) => r.status === 200);
    expect(winners, `statuses ${responses.map((r) => r.status)}`).to.have.length(1);
    expect(responses.filter((r) => r.status === 409 && r.json?.code === "CONFLICT")).to.have.length(9);
    const stored = await getItem(t, "PeopleTable", { id: p.id });
    expect(stored?.firstName).to.equal(winners[0].json.firstName);
    expect(stored?.version).to.equal(version + 1);
  });

  it("10 parallel project updates with the same version: exactly 1 succeeds", async () => {
    const project = await createProject(t, admin);
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => send(t, "PUT", `/projects/${project.id}`, { token: admin, body: { description: `Writer ${i}`, version: project.version } })),
    );
    expect(responses.filter((r) => r.status === 200), `statuses ${responses.map((r) => r.status)}`).to.have.length(1);
    expect(responses.filter((r) => r.status === 409)).to.have.length(9);
  });

  it("parallel failed logins lock the account at exactly 5 failures", async () => {
    const p = await seedPerson(t, { login: false });
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(t, "POST", "/auth/login", { body: { email: p.email, password: `Wrong-Pass-${i}!` } })),
    );
    const statuses = responses.map((r) => r.status);
    // Every attempt is either counted (401) or refused because the account is already locked (423).
    expect(statuses.every((s) => s === 401 || s === 423), `statuses ${statuses}`).to.equal(true);
    expect(statuses.filter((s) => s === 401), `statuses ${statuses}`).to.have.length(5);
    const item = await getItem(t, "PeopleTable", { id: p.id });
    expect(item?.failedLoginAttempts).to.equal(5);
    expect(Date.parse(item?.accountLockedUntil)).to.be.greaterThan(Date.now());
    const right = await send(t, "POST", "/auth/login", { body: { email: p.email, password: p.password } });
    expect(right.status).to.equal(423);
  });

  it("parallel logout and refresh on one session never leave it active", async () => {
    const p = await seedPerson(t);
    await Promise.all([
      send(t, "POST", "/auth/refresh", { token: p.token }),
      send(t, "POST", "/auth/logout", { token: p.token }),
      send(t, "POST", "/auth/refresh", { token: p.token }),
    ]);
    const sid = JSON.parse(Buffer.from(p.token.split(".")[1], "base64url").toString()).sid;
    expect((await getItem(t, "SessionTrackingTable", { sessionId: sid }))?.isActive).to.equal(false);
    expect((await send(t, "GET", "/auth/me", { token: p.token })).status).to.equal(401);
  });
});
