// The local target's integrated mode: a Python function run the way Lambda runs it. A small Lambda
// Runtime API (the documented /2018-06-01/runtime paths) on 127.0.0.1 hands events to a Python worker
// process (python/lambda_worker.py) that imports the handler once and answers each event; the worker
// runs in a cached virtualenv built for the host's Python from the app's requirements.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { type Logger, silentLogger } from "../command";
import { normalizeName } from "../sync/requirements";
import { LocalTargetError } from "./errors";
import type { ProxyHandler } from "./gateway";

export const WORKER_DIR = path.join(__dirname, "python");
const RUNTIME_PREFIX = "/2018-06-01/runtime";

// ---------------------------------------------------------------- the virtualenv

/** An exact pin the package index could not give, and what was installed instead. */
export interface Substitution {
  name: string;
  requested: string;
  /** The installed version, or null when the package is not in the index at all (left out). */
  used: string | null;
}

export interface LocalVenv {
  dir: string;
  python: string;
  /** Host Python version (major.minor.micro). */
  pythonVersion: string;
  substitutions: Substitution[];
  /** True when the cached virtualenv was reused. */
  cached: boolean;
  /** "mangum" when it is installed, else the worker's own adapter runs. */
  adapter: "mangum" | "local-asgi-adapter";
}

interface Requirement {
  line: string;
  name: string;
  /** The specifier text (`==1.2.3`, `>=1,<2`), or "" when unpinned. */
  spec: string;
}

function parseRequirements(text: string): Requirement[] {
  const out: Requirement[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (!line || line.startsWith("#") || line.startsWith("-")) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*([^;]*)(;.*)?$/.exec(line);
    if (m) out.push({ line, name: m[1]!, spec: (m[3] ?? "").trim() });
  }
  return out;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    let output = "";
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"], signal });
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", (err) => {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") reject(new LocalTargetError(`${cmd} not found: the integrated handler runs locally on the host's Python 3 (set LOCAL_PYTHON)`));
      else reject(err);
    });
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** pip, told not to wait on unreachable indexes: with a local index a run takes seconds, not minutes. */
function pipEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PIP_RETRIES: "0", PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1", PIP_ROOT_USER_ACTION: "ignore", PYTHONDONTWRITEBYTECODE: "1" };
}

function installedVersions(python: string, env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  return run(python, ["-m", "pip", "list", "--format", "json"], pipEnv(env)).then(({ output }) => {
    const list = JSON.parse(output.slice(output.indexOf("["))) as Array<{ name: string; version: string }>;
    return new Map(list.map((p) => [normalizeName(p.name), p.version]));
  });
}

const unavailableName = (output: string): string | undefined =>
  (/No matching distribution found for ([A-Za-z0-9._-]+)/.exec(output) ?? /Could not find a version that satisfies the requirement ([A-Za-z0-9._-]+)/.exec(output))?.[1];

/**
 * A virtualenv for the host's Python with the app's requirements, cached under `cacheDir` by the
 * requirements and the interpreter. Exact pins first; when the index cannot give them, every pin is
 * relaxed to the newest available version (and packages absent from the index are left out), and
 * each difference is recorded. Only the local run does this: the Lambda package keeps exact pins.
 */
export async function ensureVenv(opts: { requirementsText: string; python?: string; cacheDir: string; env?: NodeJS.ProcessEnv; log?: Logger; signal?: AbortSignal }): Promise<LocalVenv> {
  const log = opts.log ?? silentLogger;
  const env = opts.env ?? process.env;
  const hostPython = opts.python ?? env.LOCAL_PYTHON ?? "python3";
  const probe = await run(hostPython, ["-c", "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"], env, opts.signal);
  if (probe.code !== 0) throw new LocalTargetError(`${hostPython} does not run: ${probe.output.trim().split("\n").pop()}`);
  const [executable, pythonVersion] = probe.output.trim().split("\n").slice(-2) as [string, string];
  const key = createHash("sha256").update(`${executable}\n${pythonVersion}\n${opts.requirementsText}`).digest("hex").slice(0, 16);
  const dir = path.join(opts.cacheDir, key);
  const python = path.join(dir, "bin", "python");
  const readyFile = path.join(dir, "venv-ready.json");
  if (fs.existsSync(readyFile)) {
    const ready = JSON.parse(fs.readFileSync(readyFile, "utf8")) as Omit<LocalVenv, "cached">;
    // The cache may be reached by another path than the one that built it (a moved checkout, a link).
    return { ...ready, dir, python, cached: true };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(opts.cacheDir, { recursive: true });
  const made = await run(executable, ["-m", "venv", dir], env, opts.signal);
  if (made.code !== 0) throw new LocalTargetError(`cannot create a virtualenv with ${executable}: ${made.output.trim().split("\n").pop()}`);

  const requirements = parseRequirements(opts.requirementsText);
  const pip = (lines: string[]) => run(python, ["-m", "pip", "install", ...lines], pipEnv(env), opts.signal);
  let result = await log.step(`pip install ${requirements.length} exact requirements (host Python ${pythonVersion})`, () => pip(requirements.map((r) => r.line)));
  const missing = new Set<string>();
  if (result.code !== 0) {
    log.warn(`the package index cannot give every exact pin (${unavailableName(result.output) ?? "see pip's output"}): installing the newest available versions instead`);
    // Relax every pin: a newer pin elsewhere may need newer neighbours, so relaxing one at a time does not converge.
    for (let round = 0; round <= requirements.length; round++) {
      const lines = requirements.filter((r) => !missing.has(normalizeName(r.name))).map((r) => r.name);
      result = await pip(lines);
      if (result.code === 0) break;
      const absent = unavailableName(result.output);
      if (!absent || missing.has(normalizeName(absent))) throw new LocalTargetError(`pip cannot install the app's requirements: ${result.output.trim().split("\n").filter((l) => l.startsWith("ERROR")).pop() ?? "see pip's output"}`);
      missing.add(normalizeName(absent));
    }
  }
  const versions = await installedVersions(python, env);
  const substitutions: Substitution[] = [];
  for (const r of requirements) {
    const used = versions.get(normalizeName(r.name)) ?? null;
    const pinned = /^==\s*([^,\s]+)$/.exec(r.spec)?.[1];
    const differs = used === null ? true : pinned !== undefined ? pinned !== used : Boolean(r.spec) && !(await satisfies(python, r.line, env));
    if (differs) substitutions.push({ name: r.name, requested: r.line, used });
  }
  const ready: Omit<LocalVenv, "cached"> = { dir, python, pythonVersion, substitutions, adapter: versions.has("mangum") ? "mangum" : "local-asgi-adapter" };
  fs.writeFileSync(readyFile, `${JSON.stringify(ready, null, 2)}\n`);
  return { ...ready, cached: false };
}

/** Whether the installed distribution meets a requirement line (for ranges such as urllib3<2). */
async function satisfies(python: string, line: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const code = "import sys\nfrom importlib.metadata import version\nfrom pip._vendor.packaging.requirements import Requirement\nr = Requirement(sys.argv[1])\nsys.exit(0 if r.specifier.contains(version(r.name), prereleases=True) else 1)";
  return (await run(python, ["-c", code, line], env)).code === 0;
}

// ---------------------------------------------------------------- the Runtime API and the worker

export interface PythonFunction {
  handler: ProxyHandler;
  /** What the worker reported at start: its adapter and Python. */
  info: { adapter: string; python: string };
  stop(): Promise<void>;
}

interface Pending {
  id: string;
  event: APIGatewayProxyEvent;
  deadline: number;
  arn: string;
  resolve(result: APIGatewayProxyResult): void;
  reject(err: Error): void;
}

export interface PythonFunctionOptions {
  /** The function's code folder (LAMBDA_TASK_ROOT). */
  taskRoot: string;
  /** `module.function`. */
  handler: string;
  functionName: string;
  python: string;
  /** The function's environment (the worker gets nothing else from this process but PATH and HOME). */
  env: Record<string, string>;
  log?: Logger;
}

/** Start a worker behind a Runtime API; resolves once the handler module has been imported. */
export async function startPythonFunction(opts: PythonFunctionOptions): Promise<PythonFunction> {
  const log = opts.log ?? silentLogger;
  const queue: Pending[] = [];
  const inFlight = new Map<string, Pending>();
  let waiting: ((p: Pending) => void) | undefined;
  let failure: Error | undefined;
  let onInit: { resolve(): void; reject(err: Error): void } | undefined;
  const initialised = new Promise<void>((resolve, reject) => (onInit = { resolve, reject }));

  const fail = (err: Error) => {
    failure ??= err;
    onInit?.reject(err);
    for (const p of [...queue.splice(0), ...inFlight.values()]) p.reject(err);
    inFlight.clear();
  };

  const readJson = (req: http.IncomingMessage) =>
    new Promise<unknown>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"));
        } catch {
          resolve(undefined);
        }
      });
    });

  const server = http.createServer(async (req, res) => {
    const url = req.url ?? "";
    const reply = (status: number, body: unknown = { status: "OK" }, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "Content-Type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && url === `${RUNTIME_PREFIX}/invocation/next`) {
      onInit?.resolve();
      const next = queue.shift() ?? (await new Promise<Pending>((resolve) => (waiting = resolve)));
      inFlight.set(next.id, next);
      reply(200, next.event, {
        "Lambda-Runtime-Aws-Request-Id": next.id,
        "Lambda-Runtime-Deadline-Ms": String(next.deadline),
        "Lambda-Runtime-Invoked-Function-Arn": next.arn,
      });
      return;
    }
    const m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (req.method === "POST" && m) {
      const body = await readJson(req);
      const pending = inFlight.get(m[1]!);
      inFlight.delete(m[1]!);
      if (!pending) return reply(400, { errorMessage: "unknown request id" });
      if (m[2] === "response") pending.resolve(body as APIGatewayProxyResult);
      else pending.reject(new Error(`${opts.functionName} failed: ${(body as { errorType?: string; errorMessage?: string })?.errorType}: ${(body as { errorMessage?: string })?.errorMessage}`));
      return reply(202);
    }
    if (req.method === "POST" && url === `${RUNTIME_PREFIX}/init/error`) {
      const body = (await readJson(req)) as { errorType?: string; errorMessage?: string } | undefined;
      fail(new LocalTargetError(`${opts.functionName} could not start: ${body?.errorType}: ${body?.errorMessage}`));
      return reply(202);
    }
    reply(404, { errorMessage: "not a Runtime API path" });
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: "127.0.0.1" }, () => resolve()));
  const port = (server.address() as AddressInfo).port;

  const info = { adapter: "unknown", python: "unknown" };
  const child: ChildProcess = spawn(opts.python, [path.join(WORKER_DIR, "lambda_worker.py")], {
    cwd: opts.taskRoot,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      LANG: "C.UTF-8",
      PYTHONUNBUFFERED: "1",
      PYTHONDONTWRITEBYTECODE: "1",
      ...opts.env,
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`,
      LAMBDA_TASK_ROOT: opts.taskRoot,
      _HANDLER: opts.handler,
      AWS_LAMBDA_FUNCTION_NAME: opts.functionName,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let firstLine = true;
  child.stdout!.on("data", (d: Buffer) => {
    for (const line of d.toString().split("\n").filter(Boolean)) {
      if (firstLine) {
        firstLine = false;
        try {
          Object.assign(info, JSON.parse(line) as object);
          continue;
        } catch {
          // not the worker's banner: the app printed first
        }
      }
      log.info(`[${opts.functionName}] ${line}`);
    }
  });
  child.stderr!.on("data", (d: Buffer) => {
    for (const line of d.toString().split("\n").filter(Boolean)) log.info(`[${opts.functionName}] ${line}`);
  });
  let exited = false;
  child.on("exit", (code, sig) => {
    exited = true;
    fail(new LocalTargetError(`the ${opts.functionName} worker exited (${sig ?? `code ${code}`})`));
  });
  child.on("error", (err) => {
    // A process that never started emits no "exit": stop() must not wait for one.
    if (child.pid === undefined) exited = true;
    fail(new LocalTargetError(`cannot start ${opts.python}: ${err.message}`));
  });

  const stop = async () => {
    if (!exited) {
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await gone;
      clearTimeout(timer);
    }
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  try {
    await initialised;
  } catch (err) {
    await stop();
    throw err;
  }

  const handler: ProxyHandler = (event: APIGatewayProxyEvent, context: Context) =>
    new Promise<APIGatewayProxyResult>((resolve, reject) => {
      if (failure) return reject(failure);
      const pending: Pending = {
        id: context.awsRequestId || randomUUID(),
        event,
        deadline: Date.now() + context.getRemainingTimeInMillis(),
        arn: context.invokedFunctionArn,
        resolve,
        reject,
      };
      // One event at a time per worker, as one Lambda execution environment handles them.
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(pending);
      } else queue.push(pending);
    });
  return { handler, info, stop };
}
