// Secrets from SSM Parameter Store, as the functions read them on AWS: the functions' signed call against
// a small HTTP server that speaks SSM's JSON protocol (GetParameter) on 127.0.0.1.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { ENV } from "../../handlers/contract";
import { ConfigError, config, forgetSecrets, resolveSecrets, SECRET_CACHE_MS } from "../../handlers/lib/config";
import { envPatch } from "../support/env";

describe("handlers: secrets from SSM Parameter Store", function () {
  this.timeout(30_000);
  const values: Record<string, string> = { "/stack/JWT_SECRET": "j".repeat(48), "/stack/CSRF_SECRET": "c".repeat(48) };
  const requests: Array<{ target: string; authorization: string; body: { Name: string; WithDecryption?: boolean } }> = [];
  let server: http.Server;
  const env = envPatch();

  before(async () => {
    server = http.createServer((req, res) => {
      let raw = "";
      req.on("data", (c) => (raw += c));
      req.on("end", () => {
        const body = JSON.parse(raw);
        requests.push({ target: String(req.headers["x-amz-target"]), authorization: String(req.headers.authorization), body });
        const value = values[body.Name];
        res.writeHead(value === undefined ? 400 : 200, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(value === undefined ? { __type: "ParameterNotFound", message: "not found" } : { Parameter: { Name: body.Name, Type: "SecureString", Value: value, Version: 1 } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    env.set({
      AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      [ENV.jwtSecret]: undefined,
      [ENV.csrfSecret]: "plain-value-that-must-be-ignored-when-a-parameter-is-set",
      [ENV.jwtSecretParameter]: "/stack/JWT_SECRET",
      [ENV.csrfSecretParameter]: "/stack/CSRF_SECRET",
      [ENV.dynamoDbEndpoint]: "http://127.0.0.1:1",
    });
  });
  beforeEach(() => {
    forgetSecrets();
    requests.length = 0;
  });
  after(async () => {
    env.restore();
    forgetSecrets();
    await new Promise((r) => server.close(r));
  });

  it("reads each parameter decrypted once per cold start; the plain variable is ignored", async () => {
    await resolveSecrets();
    expect(new TextDecoder().decode(config().jwtSecret)).to.equal(values["/stack/JWT_SECRET"]);
    expect(config().csrfSecret.toString()).to.equal(values["/stack/CSRF_SECRET"]);
    expect(requests.map((r) => r.body.Name).sort()).to.deep.equal(["/stack/CSRF_SECRET", "/stack/JWT_SECRET"]);
    expect(requests.every((r) => r.target === "AmazonSSM.GetParameter" && r.body.WithDecryption === true)).to.equal(true);
    // SigV4 for SSM in the function's region, with the function's credentials.
    for (const r of requests) expect(r.authorization).to.match(/^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/ssm\/aws4_request, /);
    await resolveSecrets();
    expect(requests, "cached").to.have.length(2);
  });

  it("reads again after the cache time, so a rotated secret is used", async () => {
    await resolveSecrets();
    values["/stack/JWT_SECRET"] = "r".repeat(48);
    await resolveSecrets(Date.now() + SECRET_CACHE_MS + 1);
    expect(new TextDecoder().decode(config().jwtSecret)).to.equal("r".repeat(48));
  });

  it("fails closed when a parameter cannot be read and nothing was read before", async () => {
    env.set({ [ENV.jwtSecretParameter]: "/stack/MISSING" });
    try {
      let error: unknown;
      await resolveSecrets().catch((e) => (error = e));
      expect(error).to.be.instanceOf(ConfigError);
      expect(() => config()).to.throw(ConfigError, /JWT_SECRET/);
    } finally {
      env.set({ [ENV.jwtSecretParameter]: "/stack/JWT_SECRET" });
    }
  });
});
