// The scanner every response of the handler suite passes through (helpers.send): it must catch
// each kind of leak, or the "no response ever contains a secret" guarantee is empty.
import { expect } from "chai";
import { assertNoSecrets, type Res, rememberSecret } from "./helpers";

const res = (json: unknown, headers: Record<string, string> = {}): Res => ({ status: 200, headers, json, text: JSON.stringify(json) });
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
const HASH = "$2b$12$2jpruIejd3AP0SoSEUnce.iKT6wDOTLaxWtZH45I8/380kIw613Oq";

describe("handlers: the response secret scanner", () => {
  it("passes a clean login answer and a safe person view", () => {
    expect(() => assertNoSecrets(res({ success: true, accessToken: JWT, user: { id: "1", email: "a@b.c" } }), "login")).to.not.throw();
    expect(() => assertNoSecrets(res({ error: "Unknown field", code: "VALIDATION_ERROR", details: [{ field: "passwordHash" }] }), "400")).to.not.throw();
  });

  it("catches forbidden fields at any depth", () => {
    for (const key of ["passwordHash", "password", "failedLoginAttempts", "accountLockedUntil", "resetToken"]) {
      expect(() => assertNoSecrets(res({ people: [{ id: "1", [key]: "x" }] }), "list"), key).to.throw(new RegExp(key));
    }
  });

  it("catches a bcrypt hash anywhere, a known password or token, and a JWT outside accessToken", () => {
    expect(() => assertNoSecrets(res({ note: `hash ${HASH}` }), "hash")).to.throw(/bcrypt/);
    expect(() => assertNoSecrets(res({}, { "x-debug": HASH }), "header")).to.throw(/bcrypt/);
    rememberSecret("Known-Secret-123!");
    expect(() => assertNoSecrets(res({ message: "your password is Known-Secret-123!" }), "echo")).to.throw(/known/);
    expect(() => assertNoSecrets(res({ user: { lastToken: JWT } }), "jwt")).to.throw(/token/);
  });
});
