// Config validation: a missing or bad value fails the program with its key's name and the fix.
import { expect } from "chai";
import { PLACEHOLDER_SECRETS, loadConfig, normalizeOrigin } from "../../stacks/config";
import { GOOD_SECRETS, baseConfig, removeRepo, runProgram, tempRepo } from "./harness";

async function programError(repo: string, config: Record<string, string>, secretKeys?: string[]): Promise<Error> {
  try {
    await runProgram({ repoRoot: repo, config, secretKeys });
  } catch (err) {
    return err as Error;
  }
  throw new Error("the program accepted the config");
}

const raw = (values: Record<string, string>) => (name: string) => values[name];

describe("stacks/config", function () {
  this.timeout(60_000);
  let repo: string;
  before(() => {
    repo = tempRepo();
  });
  after(() => removeRepo(repo));

  describe("secrets (through the program)", () => {
    for (const name of ["jwtSecret", "csrfSecret"] as const) {
      it(`${name}: missing fails with the exact pulumi config set --secret command`, async () => {
        const config = baseConfig();
        delete config[name];
        const error = await programError(repo, config);
        expect(error.name).to.equal("ConfigError");
        expect(error.message).to.contain(`pulumi config set --secret people-register:${name}`).and.to.contain("is required");
      });

      it(`${name}: the old placeholder is refused`, async () => {
        const error = await programError(repo, baseConfig({ [name]: PLACEHOLDER_SECRETS[name] }));
        expect(error.message).to.contain("placeholder").and.to.contain(`pulumi config set --secret people-register:${name}`);
        expect(error.message).to.not.contain(PLACEHOLDER_SECRETS[name]);
      });

      it(`${name}: shorter than 32 characters is refused, without echoing it`, async () => {
        const short = "s3cr3t-but-only-31-characters!!";
        expect(short).to.have.length(31);
        const error = await programError(repo, baseConfig({ [name]: short }));
        expect(error.message).to.contain("at least 32 characters").and.to.contain(`pulumi config set --secret people-register:${name}`);
        expect(error.message).to.not.contain(short);
      });

      it(`${name}: a value stored in plain text (not --secret) is refused`, async () => {
        const other = name === "jwtSecret" ? "csrfSecret" : "jwtSecret";
        const error = await programError(repo, baseConfig(), [other]);
        expect(error.message).to.contain("plain text").and.to.contain(`--secret people-register:${name}`);
      });
    }

    it("warns about a key the program does not know (a typo would otherwise be ignored)", async () => {
      const result = await runProgram({ repoRoot: repo, config: baseConfig({ logRetentiondays: "90" }) });
      expect(result.logs.warn.join("\n")).to.contain("config people-register:logRetentiondays is not a setting of this program");
    });

    it("accepts 32 characters exactly", async () => {
      const result = await runProgram({ repoRoot: repo, config: baseConfig({ jwtSecret: "x".repeat(32) }) });
      expect(result.outputs.handlerKind).to.equal("enhanced");
    });
  });

  describe("values (loadConfig)", () => {
    const ok = { sesFromEmail: "noreply@example.org", ...GOOD_SECRETS };
    const load = (extra: Record<string, string>) => loadConfig({ repoRoot: repo, raw: raw({ ...ok, ...extra }) });

    it("has sane defaults", () => {
      const c = load({});
      expect(c).to.deep.include({
        tableNaming: "stack", protect: false, adoptExistingTables: false, handler: "auto", integratedPackaging: "zip",
        logRetentionDays: 30, throttlingRateLimit: 100, throttlingBurstLimit: 200, stageName: "api", jwtExpirationHours: 24,
        apiGatewayLogsRole: true,
      });
      expect(c.frontendUrl).to.equal(undefined);
      expect(c.corsOrigins).to.equal(undefined);
    });

    const bad: Array<[string, Record<string, string>, RegExp]> = [
      ["tableNaming", { tableNaming: "prefixed" }, /people-register:tableNaming must be one of stack, legacy/],
      ["protect", { protect: "yes" }, /people-register:protect must be true or false/],
      ["adoptExistingTables", { adoptExistingTables: "1" }, /people-register:adoptExistingTables must be true or false/],
      ["handler", { handler: "legacy" }, /people-register:handler must be one of auto, integrated, enhanced/],
      ["integratedPackaging", { integratedPackaging: "docker" }, /people-register:integratedPackaging must be one of zip, image/],
      ["logRetentionDays", { logRetentionDays: "10" }, /people-register:logRetentionDays must be one of 1, 3, 5/],
      ["logRetentionDays", { logRetentionDays: "ten" }, /people-register:logRetentionDays must be a whole number/],
      ["throttlingRateLimit", { throttlingRateLimit: "0" }, /people-register:throttlingRateLimit must be a number from 1/],
      ["throttlingBurstLimit", { throttlingBurstLimit: "2.5" }, /people-register:throttlingBurstLimit must be a whole number/],
      ["throttlingBurstLimit", { throttlingRateLimit: "300", throttlingBurstLimit: "200" }, /people-register:throttlingBurstLimit must be at least throttlingRateLimit/],
      ["stageName", { stageName: "my stage" }, /people-register:stageName may use only/],
      ["sesFromEmail", { sesFromEmail: "" }, /people-register:sesFromEmail is required/],
      ["sesFromEmail", { sesFromEmail: "not-an-email" }, /people-register:sesFromEmail must be an email address/],
      ["alarmEmail", { alarmEmail: "ops" }, /people-register:alarmEmail must be an email address/],
      ["frontendUrl", { frontendUrl: "http://app.example.org" }, /people-register:frontendUrl must be an https URL/],
      ["frontendUrl", { frontendUrl: "app.example.org" }, /people-register:frontendUrl must be an absolute URL/],
      ["corsOrigins", { corsOrigins: "*" }, /people-register:corsOrigins must list origins explicitly/],
      ["corsOrigins", { corsOrigins: '["https://a.example.org/path"]' }, /people-register:corsOrigins has "https:\/\/a.example.org\/path"/],
      ["corsOrigins", { corsOrigins: "[oops" }, /people-register:corsOrigins is not a valid JSON list/],
      ["jwtExpirationHours", { jwtExpirationHours: "0" }, /people-register:jwtExpirationHours must be a whole number from 1 to 720/],
      ["frontendDir", { frontendDir: "no-such-dir" }, /people-register:frontendDir must be a folder/],
      ["liveVersions", { liveVersions: "7" }, /people-register:liveVersions must name exactly the functions api and auth/],
      ["liveVersions", { liveVersions: '{"api":"7"}' }, /people-register:liveVersions must name exactly the functions api and auth/],
      ["liveVersions", { liveVersions: '{"api":"$LATEST","auth":"3"}' }, /people-register:liveVersions has "\$LATEST" for api/],
      ["liveVersions", { liveVersions: "{api:7}" }, /people-register:liveVersions must be JSON/],
    ];
    for (const [key, values, message] of bad) {
      it(`refuses a bad ${key} (${JSON.stringify(values)}) naming the key`, () => {
        expect(() => load(values)).to.throw(message);
      });
    }

    it("accepts CORS origins as a JSON list or comma-separated, normalized, http only for localhost", () => {
      expect(load({ corsOrigins: "https://a.example.org/, http://localhost:5173" }).corsOrigins).to.deep.equal(["https://a.example.org", "http://localhost:5173"]);
      expect(load({ corsOrigins: '["https://a.example.org"]' }).corsOrigins).to.deep.equal(["https://a.example.org"]);
      expect(normalizeOrigin("http://evil.example.org")).to.equal(undefined);
      expect(normalizeOrigin("https://user@a.example.org")).to.equal(undefined);
      expect(normalizeOrigin("https://A.example.org:443")).to.equal("https://a.example.org");
    });

    it("strips the trailing slash of frontendUrl", () => {
      expect(load({ frontendUrl: "https://app.example.org/" }).frontendUrl).to.equal("https://app.example.org");
    });
  });
});
