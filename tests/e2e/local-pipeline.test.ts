// `npm start` end to end: the real CLI in a child process runs the whole local pipeline (DynamoDB
// Local, the handler bundles, the API emulation, the smoke tests with a write cycle) and must pass,
// write every report, and leave nothing running. Also `local --serve` until SIGINT.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { REPO_ROOT } from "../../automation/shared/paths";

const CLI = path.join(REPO_ROOT, "automation", "cli.ts");

function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ["--require", "tsx/cjs", CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NOTIFY_WEBHOOK_URL: "", LOCAL_ADMIN_EMAIL: "", LOCAL_ADMIN_PASSWORD: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so the test can check that nothing it started (DynamoDB Local's JVM) outlives it.
    detached: true,
  });
}

/**
 * Processes still running in the CLI's process group (it leads the group: pgid = its pid), after
 * giving exiting ones a moment. Zombies are not running: esbuild's service process ends when node
 * does, and a container's PID 1 may never reap it.
 */
async function leftovers(child: ChildProcess): Promise<string[]> {
  let alive: string[] = [];
  for (let i = 0; i < 20; i++) {
    const ps = spawnSync("ps", ["-o", "pid=,stat=,args=", "-g", String(child.pid)], { encoding: "utf8" });
    alive = ps.stdout.split("\n").map((l) => l.trim()).filter((l) => l && !/^\d+\s+Z/.test(l));
    if (alive.length === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return alive;
}

function collect(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const readJson = (dir: string, name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), "utf8"));
const portOf = (url: string) => Number(new URL(url).port);

describe("local pipeline (npm start) end to end", function () {
  this.timeout(240_000);
  let dir: string;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-e2e-"));
  });
  afterEach(() => {
    for (const c of children.splice(0)) {
      try {
        process.kill(-c.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("passes, writes every report and stops everything", async () => {
    const child = spawnCli(["local", "--json", "--reports-dir", dir]);
    children.push(child);
    const { code, stdout, stderr } = await collect(child);
    expect(code, stderr.slice(-3000)).to.equal(0);
    const result = JSON.parse(stdout);
    expect(result.passed).to.equal(true);
    expect(result.steps.map((s: { name: string }) => s.name)).to.deep.equal(["detect", "select", "build", "start local target", "smoke tests", "reports", "stop"]);
    expect(result.steps.every((s: { status: string }) => s.status === "ok")).to.equal(true);

    for (const name of ["deployment-context.json", "api-integration.json", "deployment-summary.json", "test-report.json", "test-report.xml", "deployment-notification.md", "deployment-notification.json"]) {
      expect(fs.existsSync(path.join(dir, name)), name).to.equal(true);
    }
    const tests = readJson(dir, "test-report.json");
    expect(tests).to.include({ passed: true, mode: "write" });
    expect(tests.totals.critical_failed).to.equal(0);
    expect(tests.probes.filter((p: { status: string }) => p.status === "failed"), JSON.stringify(tests.probes)).to.deep.equal([]);
    expect(tests.probes.some((p: { name: string; passed: boolean }) => p.name === "write: deleted person is gone" && p.passed)).to.equal(true);

    const summary = readJson(dir, "deployment-summary.json");
    expect(summary).to.include({ deployment_successful: true, stack_status: "succeeded", handler_used: "enhanced" });
    expect(summary.deployment_metadata).to.include({ stack: "local", target: "embedded" });
    expect(summary.outputs.api_url).to.equal(tests.base_url);
    const context = readJson(dir, "deployment-context.json");
    expect(context.commit).to.match(/^[0-9a-f]{40}$/);
    expect(readJson(dir, "deployment-notification.json").status).to.equal("success");

    // Nothing left running or listening: neither the API nor DynamoDB Local.
    expect(await leftovers(child)).to.deep.equal([]);
    expect(await listening(portOf(result.url))).to.equal(false);
    expect(await listening(portOf(result.dynamoEndpoint))).to.equal(false);
    // The generated admin password is never written anywhere.
    const everything = stdout + stderr + fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), "utf8")).join("");
    expect(everything).not.to.match(/Aa1!/);
  });

  it("serves after the smoke tests until SIGINT, then stops DynamoDB Local and exits 0", async () => {
    const child = spawnCli(["local", "--serve", "--reports-dir", dir, "--outbox", path.join(dir, "outbox"), "--frontend-url", "https://front.example.test,http://localhost:4321", "--frontend-url", "http://127.0.0.1:8081/"], {
      LOCAL_ADMIN_EMAIL: "serve-admin@example.com",
      LOCAL_ADMIN_PASSWORD: "Serve-Adm1n-Pass!",
    });
    children.push(child);
    const done = collect(child);
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        const m = /API listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on("close", () => reject(new Error(`exited before serving: ${out}`)));
    });
    const health = await fetch(`${url}/health`);
    expect(health.status).to.equal(200);
    const login = await fetch(`${url}/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "serve-admin@example.com", password: "Serve-Adm1n-Pass!" }) });
    expect(login.status, "the admin from LOCAL_ADMIN_* can log in").to.equal(200);
    // --frontend-url (repeated, comma-separated) sets exactly the origins CORS allows.
    for (const origin of ["https://front.example.test", "http://localhost:4321", "http://127.0.0.1:8081"]) {
      const res = await fetch(`${url}/projects`, { headers: { origin } });
      expect(res.headers.get("access-control-allow-origin"), origin).to.equal(origin);
    }
    const vite = await fetch(`${url}/projects`, { headers: { origin: "http://localhost:5173" } });
    expect(vite.headers.get("access-control-allow-origin"), "the defaults are replaced").to.equal(null);
    // Ctrl-C in a terminal signals the whole foreground process group, DynamoDB Local's JVM included.
    process.kill(-child.pid!, "SIGINT");
    const { stderr } = await done;
    expect(child.exitCode, stderr.slice(-2000)).to.equal(0);
    expect(await leftovers(child)).to.deep.equal([]);
    expect(await listening(portOf(url))).to.equal(false);
    const endpoint = /DynamoDB Local on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)?.[1];
    expect(endpoint, stderr.slice(-2000)).to.be.a("string");
    expect(await listening(portOf(endpoint!))).to.equal(false);
    expect(stderr).not.to.include("Serve-Adm1n-Pass!");
  });

  it("refuses a --frontend-url that is not an http(s) origin, or without --serve, before starting anything", async () => {
    for (const args of [["--serve", "--frontend-url", "ftp://files.example.test"], ["--serve", "--frontend-url", "http://localhost:4321/app"], ["--serve", "--frontend-url", "*"], ["--frontend-url", "http://localhost:4321"]]) {
      const child = spawnCli(["local", ...args, "--reports-dir", dir]);
      children.push(child);
      const { code, stderr } = await collect(child);
      expect(code, stderr).to.not.equal(0);
      expect(stderr, args.join(" ")).to.include("--frontend-url");
      expect(stderr).not.to.include("start DynamoDB Local");
    }
  });

  it("fails in one line when the port is taken, leaving nothing running", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    // A passing report from an earlier run must not be mistaken for this run's.
    fs.writeFileSync(path.join(dir, "test-report.json"), JSON.stringify({ passed: true, probes: [{}], totals: {}, base_url: "http://x", started_at: new Date().toISOString() }));
    try {
      const child = spawnCli(["local", "--serve", "--port", String(port), "--reports-dir", dir]);
      children.push(child);
      const { code, stderr } = await collect(child);
      expect(code).to.equal(1);
      const errors = stderr.split("\n").filter((l) => l.startsWith("error: "));
      expect(errors, stderr).to.have.length(1);
      expect(errors[0]).to.include(String(port));
      // The failure is reported, not hidden: the summary says the deployment failed.
      expect(readJson(dir, "deployment-summary.json")).to.include({ deployment_successful: false, stack_status: "failed" });
      expect(readJson(dir, "deployment-notification.json").status).to.equal("failure");
      expect(fs.existsSync(path.join(dir, "test-report.json")), "stale test report removed").to.equal(false);
      expect(await leftovers(child)).to.deep.equal([]);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it("stops cleanly when interrupted while the target starts (SIGTERM), leaving no process behind", async () => {
    const child = spawnCli(["local", "--reports-dir", dir]);
    children.push(child);
    const done = collect(child);
    await new Promise<void>((resolve, reject) => {
      let err = "";
      child.stderr!.on("data", (d) => {
        err += d;
        if (err.includes("▶ start DynamoDB Local")) resolve();
      });
      child.on("close", () => reject(new Error(`exited before DynamoDB Local started: ${err}`)));
    });
    child.kill("SIGTERM");
    const { code, stderr } = await done;
    expect(code, stderr.slice(-2000)).to.equal(130);
    expect(stderr.trim().split("\n").filter((l) => l.startsWith("error: "))).to.deep.equal(["error: interrupted by SIGTERM"]);
    expect(await leftovers(child)).to.deep.equal([]);
  });
});
