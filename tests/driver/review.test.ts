// Review stacks per pull request, against the fake engine (stack and workspace), a real HTTP API
// answering the smoke probes (write cycle included), and the GitHub comments API on 127.0.0.1.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { silentLogger } from "../../automation/command";
import { type DeployContext } from "../../automation/commands/deploy";
import { reviewConfig, reviewMarker, runReviewDown, runReviewGc, runReviewUp } from "../../automation/commands/review";
import { ADMIN, startProbeServer, type ProbeServer } from "../e2e/support/probe-server";
import { createsOnly } from "../fixtures/engine-events";
import { FakeGitHub } from "../fixtures/engine-events/fake-github";
import { FakeStack, FakeWorkspace } from "../fixtures/engine-events/fake-stack";

const context: DeployContext = { deployment_type: "infrastructure_only", api_sync_detected: false, execution_mode: "deployment", trigger_type: "pull_request", branch: "feature", commit: null, handler: "enhanced" };
const PROD_SECRET = "prod-jwt-secret-that-a-review-stack-must-never-get-000";

describe("review stacks: up, down, gc", () => {
  let dir: string;
  let api: ProbeServer;
  let gh: FakeGitHub;
  const base = () => ({ repoRoot: dir, reportsDir: path.join(dir, "reports"), log: silentLogger, signal: new AbortController().signal, progress: () => {}, retry: { sleep: async () => {} } });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "review-test-"));
    fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), [
      "config:",
      "  aws:region: eu-west-1",
      "  people-register:protect: \"true\"",
      "  people-register:tableNaming: legacy",
      "  people-register:sesFromEmail: no-reply@example.org",
      "  people-register:frontendUrl: https://register.example.org",
      "  people-register:jwtSecret:",
      "    secure: v1:AAAAprodciphertext",
      "",
    ].join("\n"));
    api = await startProbeServer();
    gh = new FakeGitHub();
    await gh.start();
  });
  afterEach(async () => {
    await api.close();
    await gh.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("up", () => {
    const up = (stack: FakeStack, seeded: string[] = []) =>
      runReviewUp({
        ...base(),
        pr: "42",
        repo: "acme/infra",
        env: { GITHUB_TOKEN: "t", GITHUB_API_URL: gh.url, JWT_SECRET: PROD_SECRET, AWS_REGION: "eu-west-1" },
        stack,
        admin: ADMIN,
        seed: async (table, who) => void seeded.push(`${table} ${who.email}`),
        deploy: { detect: () => context, prepare: async () => ({ handler: "enhanced" }), smokeRetries: 0, smokeTimeoutS: 5 },
      });
    const reviewStack = () => {
      const stack = new FakeStack("pr-42");
      stack.stackOutputs = { apiUrl: { value: api.url, secret: false }, tableNames: { value: { PeopleTable: "people-register-pr-42-PeopleTable" }, secret: false } };
      stack.previews = [{ events: createsOnly() }, {}, { events: createsOnly() }, {}];
      stack.ups = [{ events: createsOnly() }, { events: createsOnly() }];
      return stack;
    };

    it("creates pr-N with stack-named tables, no protection, its own secrets; deploys, runs the write cycle, comments", async () => {
      const stack = reviewStack();
      const seeded: string[] = [];
      const result = await up(stack, seeded);
      expect(result).to.include({ stack: "pr-42", status: "succeeded", api_url: api.url });
      expect(stack.config).to.deep.include({
        "aws:region": { value: "eu-west-1" },
        "people-register:sesFromEmail": { value: "no-reply@example.org" },
        "people-register:tableNaming": { value: "stack" },
        "people-register:protect": { value: "false" },
      });
      expect(stack.config).not.to.have.any.keys("people-register:frontendUrl");
      const jwt = stack.config["people-register:jwtSecret"];
      expect(jwt.secret).to.equal(true);
      expect(jwt.value).to.have.length.greaterThan(32).and.not.equal(PROD_SECRET);
      expect(seeded).to.deep.equal(["people-register-pr-42-PeopleTable admin@example.test"]);
      expect(result.smoke.status).to.equal("passed");
      expect(api.hits.get("POST /people")).to.be.greaterThan(0);
      expect(api.hits.get("DELETE /people/:id")).to.be.greaterThan(0);
      expect(gh.comments).to.have.length(1);
      const body = gh.comments[0].body;
      expect(body.startsWith(reviewMarker("pr-42"))).to.equal(true);
      expect(body).to.include(`- API: ${api.url}`).and.include("Smoke tests (write cycle included): passed").and.include("What the update changed");
      for (const f of fs.readdirSync(path.join(dir, "reports"))) expect(fs.readFileSync(path.join(dir, "reports", f), "utf8"), f).not.to.include(jwt.value);
    });

    it("updates the same stack, keeps its secrets, and updates the same comment", async () => {
      const stack = reviewStack();
      await up(stack);
      const jwt = stack.config["people-register:jwtSecret"].value;
      stack.previews = [{ events: createsOnly() }, {}];
      stack.ups = [{ events: createsOnly() }];
      await up(stack);
      expect(stack.config["people-register:jwtSecret"].value).to.equal(jwt);
      expect(gh.comments).to.have.length(1);
      expect(gh.requests.filter((r) => r.method === "PATCH")).to.have.length(1);
    });

    it("still comments, with the failure, when the smoke tests fail", async () => {
      api.fault("GET /health", { kind: "status", status: 500, body: { status: "unhealthy" } });
      const result = await up(reviewStack());
      expect(result.status).to.equal("failed");
      expect(gh.comments[0].body).to.include("Review stack `pr-42`: failed").and.include("Smoke tests (write cycle included): failed");
    });
  });

  describe("down and gc", () => {
    const env = {};

    it("destroys and removes pr-N", async () => {
      const ws = new FakeWorkspace();
      const stack = ws.add("pr-42", new Date());
      const result = await runReviewDown({ ...base(), env, stackName: "pr-42", stack, workspace: ws });
      expect(result.status).to.equal("removed");
      expect(stack.calls).to.deep.equal(["destroy"]);
      expect(ws.removed).to.deep.equal(["pr-42"]);
    });

    it("refuses any stack not named pr-*, before touching it", async () => {
      const ws = new FakeWorkspace();
      for (const name of ["prod", "pr-", "pr-0", "pr-42-old", "staging/pr-4x", "../pr-1"]) {
        const stack = ws.add(name);
        let caught: unknown;
        try {
          await runReviewDown({ ...base(), env, stackName: name, stack, workspace: ws });
        } catch (err) {
          caught = err;
        }
        expect((caught as Error)?.message, name).to.equal(`refusing to touch stack "${name}": review commands only act on stacks named pr-<number>`);
        expect(stack.calls, name).to.deep.equal([]);
      }
      expect(ws.removed).to.deep.equal([]);
    });

    it("is a no-op for a PR that never had a stack", async () => {
      const result = await runReviewDown({ ...base(), env, stackName: "pr-7", stack: null, workspace: new FakeWorkspace() });
      expect(result.status).to.equal("absent");
    });

    it("gc lists idle review stacks only, and destroys them with --yes", async () => {
      const now = new Date("2026-12-01T00:00:00Z");
      const days = (n: number) => new Date(now.getTime() - n * 86_400_000);
      const ws = new FakeWorkspace();
      ws.add("prod", days(90));
      ws.add("pr-1", days(30));
      ws.add("pr-2", days(1));
      ws.add("org/pr-3", undefined);
      const opts = { ...base(), env, maxAgeDays: 7, workspace: ws, now: () => now, open: async (name: string) => ws.stacks.get(name)!.stack };
      const listed = await runReviewGc({ ...opts, yes: false });
      expect(listed.stacks.map((s) => `${s.stack} ${s.action} ${s.reason}`)).to.deep.equal(["pr-1 listed idle for 30 day(s)", "pr-2 kept updated 1 day(s) ago", "org/pr-3 listed never updated"]);
      expect(ws.removed).to.deep.equal([]);
      const removed = await runReviewGc({ ...opts, yes: true });
      expect(removed.failed).to.equal(0);
      expect(ws.removed).to.deep.equal(["pr-1", "org/pr-3"]);
      expect([...ws.stacks.keys()]).to.deep.equal(["prod", "pr-2"]);
    });
  });

  it("review config copies only plain settings of the base stack and overrides the rest", () => {
    const config = reviewConfig(dir, "prod");
    expect(Object.keys(config).sort()).to.deep.equal([
      "aws:region", "people-register:adoptExistingTables", "people-register:apiGatewayLogsRole", "people-register:logRetentionDays",
      "people-register:protect", "people-register:sesFromEmail", "people-register:tableNaming",
    ]);
  });
});
