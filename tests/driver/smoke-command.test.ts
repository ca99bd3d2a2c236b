// `smoke` as a user runs it: the real CLI in a child process against a real HTTP server.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { REPO_ROOT } from "../../automation/shared/paths";
import { ADMIN, type ProbeServer, startProbeServer } from "../e2e/support/probe-server";

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--require", "tsx/cjs", path.join(REPO_ROOT, "automation", "cli.ts"), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, SMOKE_ADMIN_EMAIL: "", SMOKE_ADMIN_PASSWORD: "", NOTIFY_WEBHOOK_URL: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("smoke command", function () {
  this.timeout(60_000);
  let server: ProbeServer;
  let dir: string;
  beforeEach(async () => {
    server = await startProbeServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "smoke-cmd-"));
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("exits 0 and writes test-report.json and .xml when every critical probe passes", async () => {
    const { code, stdout } = await runCli(["smoke", "--url", `${server.url}/`, "--reports-dir", dir]);
    expect(code, stdout).to.equal(0);
    expect(stdout).to.match(/smoke tests PASSED against http:\/\/127\.0\.0\.1:\d+ \(read-only\): 5 passed, 0 failed \(0 critical\), 1 skipped/);
    const report = JSON.parse(fs.readFileSync(path.join(dir, "test-report.json"), "utf8"));
    expect(report.passed).to.equal(true);
    expect(fs.readFileSync(path.join(dir, "test-report.xml"), "utf8")).to.include("<testsuites");
  });

  it("exits 1 and names the failing probe", async () => {
    server.fault("GET /auth/me", { kind: "body", body: { user: "anyone" } });
    const { code, stdout } = await runCli(["smoke", "--url", server.url, "--reports-dir", dir, "--retries", "0"]);
    expect(code).to.equal(1);
    expect(stdout).to.include("✖ GET /auth/me: expected 401, got 200");
  });

  it("takes write credentials from the environment only, and never prints them", async () => {
    const refused = await runCli(["smoke", "--url", server.url, "--write", "--reports-dir", dir]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr.trim()).to.equal("error: --write needs SMOKE_ADMIN_EMAIL and SMOKE_ADMIN_PASSWORD in the environment");

    const run = await runCli(["smoke", "--url", server.url, "--write", "--json", "--reports-dir", dir], { SMOKE_ADMIN_EMAIL: ADMIN.email, SMOKE_ADMIN_PASSWORD: ADMIN.password });
    expect(run.code, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout).mode).to.equal("write");
    const everything = run.stdout + run.stderr + fs.readFileSync(path.join(dir, "test-report.json"), "utf8") + fs.readFileSync(path.join(dir, "test-report.xml"), "utf8");
    expect(everything).not.to.include(ADMIN.password);
    expect(server.people.size).to.equal(0);
  });

  it("rejects a bad URL or timeout in one line with exit 2", async () => {
    const bad = await runCli(["smoke", "--url", "ftp://x", "--reports-dir", dir]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr.trim()).to.equal('error: URL must be http(s): "ftp://x"');
    const timeout = await runCli(["smoke", "--url", server.url, "--timeout-s", "0", "--reports-dir", dir]);
    expect(timeout.code).to.equal(2);
    expect(timeout.stderr.trim().split("\n")).to.have.length(1);
  });
});
