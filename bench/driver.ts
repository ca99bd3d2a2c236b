// The local pipeline (`npm start`): wall time split by step, and the driver's own overhead —
// everything but DynamoDB Local's start and the smoke requests. Target: overhead under 3 s.
// Printed, never asserted (shared, noisy machines).
import { AsyncLocalStorage } from "node:async_hooks";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Logger } from "../automation/command";
import { REPO_ROOT } from "../automation/shared/paths";

const OVERHEAD_TARGET_MS = 3000;
const ms = (n: number) => `${Math.round(n)} ms`.padStart(9);

/** A silent logger that records how long every (nested) step took, by title. */
function recordingLogger(): { log: Logger; timings: { title: string; ms: number; depth: number }[] } {
  const timings: { title: string; ms: number; depth: number }[] = [];
  // Steps overlap (the build runs while DynamoDB Local boots): nesting follows the async context, not a counter.
  const nesting = new AsyncLocalStorage<number>();
  const log: Logger = {
    info() {},
    warn() {},
    error() {},
    async step(title, work) {
      const depth = nesting.getStore() ?? 0;
      const entry = { title, ms: 0, depth };
      timings.push(entry);
      const started = performance.now();
      try {
        return await nesting.run(depth + 1, work);
      } finally {
        entry.ms = performance.now() - started;
      }
    },
  };
  return { log, timings };
}

export async function run(): Promise<void> {
  // 1. Process start-up as `npm start` pays it: node + tsx + the CLI + the `local` command's imports.
  const t0 = performance.now();
  const help = spawnSync(process.execPath, ["--require", "tsx/cjs", path.join(REPO_ROOT, "automation", "cli.ts"), "local", "--help"], { cwd: REPO_ROOT, encoding: "utf8" });
  const startupMs = performance.now() - t0;
  if (help.status !== 0) throw new Error(`cli local --help failed: ${help.stderr}`);

  // 2. The pipeline itself, in this process, with every step timed.
  const reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-driver-"));
  const { log, timings } = recordingLogger();
  const env = { ...process.env, NOTIFY_WEBHOOK_URL: "", LOCAL_ADMIN_EMAIL: "", LOCAL_ADMIN_PASSWORD: "", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  try {
    const i0 = performance.now();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runLocalPipeline } = require("../automation/local/pipeline") as typeof import("../automation/local/pipeline");
    const importMs = performance.now() - i0;
    const w0 = performance.now();
    const result = await runLocalPipeline({ repoRoot: REPO_ROOT, reportsDir, env, log, signal: new AbortController().signal });
    const wallMs = performance.now() - w0;
    if (!result.passed) process.stdout.write(`warning: the pipeline did not pass (${result.error ?? "a critical probe failed"}); figures below are still printed\n`);

    const find = (title: string) => timings.find((t) => t.title === title)?.ms ?? 0;
    const dynamoMs = find("start DynamoDB Local");
    const smokeMs = find("smoke tests");
    process.stdout.write(`\nlocal pipeline, wall time by step (steps "build" and "start local target" overlap: the build runs while DynamoDB Local boots)\n`);
    process.stdout.write(`${ms(startupMs)}  process start-up (node + tsx + cli + \`local\` imports, measured with \`local --help\`)\n`);
    process.stdout.write(`${ms(importMs)}  pipeline imports in-process (already warm from start-up in a real run)\n`);
    for (const t of timings) process.stdout.write(`${ms(t.ms)}  ${"  ".repeat(t.depth)}${t.title}\n`);
    process.stdout.write(`${ms(wallMs)}  pipeline wall time (in-process)\n`);
    const overheadMs = startupMs + wallMs - dynamoMs - smokeMs;
    process.stdout.write(`\n${ms(dynamoMs)}  DynamoDB Local start (excluded)\n${ms(smokeMs)}  smoke requests (excluded)\n`);
    process.stdout.write(`${ms(overheadMs)}  driver overhead = start-up + wall − DynamoDB Local start − smoke (target < ${OVERHEAD_TARGET_MS} ms: ${overheadMs < OVERHEAD_TARGET_MS ? "met" : "NOT met"})\n`);
  } finally {
    fs.rmSync(reportsDir, { recursive: true, force: true });
  }
}
