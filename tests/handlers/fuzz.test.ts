// Robustness: property-based fuzzing (fast-check) of malformed requests over real HTTP — bodies,
// types, sizes, unicode, ids, headers and query values on every route. Never a 5xx, never a crash,
// every error in the contract's shape {error, code}. Batches run in parallel (bounded), each
// request from its own client IP so rate limits stay out of the way.
import fc from "fast-check";
import { expect } from "chai";
import { ROUTES, type RouteSpec } from "../../handlers/contract";
import { type LocalTarget, type Res, seedPerson, send, sharedTarget, type TestPerson } from "./helpers";

const BATCH = 8;
const RUNS = 130; // 130 batches x 8 = 1,040 requests

const printable = (max: number) => fc.string({ unit: "grapheme-ascii", maxLength: max }).map((s) => s.replace(/[^\x20-\x7e]/g, ""));
const unicode = (max: number) => fc.string({ unit: "binary", maxLength: max });

/** Values of every JSON type, with the awkward ones over-represented. */
const oddValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, -0, "", " ", "null", "true", "[]", "{}", "0", "<script>", "' OR 1=1 --", "../../etc/passwd", "\u0000", "\ud83d", "🙂"),
  fc.integer(),
  fc.double(),
  unicode(64),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(printable(10), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.constant("x".repeat(5000)),
);

const FIELDS = [
  "email", "password", "firstName", "lastName", "phone", "dateOfBirth", "address", "isAdmin", "isActive", "version", "passwordHash", "id",
  "name", "description", "status", "maxParticipants", "startDate", "endDate", "personId", "projectId", "notes", "token", "newPassword",
  "currentPassword", "person", "registrationEndDate", "isEnabled", "createdBy", "subscribedBy", "zipCode", "__proto__", "constructor",
];

const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), oddValue, { maxKeys: 6 }).map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: unicode(200) }, // not JSON at all
  { weight: 1, arbitrary: fc.constantFrom("{", "{\"a\":", "[1,2", "\"unterminated", "{\"email\": \"a@b.c\",}", "null", "  ", "{}", "[]", "1", "\"str\"") },
  { weight: 1, arbitrary: fc.constantFrom(70_000, 65_537, 200_000).map((n) => JSON.stringify({ name: "x".repeat(n) })) }, // over 64 KiB
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((d) => "[".repeat(d * 50) + "]".repeat(d * 50)) }, // deep nesting
);

// Sizes stay inside API Gateway's own request limits (10 KB of headers, 8 KB of URL), which
// Node's HTTP server in the local emulation also enforces (431/414 before any handler runs).

/** A path id: valid-looking UUIDs, garbage, traversal, encoded bytes, huge and unicode strings. */
const idValue = fc.oneof(
  fc.uuid().map(String),
  printable(40),
  unicode(20),
  fc.constantFrom("..", ".", "%00", "%2e%2e%2f", "null", "undefined", "0", "-1", "00000000-0000-0000-0000-000000000000", "X".repeat(2000), "a/b", "?x=1", "#frag"),
);

const query = fc.dictionary(
  fc.oneof(fc.constantFrom("limit", "nextToken", "token", "form", "email", "id", "limit[]"), printable(12)),
  fc.oneof(fc.constantFrom("0", "-1", "101", "1e3", "NaN", "", "50", "1", "abc", "%", "eyJ9", "a".repeat(2000)), unicode(40), printable(40)),
  { maxKeys: 3 },
);

const headerValue = fc.oneof(printable(80), fc.constantFrom("", "Bearer", "Bearer ", "Bearer a.b.c", "Basic Zm9v", "Bearer " + "e".repeat(6000)));
const headers = fc.record(
  {
    "content-type": fc.constantFrom("application/json", "text/plain", "application/json; charset=utf-16", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "*/*", "garbage"),
    "x-csrf-token": headerValue,
    authorization: headerValue,
    origin: fc.constantFrom("https://evil.example", "null", "http://localhost:3000"),
    "user-agent": printable(200),
    accept: fc.constantFrom("application/json", "text/html", "*/*"),
  },
  { requiredKeys: [] },
);

interface FuzzRequest {
  route: RouteSpec | { method: string; path: string };
  method?: string;
  ids: string[];
  query: Record<string, string>;
  body?: string;
  headers: Record<string, string>;
  who: "anonymous" | "user" | "admin";
}

const UNKNOWN_PATHS = [{ method: "GET", path: "/{id}" }, { method: "POST", path: "/people/{id}/{id}" }, { method: "GET", path: "/auth/{id}" }, { method: "PUT", path: "/admin/{id}" }];

const request: fc.Arbitrary<FuzzRequest> = fc.record({
  route: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...ROUTES) }, { weight: 1, arbitrary: fc.constantFrom(...UNKNOWN_PATHS) }),
  method: fc.option(fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"), { freq: 5, nil: undefined }),
  ids: fc.array(idValue, { minLength: 2, maxLength: 2 }),
  query,
  body,
  headers,
  who: fc.constantFrom("anonymous", "user", "admin"),
});

function concretePath(template: string, ids: string[]): string {
  let i = 0;
  return template.replace(/\{[^}]+\}/g, () => encodeURIComponent(ids[i++ % ids.length]));
}

describe("handlers: fuzzing malformed requests", function () {
  this.timeout(300_000);
  let t: LocalTarget;
  const people: Record<"user" | "admin", TestPerson | undefined> = { user: undefined, admin: undefined };

  before(async () => {
    t = await sharedTarget();
    // Dedicated accounts, so the fuzzer can never lock out or log out the accounts other tests use.
    people.user = await seedPerson(t);
    people.admin = await seedPerson(t, { isAdmin: true });
  });

  it(`${RUNS * BATCH} malformed requests: never a 5xx, always the error shape`, async () => {
    // Only requests that got an HTTP answer count: one the client refused to send proves nothing.
    let answered = 0;
    const failures: string[] = [];

    async function fire(r: FuzzRequest): Promise<void> {
      const method = r.method ?? r.route.method;
      const qs = new URLSearchParams(r.query).toString();
      const url = `${concretePath(r.route.path, r.ids)}${qs ? `?${qs}` : ""}`;
      const who = r.who === "anonymous" ? undefined : people[r.who];
      const hdrs = { ...r.headers };
      if (who) delete hdrs.authorization;
      let res: Res;
      try {
        res = await send(t, method, url, { raw: method === "GET" ? undefined : r.body, headers: hdrs, token: who?.token });
      } catch (err) {
        const message = (err as Error).message;
        // Requests the client itself refuses to send (fetch validates methods and header values) are not answers.
        if (/Invalid header value|invalid method|Headers|ByteString/i.test(message) && !/response contains/.test(message)) return;
        throw err;
      }
      answered++;
      const where = `${method} ${url.slice(0, 120)} (${r.who}) -> ${res.status} ${res.text.slice(0, 160)}`;
      if (res.status >= 500) failures.push(where);
      else if (res.status >= 400 && (typeof res.json?.error !== "string" || typeof res.json?.code !== "string")) failures.push(`error shape: ${where}`);
      // A successful logout ends the fuzzer's own session: log in again for the next batches.
      if (who && method === "POST" && url.startsWith("/auth/logout") && res.status === 200) {
        people[r.who as "user" | "admin"] = { ...who, token: (await send(t, "POST", "/auth/login", { body: { email: who.email, password: who.password } })).json.accessToken };
      }
    }

    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const before = failures.length;
        await Promise.all(batch.map(fire));
        if (failures.length > before) throw new Error(`bad answers:\n${failures.slice(before).join("\n")}`);
      }),
      { numRuns: RUNS, endOnFailure: true, reporter: (out) => {
        // The counterexample can hold 200 KB bodies: report the bad answers, not the whole batch.
        if (out.failed) throw new Error(`fuzzing failed (seed ${out.seed}):\n${failures.slice(0, 10).join("\n")}`);
      } },
    );
    expect(failures, failures.join("\n")).to.deep.equal([]);
    expect(answered).to.be.at.least(1000);
  });

  it("the target still answers normally after the fuzzing", async () => {
    const health = await send(t, "GET", "/health");
    expect(health.status).to.equal(200);
    expect(health.json.status).to.equal("healthy");
  });
});
