// Which probes the integrated app's OpenAPI document leads to: public GETs, and a write cycle only when
// the app has a login and a people collection whose items it can read and delete without a body.
import { expect } from "chai";
import { publicGetPaths, writeCycleRoutes } from "../../automation/verify/smoke-integrated";

type Doc = Parameters<typeof writeCycleRoutes>[0];
type Operation = NonNullable<NonNullable<Doc["paths"]>[string][string]>;
const bearer = [{ HTTPBearer: [] }];
const op = (extra: Operation = {}): Operation => extra;

/** Shaped like registry-api 3b58af3's document: bare paths; deleting a person takes a confirmation body. */
const SEED_ERA: Doc = {
  openapi: "3.1.0",
  paths: {
    "/health": { get: op() },
    "/auth/login": { post: op() },
    "/auth/me": { get: op({ security: bearer }) },
    "/people": { get: op({ security: bearer }), post: op({ security: bearer }) },
    "/people/{person_id}": {
      get: op({ security: bearer }),
      delete: op({ security: bearer, requestBody: { required: true } }),
    },
    "/projects": { get: op(), post: op({ security: bearer }) },
    "/projects/{project_id}": { get: op() },
  },
};

/** Shaped like registry-api HEAD's: versioned people routes with a trailing-slash collection. */
const HEAD_LIKE: Doc = {
  openapi: "3.1.0",
  paths: {
    "/": { get: op() },
    "/health": { get: op() },
    "/auth/login": { post: op() },
    "/v2/people/": { get: op(), post: op() },
    "/v2/people/{person_id}": { get: op(), put: op(), delete: op() },
    "/v2/projects": { get: op() },
  },
};

describe("smoke probes for the integrated app (from its OpenAPI document)", () => {
  it("public GETs: no security requirement, no path parameter, health and the document itself probed separately", () => {
    expect(publicGetPaths(SEED_ERA)).to.deep.equal(["/projects"]);
    expect(publicGetPaths(HEAD_LIKE)).to.deep.equal(["/", "/v2/people/", "/v2/projects"]);
    expect(publicGetPaths({ ...HEAD_LIKE, security: bearer }), "a document-wide requirement applies to every operation").to.deep.equal([]);
  });

  it("a write cycle when login, create, read and a body-less delete exist", () => {
    expect(writeCycleRoutes(HEAD_LIKE)).to.deep.equal({ login: "/auth/login", collection: "/v2/people/", item: "/v2/people/{person_id}" });
  });

  it("no write cycle when deleting a person needs a request body (3b58af3's confirmation step): it could not remove its test person", () => {
    expect(writeCycleRoutes(SEED_ERA)).to.equal(undefined);
    const optionalBody = structuredClone(SEED_ERA);
    optionalBody.paths!["/people/{person_id}"]!.delete!.requestBody!.required = false;
    expect(writeCycleRoutes(optionalBody)).to.deep.equal({ login: "/auth/login", collection: "/people", item: "/people/{person_id}" });
  });

  it("no write cycle without a login", () => {
    const { "/auth/login": _login, ...paths } = HEAD_LIKE.paths!;
    expect(writeCycleRoutes({ ...HEAD_LIKE, paths })).to.equal(undefined);
  });
});
