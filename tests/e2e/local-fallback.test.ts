// A checkout with a synced FastAPI app: the selection picks the integrated handler and the local
// pipeline runs that app through the real shim in a Python worker (cached virtualenv from the local
// package index), probes it by its own OpenAPI document, and records the run in the reports.
// Runs the real pipeline in-process on a real git checkout in a temp dir.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import type { Logger } from "../../automation/command";
import { runLocalPipeline } from "../../automation/local/pipeline";
import { standinCheckout } from "./support/standin-app";

describe("local pipeline with a synced app (integrated selected)", function () {
  this.timeout(240_000);
  let root: string;
  before(() => {
    // The stand-in registry-api app (HEAD's variable names), synced into lambda/; its virtualenv is shared with the other e2e tests.
    root = standinCheckout("v2", "local-fallback-");
    const git = (...args: string[]) => execFileSync("git", args, { cwd: root, stdio: "pipe" });
    git("init", "-q", "-b", "main");
    git("-c", "user.email=t@example.test", "-c", "user.name=t", "add", "-A");
    git("-c", "user.email=t@example.test", "-c", "user.name=t", "commit", "-q", "-m", "synced");
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("runs the synced app through the shim, passes the app's own probes, and records substitutions and the adapter", async () => {
    const reportsDir = path.join(root, "reports");
    const warnings: string[] = [];
    const log: Logger = { info() {}, warn: (m) => warnings.push(m), error() {}, step: async (_t, work) => work() };
    const env = { ...process.env, NOTIFY_WEBHOOK_URL: "", LOCAL_ADMIN_EMAIL: "", LOCAL_ADMIN_PASSWORD: "" };
    const result = await runLocalPipeline({ repoRoot: root, reportsDir, env, log, signal: new AbortController().signal });

    expect(result.passed, result.error ?? JSON.stringify(result.smoke?.probes.filter((p) => !p.passed))).to.equal(true);
    expect(result.handler).to.deep.include({ selected: "integrated", used: "integrated" });
    expect(result.smoke!.probes.map((p) => `${p.method} ${p.path}`)).to.include.members(["GET /health", "GET /openapi.json"]);

    const read = (name: string) => JSON.parse(fs.readFileSync(path.join(reportsDir, name), "utf8"));
    const summary = read("deployment-summary.json");
    expect(summary).to.include({ handler_selected: "integrated", handler_used: "integrated", deployment_type: "api_sync", api_sync_detected: true });
    const integration = read("api-integration.json");
    expect(integration.handler).to.equal("integrated");
    expect(integration.local_run.handler).to.equal("integrated");
    // The index has a newer fastapi than the pin, and no mangum: both recorded, the worker's adapter runs.
    expect(integration.local_run.substitutions.map((s: { name: string }) => s.name)).to.include.members(["fastapi", "mangum"]);
    expect(integration.local_run.adapter).to.match(/own Lambda-event -> ASGI adapter/);
    expect(integration.environment.provided).to.deep.equal(["EMAIL_TEST_MODE", "ENVIRONMENT", "JWT_SECRET", "PEOPLE_TABLE_V2_NAME", "PROJECTS_TABLE_V2_NAME", "SUBSCRIPTIONS_TABLE_V2_NAME"]);
    expect(integration.environment.unset).to.have.property("TESTING");
    expect(read("deployment-context.json")).to.include({ handler: "integrated", api_sync_detected: true });
  });
});
