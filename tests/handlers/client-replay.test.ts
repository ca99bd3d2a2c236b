// Client replay: every call the People Register web frontend makes (awscbba/registry-frontend 6b715bb:
// src/services/api.ts, src/services/projectApi.ts, src/services/authStub.ts and the subscribe form), sent
// the way the frontend sends it (method, path, body, headers: Content-Type where it sets one, a bearer
// token only where it adds one after login, never a CSRF header; the browser's Origin), against the
// local target over real HTTP with DynamoDB Local. Each answer is checked for the status and every field
// the frontend reads, with its type.
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { ASTRO_DEV_ORIGIN } from "../../automation/local/target";
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  emailsTo,
  expectStatus,
  getItem,
  type LocalTarget,
  newIp,
  personByEmail,
  type Res,
  send,
  sharedTarget,
  uniqueEmail,
} from "./helpers";

type FieldType = "string" | "number" | "boolean" | "object" | "array";
/** Field → type; a `?` suffix means the frontend tolerates its absence (optional in its types). */
type Shape = Record<string, FieldType | `${FieldType}?`>;

function expectShape(value: unknown, shape: Shape, what: string): void {
  expect(value, what).to.be.an("object");
  const obj = value as Record<string, unknown>;
  for (const [field, spec] of Object.entries(shape)) {
    const optional = spec.endsWith("?");
    const type = spec.replace("?", "") as FieldType;
    if (optional && (obj[field] === undefined || obj[field] === null)) continue;
    expect(obj[field], `${what}.${field}`).to.be.an(type);
  }
}

// What the frontend's components read (src/types/*.ts and the components that render them).
const PERSON: Shape = { id: "string", firstName: "string", lastName: "string", email: "string", phone: "string", dateOfBirth: "string", address: "object", createdAt: "string", updatedAt: "string" };
const ADDRESS: Shape = { street: "string", city: "string", state: "string", country: "string", postalCode: "string" };
const PROJECT: Shape = {
  id: "string",
  name: "string",
  description: "string",
  status: "string",
  createdBy: "string",
  maxParticipants: "number?",
  startDate: "string?",
  endDate: "string?",
  registrationEndDate: "string?",
  isEnabled: "boolean",
  createdAt: "string",
  updatedAt: "string",
};
const SUBSCRIPTION: Shape = { id: "string", projectId: "string", personId: "string", status: "string", subscribedAt: "string", notes: "string?" };
const SUBSCRIBER: Shape = { id: "string", firstName: "string", lastName: "string", email: "string", phone: "string", subscriptionId: "string", subscriptionStatus: "string", subscribedAt: "string" };
const DASHBOARD: Shape = { totalPeople: "number", totalProjects: "number", totalSubscriptions: "number", timestamp: "string" };

const expectPerson = (value: unknown, what: string): void => {
  expectShape(value, PERSON, what);
  expectShape((value as { address: unknown }).address, ADDRESS, `${what}.address`);
};

/** A browser's request from the Astro dev server: its Origin, plus what the frontend's code sets. */
interface Call {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  body?: unknown;
  /** The frontend sets `Content-Type: application/json` on calls with a body. */
  json?: boolean;
  /** Only peopleApi (src/services/api.ts) adds `Authorization`, and only once logged in. */
  token?: string;
  ip?: string;
}

async function call(t: LocalTarget, c: Call): Promise<Res> {
  const headers: Record<string, string> = { origin: ASTRO_DEV_ORIGIN };
  if (c.json) headers["content-type"] = "application/json";
  const res = await send(t, c.method, c.path, { ...(c.body !== undefined ? { raw: JSON.stringify(c.body) } : {}), headers, token: c.token, ip: c.ip ?? newIp() });
  // The browser only hands the answer to the page when CORS allows this origin.
  expect(res.headers["access-control-allow-origin"], `CORS on ${c.method} ${c.path}`).to.equal(ASTRO_DEV_ORIGIN);
  return res;
}

/** The error shape the frontend shows: `error` (or `message`), and FastAPI's `detail` on the subscribe page. */
function expectCleanError(res: Res, status: number, code?: string): void {
  expectStatus(res, status);
  expect(res.json.error, "error").to.be.a("string").and.not.equal("");
  expect(res.json.detail, "detail").to.equal(res.json.error);
  if (code) expect(res.json.code).to.equal(code);
}

/** The frontend's ProjectCreateForm after "Crear": empty optional fields removed, createdBy "Admin". */
const projectForm = (overrides: Record<string, unknown> = {}) => ({
  name: `AWS Workshop ${randomUUID().slice(0, 8)}`,
  description: "Hands-on serverless workshop",
  status: "active",
  startDate: "2030-03-01",
  endDate: "2030-03-02",
  registrationEndDate: "2030-02-20",
  isEnabled: true,
  maxParticipants: 30,
  createdBy: "Admin",
  ...overrides,
});

/** The subscribe form's body (ProjectSubscriptionForm.handleSubmit). */
const subscribeBody = (email: string, projectId: string, notes?: string) => ({ person: { name: "Ana María Quispe", email }, projectId, ...(notes ? { notes } : {}) });

describe("frontend client replay (registry-frontend 6b715bb against the local target)", function () {
  this.timeout(180_000); // the first start of the shared target may fetch DynamoDB Local
  let t: LocalTarget;
  let token: string;

  before(async () => {
    t = await sharedTarget();
  });

  it("authService.login: POST /auth/login → accessToken and the user's id, email, firstName, lastName", async () => {
    const res = await call(t, { method: "POST", path: "/auth/login", json: true, body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    expectStatus(res, 200);
    expect(res.json.accessToken).to.be.a("string");
    expectShape(res.json.user, { id: "string", email: "string", firstName: "string", lastName: "string" }, "user");
    token = res.json.accessToken;
    const wrong = await call(t, { method: "POST", path: "/auth/login", json: true, body: { email: uniqueEmail("nobody"), password: "Not-the-password-1!" } });
    expectCleanError(wrong, 401, "INVALID_CREDENTIALS");
  });

  it("a browser preflight for the frontend's headers is allowed from the dev server", async () => {
    for (const [method, path] of [["POST", "/v2/public/subscribe"], ["PUT", `/people/${randomUUID()}`], ["POST", "/auth/login"]] as const) {
      const res = await send(t, "OPTIONS", path, { headers: { origin: ASTRO_DEV_ORIGIN, "access-control-request-method": method, "access-control-request-headers": "authorization,content-type" } });
      expect(res.status, `${method} ${path}`).to.equal(204);
      expect(res.headers["access-control-allow-origin"]).to.equal(ASTRO_DEV_ORIGIN);
      expect(res.headers["access-control-allow-methods"]).to.include(method);
      expect(res.headers["access-control-allow-headers"]?.toLowerCase()).to.include("authorization").and.include("content-type");
    }
    // An origin that was not configured gets no CORS grant.
    const other = await send(t, "GET", "/projects", { headers: { origin: "https://evil.example" } });
    expect(other.headers["access-control-allow-origin"]).to.equal(undefined);
  });

  describe("projectApi and the public pages (no token)", () => {
    let project: Record<string, any>;
    before(async () => {
      const res = await call(t, { method: "POST", path: "/projects", json: true, body: projectForm(), token });
      expectStatus(res, 201);
      project = res.json;
    });

    it("getAllProjects: GET /projects → a bare array of projects with the fields the home page filters on", async () => {
      const res = await call(t, { method: "GET", path: "/projects" });
      expectStatus(res, 200);
      expect(res.json).to.be.an("array").that.is.not.empty;
      for (const p of res.json) expectShape(p, PROJECT, "project");
      const mine = res.json.find((p: any) => p.id === project.id);
      // ProjectShowcase shows `status === 'active' && isEnabled !== false`.
      expect(mine).to.include({ status: "active", isEnabled: true, registrationEndDate: "2030-02-20", maxParticipants: 30 });
    });

    it("getProject: GET /projects/{id} → the project itself", async () => {
      const res = await call(t, { method: "GET", path: `/projects/${project.id}` });
      expectStatus(res, 200);
      expectShape(res.json, PROJECT, "project");
      expect(res.json.id).to.equal(project.id);
    });

    it("the admin calls projectApi makes without a token answer a clean 401 (the documented exception)", async () => {
      const person = randomUUID();
      const tokenless: Call[] = [
        { method: "POST", path: "/projects", json: true, body: projectForm() },
        { method: "PUT", path: `/projects/${project.id}`, json: true, body: { name: "Renamed" } },
        { method: "DELETE", path: `/projects/${project.id}` },
        { method: "GET", path: `/projects/${project.id}/subscribers` },
        { method: "POST", path: `/projects/${project.id}/subscribe/${person}`, json: true, body: {} },
        { method: "DELETE", path: `/projects/${project.id}/unsubscribe/${person}` },
        { method: "GET", path: "/subscriptions" },
        { method: "POST", path: "/subscriptions", json: true, body: { projectId: project.id, personId: person, status: "pending" } },
        { method: "DELETE", path: `/subscriptions/${randomUUID()}` },
        { method: "GET", path: "/admin/dashboard" },
        { method: "GET", path: "/people" },
        { method: "GET", path: `/people/${person}` },
        // peopleApi.deletePerson and projectApi.deletePerson send no headers at all.
        { method: "DELETE", path: `/people/${person}` },
      ];
      for (const c of tokenless) expectCleanError(await call(t, c), 401, "UNAUTHORIZED");
      // Nothing changed.
      expect((await getItem(t, "ProjectsTable", { id: project.id }))?.name).to.equal(project.name);
    });
  });

  describe("the visitor flow: check-email → check → public subscribe → admin sees the pending subscriber → activates it → capacity enforced", () => {
    let project: Record<string, any>;
    const visitor = uniqueEmail("visitor");
    const second = uniqueEmail("visitor");
    let subscriptionId: string;

    before(async () => {
      const res = await call(t, { method: "POST", path: "/projects", json: true, body: projectForm({ maxParticipants: 1 }), token });
      expectStatus(res, 201);
      project = res.json;
    });

    it("check-email says a new visitor does not exist; public subscribe creates the person and a pending subscription", async () => {
      const check = await call(t, { method: "POST", path: "/v2/people/check-email", json: true, body: { email: visitor } });
      expectStatus(check, 200);
      expect(check.json).to.deep.equal({ exists: false });

      const res = await call(t, { method: "POST", path: "/v2/public/subscribe", json: true, body: subscribeBody(visitor, project.id, "Quiero aprender") });
      expectStatus(res, 201);
      expect(res.json.person_created).to.equal(true);
      expect(res.json.message).to.be.a("string");
      expectShape(res.json.subscription, SUBSCRIPTION, "subscription");
      expect(res.json.subscription).to.include({ projectId: project.id, status: "pending", notes: "Quiero aprender" });
      subscriptionId = res.json.subscription.id;

      // The person exists with the name split, no password, and a set-password link in their inbox.
      const stored = await personByEmail(t, visitor);
      expect(stored).to.include({ firstName: "Ana", lastName: "María Quispe", email: visitor, isAdmin: false });
      expect(stored?.passwordHash).to.equal(undefined);
      expect(emailsTo(t, visitor).some((m) => /reset-password\?token=/.test(m.text))).to.equal(true);
      // A pending subscription holds no place.
      expect((await getItem(t, "ProjectsTable", { id: project.id }))?.subscriberCount).to.equal(0);
    });

    it("check-email and subscriptions/check now report the person and the pending subscription", async () => {
      const check = await call(t, { method: "POST", path: "/v2/people/check-email", json: true, body: { email: visitor } });
      expect(check.json).to.deep.equal({ exists: true });
      const sub = await call(t, { method: "POST", path: "/v2/subscriptions/check", json: true, body: { email: visitor, projectId: project.id } });
      expectStatus(sub, 200);
      expect(sub.json).to.deep.equal({ subscribed: true, subscription_status: "pending" });
      const none = await call(t, { method: "POST", path: "/v2/subscriptions/check", json: true, body: { email: second, projectId: project.id } });
      expect(none.json).to.deep.equal({ subscribed: false, subscription_status: null });
    });

    it("subscribing twice is a 409 whose detail the page shows", async () => {
      const again = await call(t, { method: "POST", path: "/v2/public/subscribe", json: true, body: subscribeBody(visitor, project.id) });
      expectCleanError(again, 409, "ALREADY_SUBSCRIBED");
    });

    it("the admin sees the pending subscriber, activates it, and the next activation finds the project full", async () => {
      const other = await call(t, { method: "POST", path: "/v2/public/subscribe", json: true, body: { person: { firstName: "Luis", lastName: "Rojas", email: second }, projectId: project.id } });
      expectStatus(other, 201);

      const list = await call(t, { method: "GET", path: `/projects/${project.id}/subscribers`, token });
      expectStatus(list, 200);
      expect(list.json).to.be.an("array").with.length(2);
      for (const s of list.json) {
        expectPerson(s, "subscriber");
        expectShape(s, SUBSCRIBER, "subscriber");
        expect(s.subscriptionStatus).to.equal("pending");
      }

      const activate = await call(t, { method: "PUT", path: `/subscriptions/${subscriptionId}`, json: true, body: { status: "active" }, token });
      expectStatus(activate, 200);
      expectShape(activate.json, SUBSCRIPTION, "subscription");
      expect(activate.json.status).to.equal("active");

      const full = await call(t, { method: "PUT", path: `/subscriptions/${other.json.subscription.id}`, json: true, body: { status: "active" }, token });
      expectCleanError(full, 409, "PROJECT_FULL");
      expect((await getItem(t, "ProjectsTable", { id: project.id }))?.subscriberCount).to.equal(1);

      // Giving the place back lets the other one in.
      expectStatus(await call(t, { method: "PUT", path: `/subscriptions/${subscriptionId}`, json: true, body: { status: "cancelled" }, token }), 200);
      expectStatus(await call(t, { method: "PUT", path: `/subscriptions/${other.json.subscription.id}`, json: true, body: { status: "active" }, token }), 200);
    });

    it("a closed or disabled project refuses public subscriptions, and no person is created for them", async () => {
      const closed = (await call(t, { method: "POST", path: "/projects", json: true, body: projectForm({ registrationEndDate: "2020-01-01", startDate: "2020-02-01", endDate: "2020-02-02" }), token })).json;
      const disabled = (await call(t, { method: "POST", path: "/projects", json: true, body: projectForm({ isEnabled: false }), token })).json;
      const email = uniqueEmail("late");
      expectCleanError(await call(t, { method: "POST", path: "/v2/public/subscribe", json: true, body: subscribeBody(email, closed.id) }), 409, "REGISTRATION_CLOSED");
      expectCleanError(await call(t, { method: "POST", path: "/v2/public/subscribe", json: true, body: subscribeBody(email, disabled.id) }), 409, "PROJECT_DISABLED");
      expectCleanError(await call(t, { method: "POST", path: "/v2/public/subscribe", json: true, body: subscribeBody(email, randomUUID()) }), 404, "PROJECT_NOT_FOUND");
      expect(await personByEmail(t, email)).to.equal(undefined);
    });

    it("strict validation: no mass assignment through the public body", async () => {
      // A fresh email each time: the per-email limit (3 an hour) is not what this checks.
      const emails: string[] = [];
      const email = (): string => emails[emails.push(uniqueEmail("mass")) - 1];
      for (const body of [
        { person: { name: "Eve", email: email(), isAdmin: true }, projectId: project.id },
        { person: { name: "Eve", email: email() }, projectId: project.id, status: "active" },
        { person: { name: "Eve", firstName: "Eve", lastName: "X", email: email() }, projectId: project.id },
        { person: { email: email() }, projectId: project.id },
        { person: { name: "Eve", email: "not-an-email" }, projectId: project.id },
      ]) {
        expectCleanError(await call(t, { method: "POST", path: "/v2/public/subscribe", json: true, body }), 400);
      }
      for (const e of emails) expect(await personByEmail(t, e)).to.equal(undefined);
    });

    it("rate limits: 3 public subscriptions per email per hour (whatever the IP), 20 checks per IP per hour", async () => {
      const email = uniqueEmail("burst");
      const projects = await Promise.all(
        [1, 2, 3, 4].map(async () => (await call(t, { method: "POST", path: "/projects", json: true, body: projectForm(), token })).json.id as string),
      );
      const statuses: number[] = [];
      for (const id of projects) statuses.push((await call(t, { method: "POST", path: "/v2/public/subscribe", json: true, body: subscribeBody(email, id) })).status);
      expect(statuses).to.deep.equal([201, 201, 201, 429]);

      const ip = newIp();
      const checks: number[] = [];
      for (let i = 0; i < 21; i++) checks.push((await call(t, { method: "POST", path: "/v2/people/check-email", json: true, body: { email: uniqueEmail() }, ip })).status);
      expect(checks.slice(0, 20).every((s) => s === 200)).to.equal(true);
      expect(checks[20]).to.equal(429);
    });
  });

  describe("the admin flow: login → dashboard → create project with the form's fields → edit without version → list people → delete", () => {
    it("works end to end with the admin's token and the shapes the admin screens read", async () => {
      const dashboard = await call(t, { method: "GET", path: "/admin/dashboard", token });
      expectStatus(dashboard, 200);
      expectShape(dashboard.json, DASHBOARD, "dashboard");

      const created = await call(t, { method: "POST", path: "/projects", json: true, body: projectForm({ maxParticipants: undefined, registrationEndDate: undefined }), token });
      expectStatus(created, 201);
      expectShape(created.json, PROJECT, "project");
      const me = await personByEmail(t, ADMIN_EMAIL);
      expect(created.json.createdBy, "createdBy is the caller, not the form's value").to.equal(me?.id);

      // ProjectForm (edit) sends these fields and no version.
      const edit = { name: `${created.json.name} (edited)`, description: "Updated", status: "completed", maxParticipants: 25, startDate: "2030-03-01", endDate: "2030-03-03" };
      const updated = await call(t, { method: "PUT", path: `/projects/${created.json.id}`, json: true, body: edit, token });
      expectStatus(updated, 200);
      expectShape(updated.json, PROJECT, "project");
      expect(updated.json).to.include(edit);
      expect(updated.json.version).to.equal(2);

      const after = await call(t, { method: "GET", path: "/admin/dashboard", token });
      expect(after.json.totalProjects).to.equal(dashboard.json.totalProjects + 1);

      const people = await call(t, { method: "GET", path: "/people", token });
      expectStatus(people, 200);
      expect(people.json).to.be.an("array").that.is.not.empty;
      for (const p of people.json) expectPerson(p, "person");

      const deleted = await call(t, { method: "DELETE", path: `/projects/${created.json.id}`, token });
      expectStatus(deleted, 204);
      expectCleanError(await call(t, { method: "GET", path: `/projects/${created.json.id}` }), 404);
    });
  });

  describe("peopleApi after login (it adds the bearer token)", () => {
    let person: Record<string, any>;

    it("createPerson: POST /people with the PersonForm body → the person itself (data.id), no CSRF header needed", async () => {
      const body = {
        firstName: "Carla",
        lastName: "Mamani",
        email: uniqueEmail("carla"),
        phone: "+591 70000000",
        dateOfBirth: "1990-05-17",
        address: { street: "Av. Heroínas 123", city: "Cochabamba", state: "Cochabamba", country: "Bolivia", postalCode: "" },
      };
      const res = await call(t, { method: "POST", path: "/people", json: true, body, token });
      expectStatus(res, 201);
      expectPerson(res.json, "person");
      expect(res.json).to.deep.include({ ...body, email: body.email.toLowerCase() });
      person = res.json;
    });

    it("getAllPeople and getPerson → a bare array / the person; paging in X-Next-Token", async () => {
      const all = await call(t, { method: "GET", path: "/people?limit=1", token });
      expectStatus(all, 200);
      expect(all.json).to.be.an("array").with.length(1);
      expect(all.headers["x-next-token"]).to.be.a("string");
      const one = await call(t, { method: "GET", path: `/people/${person.id}`, token });
      expectStatus(one, 200);
      expectPerson(one.json, "person");
    });

    it("updatePerson: PUT /people/{id} with the whole PersonForm and no version → the updated person", async () => {
      const { id, createdAt, updatedAt, version, isAdmin, isActive, requirePasswordChange, ...form } = person;
      const res = await call(t, { method: "PUT", path: `/people/${person.id}`, json: true, body: { ...form, address: { ...form.address, city: "La Paz" } }, token });
      expectStatus(res, 200);
      expectPerson(res.json, "person");
      expect(res.json.address.city).to.equal("La Paz");
      expect(res.json.version).to.equal(version + 1);
    });

    it("deletePerson without headers is the documented 401; with the token the person is gone", async () => {
      expectCleanError(await call(t, { method: "DELETE", path: `/people/${person.id}` }), 401);
      expectStatus(await call(t, { method: "DELETE", path: `/people/${person.id}`, token }), 204);
      expectCleanError(await call(t, { method: "GET", path: `/people/${person.id}`, token }), 404);
    });
  });

  describe("projectApi subscription calls, with a token", () => {
    it("subscribe with the frontend's body, list, create, delete: bare resources with subscribedAt", async () => {
      const project = (await call(t, { method: "POST", path: "/projects", json: true, body: projectForm(), token })).json;
      const a = (await call(t, { method: "POST", path: "/people", json: true, body: { firstName: "A", lastName: "One", email: uniqueEmail() }, token })).json;
      const b = (await call(t, { method: "POST", path: "/people", json: true, body: { firstName: "B", lastName: "Two", email: uniqueEmail() }, token })).json;

      const sub = await call(t, { method: "POST", path: `/projects/${project.id}/subscribe/${a.id}`, json: true, body: { subscribedBy: "Admin", notes: "front desk" }, token });
      expectStatus(sub, 201);
      expectShape(sub.json, SUBSCRIPTION, "subscription");
      const created = await call(t, { method: "POST", path: "/subscriptions", json: true, body: { projectId: project.id, personId: b.id, status: "pending", subscribedBy: "Admin" }, token });
      expectStatus(created, 201);
      expectShape(created.json, SUBSCRIPTION, "subscription");
      expect(created.json.status).to.equal("pending");

      const list = await call(t, { method: "GET", path: "/subscriptions?limit=100", token });
      expectStatus(list, 200);
      expect(list.json).to.be.an("array");
      for (const s of list.json) expectShape(s, SUBSCRIPTION, "subscription");

      expectStatus(await call(t, { method: "DELETE", path: `/projects/${project.id}/unsubscribe/${a.id}`, token }), 204);
      expectStatus(await call(t, { method: "DELETE", path: `/subscriptions/${created.json.id}`, token }), 204);
      expect((await call(t, { method: "GET", path: `/projects/${project.id}/subscribers`, token })).json).to.deep.equal([]);
    });
  });
});
