// A checkout with synced registry-api code: the selection picks the integrated handler, which cannot
// run on this machine; the local pipeline says so, runs the enhanced handler, passes, and marks the
// fallback in every report. Runs the real pipeline in-process on a real git checkout in a temp dir.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import type { Logger } from "../../automation/command";
import { REPO_ROOT } from "../../automation/paths";
import { runLocalPipeline } from "../../automation/pipeline";

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
    fs.writeFileSync(path.join(root, "lambda", "src", "app.py"), "from fastapi import FastAPI\napp = FastAPI()\n");
    fs.writeFileSync(path.join(root, "lambda", "requirements.txt"), "fastapi==0.115.0\npytest==8.3.0  # a test tool, dropped\n");
    const git = (...args: string[]) => execFileSync("git", args, { cwd: root, stdio: "pipe" });
    git("init", "-q", "-b", "main");
    git("-c", "user.email=t@example.test", "-c", "user.name=t", "add", "-A");
    git("-c", "user.email=t@example.test", "-c", "user.name=t", "commit", "-q", "-m", "synced");
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("says so, runs the enhanced handler locally, passes, and marks it in the reports", async () => {
    const reportsDir = path.join(root, "reports");
    const warnings: string[] = [];
    const log: Logger = { info() {}, warn: (m) => warnings.push(m), error() {}, step: async (_t, work) => work() };
    const env = { ...process.env, NOTIFY_WEBHOOK_URL: "", LOCAL_ADMIN_EMAIL: "", LOCAL_ADMIN_PASSWORD: "" };
    const result = await runLocalPipeline({ repoRoot: root, reportsDir, env, log, signal: new AbortController().signal });

    expect(result.passed, result.error ?? JSON.stringify(result.smoke?.probes.filter((p) => !p.passed))).to.equal(true);
    expect(result.handler).to.deep.include({ selected: "integrated", used: "enhanced" });
    expect(warnings.some((w) => /integrated handler selected, but .* cannot run locally; the enhanced handler runs locally instead/.test(w))).to.equal(true);

    const read = (name: string) => JSON.parse(fs.readFileSync(path.join(reportsDir, name), "utf8"));
    const summary = read("deployment-summary.json");
    expect(summary).to.include({ handler_selected: "integrated", handler_used: "enhanced", deployment_type: "api_sync", api_sync_detected: true });
    expect(summary.handler_note).to.include("cannot run locally");
    const integration = read("api-integration.json");
    expect(integration.handler).to.equal("integrated");
    expect(integration.dependencies_installed).to.equal(false);
    expect(integration.local_run.handler).to.equal("enhanced");
    expect(Object.keys(integration.local_run.bundles)).to.have.members(["api", "auth"]);
    expect(read("deployment-context.json")).to.include({ handler: "integrated", api_sync_detected: true });
    const notification = fs.readFileSync(path.join(reportsDir, "deployment-notification.md"), "utf8");
    expect(notification).to.include("enhanced (integrated handler selected");
  });
});
