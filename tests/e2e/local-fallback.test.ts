// A checkout with a synced FastAPI app: the selection picks the integrated handler and the local
// pipeline runs that app through the real shim in a Python worker (cached virtualenv from the local
// package index), probes it by its own OpenAPI document, and records the run in the reports.
// Runs the real pipeline in-process on a real git checkout in a temp dir.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { Logger } from "../../automation/command";
import { REPO_ROOT } from "../../automation/shared/paths";
import { runLocalPipeline } from "../../automation/local/pipeline";

describe("local pipeline with a synced app (integrated selected)", function () {
  this.timeout(240_000);
  let root: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "local-fallback-"));
    // The project's handlers and dependencies, by link; the synced app as real files.
    fs.symlinkSync(path.join(REPO_ROOT, "handlers"), path.join(root, "handlers"));
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(root, "node_modules"));
    fs.copyFileSync(path.join(REPO_ROOT, "package.json"), path.join(root, "package.json"));
    fs.mkdirSync(path.join(root, "lambda", "src"), { recursive: true });
    fs.writeFileSync(path.join(root, "lambda", "main.py"), "from src.app import app\n");
    fs.writeFileSync(path.join(root, "lambda", "src", "app.py"), [
      "import os",
      "from fastapi import FastAPI",
      "app = FastAPI()",
      "@app.get('/health')",
      "def health():",
      "    return {'status': 'healthy', 'environment': os.getenv('ENVIRONMENT'), 'jwt': bool(os.getenv('JWT_SECRET')), 'testing': os.getenv('TESTING')}",
      "",
    ].join("\n"));
    fs.writeFileSync(path.join(root, "lambda", "requirements.txt"), "fastapi==0.115.0\npytest==8.3.0  # a test tool, dropped\n");
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
    expect(integration.environment.provided).to.deep.equal(["ENVIRONMENT", "JWT_SECRET"]);
    expect(integration.environment.unset).to.have.property("TESTING");
    expect(read("deployment-context.json")).to.include({ handler: "integrated", api_sync_detected: true });
  });
});
