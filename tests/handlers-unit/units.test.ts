import { expect } from "chai";
import { ENV } from "../../handlers/contract";
import { ConfigError, loadConfig } from "../../handlers/lib/config";
import { checkCsrfToken, clientFingerprint, issueCsrfToken } from "../../handlers/lib/csrf";
import { decodePageToken, encodePageToken } from "../../handlers/lib/db";
import { corsHeaders } from "../../handlers/lib/http";
import { createLogger, REDACTED } from "../../handlers/lib/log";
import { subscriptionId } from "../../handlers/api/subscriptions";
import { isUuidV4, passwordProblems } from "../../handlers/lib/validation";
import { acquire, FRONTEND_ORIGIN } from "./support";

describe("handlers: pure pieces", function () {
  this.timeout(120_000);
  before(async () => {
    await acquire();
  });

  it("configuration fails closed on a missing or short secret", () => {
    const saved = process.env[ENV.jwtSecret];
    try {
      process.env[ENV.jwtSecret] = "short";
      expect(() => loadConfig()).to.throw(ConfigError, /JWT_SECRET/);
      delete process.env[ENV.jwtSecret];
      expect(() => loadConfig()).to.throw(ConfigError, /JWT_SECRET/);
    } finally {
      process.env[ENV.jwtSecret] = saved;
    }
    expect(loadConfig().corsOrigins).to.include(FRONTEND_ORIGIN);
  });

  it("CSRF tokens are bound to the client and the form, and expire after an hour; tampering breaks them", () => {
    const fp = clientFingerprint("10.0.0.1", "ua");
    const now = Date.now();
    const { csrfToken } = issueCsrfToken(fp, "post-people", now);
    expect(checkCsrfToken(csrfToken, fp, "post-people", now)).to.be.a("number");
    expect(checkCsrfToken(csrfToken, fp, "default", now), "another form").to.equal(undefined);
    expect(checkCsrfToken(issueCsrfToken(fp, "default", now).csrfToken, fp, "post-people", now), "the default form").to.equal(undefined);
    expect(checkCsrfToken(csrfToken, clientFingerprint("10.0.0.2", "ua"), "post-people", now)).to.equal(undefined);
    expect(checkCsrfToken(csrfToken, fp, "post-people", now + 3601_000)).to.equal(undefined);
    const parts = csrfToken.split(".");
    expect(checkCsrfToken([String(Number(parts[0]) + 1), ...parts.slice(1)].join("."), fp, "post-people", now)).to.equal(undefined);
    expect(checkCsrfToken([...parts.slice(0, 2), "default", parts[3]].join("."), fp, "default", now), "form swapped in a signed token").to.equal(undefined);
    expect(checkCsrfToken(undefined, fp, "post-people", now)).to.equal(undefined);
  });

  it("page tokens round-trip and garbage is a 400", () => {
    const token = encodePageToken({ id: "abc" })!;
    expect(decodePageToken(token, "ProjectsTable")).to.deep.equal({ id: "abc" });
    for (const bad of ["%%%", Buffer.from("[1]").toString("base64url"), encodePageToken({ id: "a", x: "b" })!, encodePageToken({ id: 5 })!]) {
      expect(() => decodePageToken(bad, "ProjectsTable"), bad).to.throw().with.property("status", 400);
    }
  });

  it("the password policy names what is missing, and accepts any script", () => {
    expect(passwordProblems("Str0ng!Passw0rd")).to.deep.equal([]);
    expect(passwordProblems("Ünïcødé-Pass1")).to.deep.equal([]);
    expect(passwordProblems("short")).to.include.members(["at least 8 characters", "an upper-case letter", "a digit", "a special character"]);
    expect(passwordProblems(`Aa1!${"x".repeat(125)}`)).to.deep.equal(["at most 128 characters"]);
  });

  it("subscription ids are UUID v4 shaped and unique per pair", () => {
    const a = subscriptionId("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222");
    expect(isUuidV4(a)).to.equal(true);
    expect(subscriptionId("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222")).to.equal(a);
    expect(subscriptionId("22222222-2222-4222-8222-222222222222", "11111111-1111-4111-8111-111111111111")).to.not.equal(a);
  });

  it("CORS echoes only configured origins", () => {
    expect(corsHeaders("https://evil.example", [FRONTEND_ORIGIN])).to.deep.equal({ Vary: "Origin" });
    expect(corsHeaders(FRONTEND_ORIGIN, [FRONTEND_ORIGIN])["Access-Control-Allow-Origin"]).to.equal(FRONTEND_ORIGIN);
  });

  it("the logger redacts secret-looking keys at any depth", () => {
    const lines: string[] = [];
    const saved = process.env[ENV.logLevel];
    const log = createLogger({ requestId: "r1" }, (l) => lines.push(l));
    log.error("x", { password: "p", nested: { passwordHash: "h", authorization: "Bearer t", ok: 1 }, list: [{ token: "t" }] });
    process.env[ENV.logLevel] = saved;
    const entry = JSON.parse(lines[0]);
    expect(entry).to.include({ level: "error", message: "x", requestId: "r1", password: REDACTED });
    expect(entry.nested).to.deep.equal({ passwordHash: REDACTED, authorization: REDACTED, ok: 1 });
    expect(entry.list[0].token).to.equal(REDACTED);
  });
});
