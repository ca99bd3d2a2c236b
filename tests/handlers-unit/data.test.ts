import { expect } from "chai";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { randomUUID } from "node:crypto";
import { acquire, call, type Env, loginAs, outboxMessages, release, seedPerson } from "./support";

describe("handlers: people, projects and subscriptions on DynamoDB Local", function () {
  this.timeout(120_000);
  let env: Env;
  let admin: string;
  before(async () => {
    env = await acquire();
    admin = await loginAs((await seedPerson(env, { isAdmin: true })).email);
  });
  after(release);

  const project = async (body: Record<string, unknown> = {}) => {
    const res = await call("POST", "/projects", { token: admin, body: { name: `P ${randomUUID()}`, ...body } });
    expect(res.status, JSON.stringify(res.json)).to.equal(201);
    return res.json;
  };

  it("registration with a CSRF token: 201 safe view, welcome email with a set-password link; the token is single use", async () => {
    const ip = "10.9.9.9";
    const csrf = await call("GET", "/auth/csrf-token?form=post-people", { ip });
    expect(csrf.status).to.equal(200);
    const email = `New.Person+${randomUUID()}@Example.com`;
    const body = { firstName: "New", lastName: "Person", email, address: { city: "Oslo" } };
    const res = await call("POST", "/people", { ip, body, headers: { "X-CSRF-Token": csrf.json.csrfToken } });
    expect(res.status, JSON.stringify(res.json)).to.equal(201);
    expect(res.json.email).to.equal(email.toLowerCase());
    expect(Object.keys(res.json).sort()).to.deep.equal(
      ["address", "createdAt", "dateOfBirth", "email", "firstName", "id", "isActive", "isAdmin", "lastName", "phone", "requirePasswordChange", "updatedAt", "version"].sort(),
    );
    const mail = outboxMessages(env, email.toLowerCase());
    expect(mail.some((m) => m.includes("X-Template: welcome") && m.includes("/reset-password?token="))).to.equal(true);
    const again = await call("POST", "/people", { ip, body: { ...body, email: `x${email}` }, headers: { "X-CSRF-Token": csrf.json.csrfToken } });
    expect(again.status).to.equal(403);
    // A token is bound to the client that fetched it.
    const other = await call("GET", "/auth/csrf-token?form=post-people", { ip: "10.8.8.8" });
    expect((await call("POST", "/people", { ip, body, headers: { "X-CSRF-Token": other.json.csrfToken } })).status).to.equal(403);
    const dup = await call("POST", "/people", { token: admin, body: { ...body, email: email.toUpperCase() } });
    expect(dup.status).to.equal(409);
    expect(dup.json.code).to.equal("EMAIL_EXISTS");
  });

  it("the registration limit (10 per hour per IP) applies to anonymous sign-ups, not to an admin adding people", async () => {
    const ip = "10.7.7.7";
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await call("POST", "/people", { ip, token: admin, body: { firstName: "Bulk", lastName: `N${i}`, email: `bulk-${randomUUID()}@example.com` } })).status);
    }
    expect(statuses.every((s) => s === 201), statuses.join(",")).to.equal(true);
    const anon: number[] = [];
    for (let i = 0; i < 11; i++) {
      const csrf = await call("GET", "/auth/csrf-token?form=post-people", { ip: "10.6.6.6" });
      anon.push((await call("POST", "/people", { ip: "10.6.6.6", headers: { "X-CSRF-Token": csrf.json.csrfToken }, body: { firstName: "Anon", lastName: `N${i}`, email: `anon-${randomUUID()}@example.com` } })).status);
    }
    expect(anon.slice(0, 10).every((s) => s === 201), anon.join(",")).to.equal(true);
    expect(anon[10]).to.equal(429);
  });

  it("rejects mass assignment and bad input with field details", async () => {
    const res = await call("POST", "/people", { token: admin, body: { firstName: "A", lastName: "B", email: "a@b.co", isAdmin: true, passwordHash: "x", id: "y" } });
    expect(res.status).to.equal(400);
    expect(res.json.details.map((d: { field: string }) => d.field).sort()).to.deep.equal(["id", "isAdmin", "passwordHash"]);
    const user = await seedPerson(env);
    const token = await loginAs(user.email);
    const self = await call("PUT", `/people/${user.id}`, { token, body: { isAdmin: true, version: 1 } });
    expect(self.status).to.equal(400);
    expect((await call("GET", `/people/${(await seedPerson(env)).id}`, { token })).status).to.equal(403);
    expect((await call("GET", "/people", { token })).status).to.equal(403);
  });

  it("body rules: absent, null, malformed, oversized and base64 bodies", async () => {
    expect((await call("POST", "/projects", { token: admin })).status).to.equal(400);
    expect((await call("POST", "/projects", { token: admin, rawBody: "null" })).status).to.equal(400);
    const bad = await call("POST", "/projects", { token: admin, rawBody: "{nope" });
    expect(bad.status).to.equal(400);
    expect(bad.json.code).to.equal("INVALID_JSON");
    const big = await call("POST", "/projects", { token: admin, body: { name: "x", description: "y".repeat(70 * 1024) } });
    expect(big.status).to.equal(413);
    const b64 = await call("POST", "/projects", { token: admin, body: { name: "Encoded" }, base64: true });
    expect(b64.status).to.equal(201);
  });

  it("ids and query values are validated: 400, never a 500", async () => {
    expect((await call("GET", "/projects/not-a-uuid")).status).to.equal(400);
    expect((await call("GET", "/projects?limit=0")).status).to.equal(400);
    expect((await call("GET", "/projects?limit=abc")).status).to.equal(400);
    expect((await call("GET", "/projects?nextToken=garbage!")).status).to.equal(400);
    const forged = Buffer.from(JSON.stringify({ id: { S: "x" } })).toString("base64url");
    expect((await call("GET", `/projects?nextToken=${forged}`)).status).to.equal(400);
    expect((await call("GET", `/projects/${randomUUID()}`)).status).to.equal(404);
    expect((await call("PUT", `/projects/${randomUUID()}`, { token: admin, body: { name: "x", version: 1 } })).status).to.equal(404);
  });

  it("paginates with an opaque nextToken until every project is seen", async () => {
    for (let i = 0; i < 5; i++) await project();
    const seen = new Set<string>();
    let next: string | undefined;
    let pages = 0;
    do {
      const res = await call("GET", `/projects?limit=2${next ? `&nextToken=${next}` : ""}`);
      expect(res.status).to.equal(200);
      for (const p of res.json) seen.add(p.id);
      next = res.headers["x-next-token"];
      pages++;
    } while (next && pages < 100);
    expect(seen.size).to.be.greaterThanOrEqual(5);
  });

  it("20 parallel subscriptions to 5 places: exactly 5 succeed, the rest are PROJECT_FULL", async () => {
    const p = await project({ maxParticipants: 5 });
    const people = await Promise.all(Array.from({ length: 20 }, () => seedPerson(env)));
    const results = await Promise.all(people.map((person) => call("POST", `/projects/${p.id}/subscribe/${person.id}`, { token: admin })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201), JSON.stringify(results.map((r) => r.json))).to.have.length(5);
    expect(results.filter((r) => r.status === 409).every((r) => r.json.code === "PROJECT_FULL")).to.equal(true);
    const subs = await call("GET", `/projects/${p.id}/subscribers`, { token: admin });
    expect(subs.json).to.be.an("array").with.length(5);
    expect(subs.json[0]).to.not.have.property("passwordHash");
  });

  it("one subscription per person and project, even in parallel; unsubscribe frees the place", async () => {
    const p = await project({ maxParticipants: 1 });
    const person = await seedPerson(env);
    const token = await loginAs(person.email);
    const results = await Promise.all(Array.from({ length: 6 }, () => call("POST", "/subscriptions", { token, body: { personId: person.id, projectId: p.id } })));
    expect(results.filter((r) => r.status === 201)).to.have.length(1);
    expect(results.filter((r) => r.status === 409).every((r) => r.json.code === "ALREADY_SUBSCRIBED")).to.equal(true);
    expect((await call("DELETE", `/projects/${p.id}/unsubscribe/${person.id}`, { token })).status).to.equal(204);
    expect((await call("DELETE", `/projects/${p.id}/unsubscribe/${person.id}`, { token })).status).to.equal(404);
    expect((await call("POST", `/projects/${p.id}/subscribe/${person.id}`, { token })).status).to.equal(201);
    const mine = await call("GET", `/people/${person.id}/subscriptions`, { token });
    expect(mine.json).to.be.an("array").with.length(1);
  });

  it("10 parallel updates with the same version: exactly one wins", async () => {
    const p = await project();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => call("PUT", `/projects/${p.id}`, { token: admin, body: { name: `n${i}`, version: 1 } })));
    expect(results.filter((r) => r.status === 200)).to.have.length(1);
    expect(results.filter((r) => r.status === 409)).to.have.length(9);
  });

  it("deleting a project or a person cascades to subscriptions", async () => {
    const p = await project();
    const person = await seedPerson(env);
    const sub = await call("POST", `/projects/${p.id}/subscribe/${person.id}`, { token: admin });
    expect(sub.status).to.equal(201);
    expect((await call("DELETE", `/projects/${p.id}`, { token: admin })).status).to.equal(204);
    const gone = await env.doc.send(new GetCommand({ TableName: env.tables.SubscriptionsTable, Key: { id: sub.json.id } }));
    expect(gone.Item).to.equal(undefined);
    const q = await project();
    const sub2 = await call("POST", `/projects/${q.id}/subscribe/${person.id}`, { token: admin });
    expect((await call("DELETE", `/people/${person.id}`, { token: admin })).status).to.equal(204);
    const gone2 = await env.doc.send(new GetCommand({ TableName: env.tables.SubscriptionsTable, Key: { id: sub2.json.id } }));
    expect(gone2.Item).to.equal(undefined);
    expect((await call("GET", `/projects/${q.id}`)).json.subscriberCount).to.equal(0);
  });

  it("reads a project written by the registry-api (no version, no counter) and counts its subscribers", async () => {
    const id = randomUUID();
    await env.doc.send(new PutCommand({ TableName: env.tables.ProjectsTable, Item: { id, name: "Legacy", status: "active", maxParticipants: 2, createdAt: "2024-01-01T00:00:00Z" } }));
    const person = await seedPerson(env);
    await env.doc.send(new PutCommand({ TableName: env.tables.SubscriptionsTable, Item: { id: randomUUID(), personId: (await seedPerson(env)).id, projectId: id, status: "active" } }));
    expect((await call("GET", `/projects/${id}`)).json.version).to.equal(1);
    expect((await call("POST", `/projects/${id}/subscribe/${person.id}`, { token: admin })).status).to.equal(201);
    const third = await seedPerson(env);
    const full = await call("POST", `/projects/${id}/subscribe/${third.id}`, { token: admin });
    expect(full.json.code).to.equal("PROJECT_FULL");
    expect((await call("PUT", `/projects/${id}`, { token: admin, body: { description: "now versioned", version: 1 } })).json.version).to.equal(2);
  });

  it("admin dashboard and admin password reset", async () => {
    const person = await seedPerson(env);
    const dash = await call("GET", "/admin/dashboard", { token: admin });
    expect(dash.status).to.equal(200);
    expect(dash.json.totals.people).to.be.greaterThan(0);
    expect(dash.json.totalPeople).to.equal(dash.json.totals.people);
    expect(dash.json.recentAudit).to.be.an("array").that.is.not.empty;
    const reset = await call("POST", "/admin/password-reset", { token: admin, body: { personId: person.id } });
    expect(reset.status).to.equal(200);
    expect(reset.json).to.deep.equal({ personId: person.id, emailed: true });
    expect((await call("GET", `/people/${person.id}`, { token: admin })).json.requirePasswordChange).to.equal(true);
  });
});
