// AWS's DynamoDB Local, run with the machine's Java. The jar ships in the npm package
// amplify-dynamodb-simulator (its `emulator/` folder); we fetch that package once with `npm pack`
// into a cache and keep only that folder. A small launcher (LoopbackDynamoDbLocal.java) binds it to
// 127.0.0.1 and makes it exit with its parent; without a JDK the stock launcher is used instead.
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { type Logger, silentLogger } from "../command";
import { LocalTargetError } from "./errors";

const execFileAsync = promisify(execFile);

export const DYNAMODB_LOCAL_PACKAGE = "amplify-dynamodb-simulator";
/** Pinned: the launcher relies on this release's internals (DynamoDB Local 1.25.1). */
export const DYNAMODB_LOCAL_PACKAGE_VERSION = "2.9.30";
/** The registry's integrity of that tarball, checked after download: the jar runs with your user's rights. */
export const DYNAMODB_LOCAL_PACKAGE_INTEGRITY = "sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==";
const JAR = "DynamoDBLocal.jar";
const LAUNCHER_CLASS = "LoopbackDynamoDbLocal";
const LAUNCHER_SOURCE = path.join(__dirname, `${LAUNCHER_CLASS}.java`);
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const BIND_ATTEMPTS = 3;

export interface DynamoDbLocal {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string;
  port: number;
  /** The Java process. */
  pid: number;
  /** Stops the Java process and waits until it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Persist data in this folder (created when missing); without it data lives in memory. */
  dbPath?: string;
  /** Port for DynamoDB Local on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  log?: Logger;
  signal?: AbortSignal;
}

function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "people-register");
}

/** Where the emulator folder is cached: `$DYNAMODB_LOCAL_DIR`, else `~/.cache/people-register/dynamodb-local-2.9.30`. */
export function dynamoDbLocalDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DYNAMODB_LOCAL_DIR ? path.resolve(env.DYNAMODB_LOCAL_DIR) : path.join(cacheRoot(env), `dynamodb-local-${DYNAMODB_LOCAL_PACKAGE_VERSION}`);
}

/** True when an executable called `name` is on PATH (checked without running it). */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const names = process.platform === "win32" ? [`${name}.exe`, `${name}.cmd`] : [name];
  for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    for (const candidate of names) {
      try {
        fs.accessSync(path.join(dir, candidate), fs.constants.X_OK);
        return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}

/** True when `java` is on PATH. */
export const javaAvailable = (env: NodeJS.ProcessEnv = process.env): boolean => onPath("java", env);

const hasJar = (dir: string) => fs.existsSync(path.join(dir, JAR));

/**
 * Make sure the emulator folder is in the cache and return it. Safe when several processes populate
 * the cache at once: each extracts into its own temp folder and renames it into place; the loser of
 * the race discards its copy.
 */
export async function ensureDynamoDbLocal(opts: { dir?: string; log?: Logger; signal?: AbortSignal } = {}): Promise<string> {
  const dir = opts.dir ?? dynamoDbLocalDir();
  if (hasJar(dir)) return dir;
  const log = opts.log ?? silentLogger;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(path.dirname(dir), `.${path.basename(dir)}-`));
  try {
    const spec = `${DYNAMODB_LOCAL_PACKAGE}@${DYNAMODB_LOCAL_PACKAGE_VERSION}`;
    await log.step(`fetch DynamoDB Local (${spec}, once) into ${dir}`, async () => {
      let tarball: string;
      try {
        const { stdout } = await execFileAsync("npm", ["pack", spec, "--json", "--pack-destination", tmp], {
          cwd: tmp,
          signal: opts.signal,
          maxBuffer: 16 * 1024 * 1024,
        });
        const packed = JSON.parse(stdout) as Array<{ filename: string }>;
        tarball = path.join(tmp, packed[0].filename);
      } catch (err) {
        throw new LocalTargetError(
          `could not fetch ${spec} with npm (${firstLine(err)}); set DYNAMODB_LOCAL_DIR to a folder holding ${JAR} and DynamoDBLocal_lib/`,
        );
      }
      const integrity = `sha512-${createHash("sha512").update(fs.readFileSync(tarball)).digest("base64")}`;
      if (integrity !== DYNAMODB_LOCAL_PACKAGE_INTEGRITY) {
        throw new LocalTargetError(`${spec} from the registry does not match its pinned integrity (got ${integrity.slice(0, 24)}…): not using it`);
      }
      try {
        await execFileAsync("tar", ["-xzf", tarball, "-C", tmp, "package/emulator"], { signal: opts.signal });
      } catch (err) {
        throw new LocalTargetError(`could not extract ${path.basename(tarball)} (${firstLine(err)})`);
      }
    });
    const extracted = path.join(tmp, "package", "emulator");
    if (!hasJar(extracted)) throw new LocalTargetError(`${spec} has no emulator/${JAR}: the package layout changed`);
    try {
      fs.renameSync(extracted, dir);
    } catch (err) {
      // Another process finished first: its copy is as good as ours.
      if (!hasJar(dir)) throw new LocalTargetError(`could not move DynamoDB Local into ${dir} (${firstLine(err)})`);
    }
    return dir;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Compile the loopback launcher once (cached by the hash of its source). Returns the class folder,
 * or undefined when no JDK is available: the caller then falls back to the stock launcher.
 */
function ensureLauncher(emulatorDir: string, log: Logger): string | undefined {
  if (!fs.existsSync(LAUNCHER_SOURCE)) return undefined;
  const source = fs.readFileSync(LAUNCHER_SOURCE);
  const hash = createHash("sha256").update(source).update(DYNAMODB_LOCAL_PACKAGE_VERSION).digest("hex").slice(0, 12);
  const classesDir = path.join(cacheRoot(), `dynamodb-local-launcher-${hash}`);
  if (fs.existsSync(path.join(classesDir, `${LAUNCHER_CLASS}.class`))) return classesDir;
  fs.mkdirSync(path.dirname(classesDir), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(path.dirname(classesDir), ".launcher-"));
  try {
    const javac = spawnSync("javac", ["--release", "11", "-nowarn", "-cp", path.join(emulatorDir, JAR), "-d", tmp, LAUNCHER_SOURCE], {
      encoding: "utf8",
      timeout: 120_000,
    });
    if (javac.error || javac.status !== 0) {
      log.warn(
        `no usable javac (${javac.error ? firstLine(javac.error) : firstLine(javac.stderr)}): DynamoDB Local uses its stock launcher, which listens on all interfaces`,
      );
      return undefined;
    }
    try {
      fs.renameSync(tmp, classesDir);
    } catch {
      // compiled concurrently by another process
    }
    return fs.existsSync(path.join(classesDir, `${LAUNCHER_CLASS}.class`)) ? classesDir : undefined;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A free port on 127.0.0.1 right now (another process may still take it before we bind: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1" }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves true when nothing listens on 127.0.0.1:port (we could bind it). */
export function portIsFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

// Children still running: killed when this process exits, so none is left behind.
const running = new Set<ChildProcess>();
const startedPids: number[] = [];
let exitHookInstalled = false;

/** Every Java process this module has spawned (running or not), oldest first: lets tests prove none is left. */
export function spawnedDynamoDbLocalPids(): readonly number[] {
  return startedPids;
}

function track(child: ChildProcess): void {
  if (child.pid !== undefined) startedPids.push(child.pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of running) c.kill("SIGKILL");
    });
  }
  running.add(child);
  child.once("exit", () => running.delete(child));
}

/** Start DynamoDB Local on 127.0.0.1 and wait until it answers. Throws LocalTargetError with one actionable line. */
export async function startDynamoDbLocal(opts: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const log = opts.log ?? silentLogger;
  if (!javaAvailable()) {
    throw new LocalTargetError("Java was not found on PATH: DynamoDB Local needs Java 17 or newer (e.g. `apt-get install openjdk-17-jre-headless`)");
  }
  if (opts.port && !(await portIsFree(opts.port))) {
    throw new LocalTargetError(`port ${opts.port} for DynamoDB Local is already in use: pick another, or 0 for a free one`);
  }
  const dir = await ensureDynamoDbLocal({ log, signal: opts.signal });
  const launcher = ensureLauncher(dir, log);
  const dbPath = opts.dbPath ? path.resolve(opts.dbPath) : undefined;
  const unlock = dbPath ? lockDataFolder(dbPath) : () => {};

  for (let attempt = 1; ; attempt++) {
    let port = opts.port ?? 0;
    try {
      port ||= await freePort();
      const ddb = await launch({ dir, launcher, port, dbPath, signal: opts.signal });
      return {
        ...ddb,
        stop: async () => {
          await ddb.stop();
          unlock();
        },
      };
    } catch (err) {
      // A chosen free port can be taken between our check and Java's bind: try another one.
      if (err instanceof PortTaken && !opts.port && attempt < BIND_ATTEMPTS) continue;
      unlock();
      if (err instanceof PortTaken) throw new LocalTargetError(`port ${port} for DynamoDB Local is already in use: pick another, or 0 for a free one`);
      throw err;
    }
  }
}

class PortTaken extends Error {}

const LOCK_FILE = ".people-register.lock";

/** Exclusive use of a data folder (two DynamoDB Local processes on one SQLite file corrupt it). Returns the release function. */
function lockDataFolder(dbPath: string): () => void {
  fs.mkdirSync(dbPath, { recursive: true });
  const lock = path.join(dbPath, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: "wx" });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        fs.rmSync(lock, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new LocalTargetError(`cannot use the data folder ${dbPath} (${firstLine(err)})`);
      const owner = Number(fs.readFileSync(lock, "utf8").trim());
      if (Number.isInteger(owner) && owner > 0 && processExists(owner)) {
        throw new LocalTargetError(`the data folder ${dbPath} is in use by process ${owner}: stop that target or use another --db-path`);
      }
      // Left behind by a process that is gone: take it over.
      fs.rmSync(lock, { force: true });
    }
  }
  throw new LocalTargetError(`cannot lock the data folder ${dbPath}`);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function launch(o: { dir: string; launcher?: string; port: number; dbPath?: string; signal?: AbortSignal }): Promise<DynamoDbLocal> {
  const storage = o.dbPath ? ["-dbPath", o.dbPath] : ["-inMemory"];
  const flags = ["-port", String(o.port), ...storage, "-sharedDb", "-disableTelemetry"];
  const libPath = `-Djava.library.path=${path.join(o.dir, "DynamoDBLocal_lib")}`;
  const args = o.launcher
    ? [libPath, "-cp", [path.join(o.dir, JAR), o.launcher].join(path.delimiter), LAUNCHER_CLASS, ...flags]
    : [libPath, "-jar", path.join(o.dir, JAR), ...flags];
  // Same process group as Node: a terminal's Ctrl-C also reaches Java, whose shutdown hooks close the
  // data file cleanly, and group-wide checks for leftover processes see it.
  const child = spawn("java", args, { cwd: o.dir, stdio: ["pipe", "pipe", "pipe"] });
  track(child);
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    output.push(...chunk.toString("utf8").split(/\r?\n/).filter(Boolean));
    if (output.length > 50) output.splice(0, output.length - 50);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  // An EPIPE on stdin after Java exits must not become an uncaught error.
  child.stdin.on("error", () => {});

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once("error", (err) => {
      spawnError = err;
      resolve();
    });
  });

  const endpoint = `http://127.0.0.1:${o.port}`;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return exitPromise;
    stopped = true;
    if (exited || spawnError) return;
    child.stdin.end();
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exitPromise;
    clearTimeout(timer);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    for (;;) {
      if (spawnError) {
        const code = (spawnError as NodeJS.ErrnoException).code;
        throw new LocalTargetError(
          code === "ENOENT" ? "Java was not found on PATH: DynamoDB Local needs Java 17 or newer" : `could not start Java (${spawnError.message})`,
        );
      }
      if (exited) {
        const text = output.join("\n");
        if (/BindException|Address already in use/i.test(text)) throw new PortTaken();
        const why = output.find((l) => /error|exception/i.test(l)) ?? output.at(-1) ?? "no output";
        throw new LocalTargetError(`DynamoDB Local did not start: it exited with ${exited.code ?? exited.signal} (${why.trim()})`);
      }
      if (o.signal?.aborted) throw new LocalTargetError("DynamoDB Local start was cancelled");
      if (Date.now() > deadline) {
        throw new LocalTargetError(`DynamoDB Local did not start within ${START_TIMEOUT_MS / 1000} s (last output: ${output.at(-1)?.trim() ?? "none"})`);
      }
      if (await answers(endpoint)) break;
      await Promise.race([exitPromise, new Promise((r) => setTimeout(r, 100))]);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, port: o.port, pid: child.pid as number, stop };
}

/** DynamoDB Local answers a bare GET with a 400 in DynamoDB's error shape; another server would not. */
async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
    const text = await res.text();
    return text.includes("com.amazonaws.dynamodb");
  } catch {
    return false;
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err ?? "");
  return (text.split(/\r?\n/).find((l) => l.trim()) ?? "unknown error").trim().slice(0, 300);
}
