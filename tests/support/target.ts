// One local target per mocha process, shared by every handler test file: DynamoDB Local in memory,
// the contract's tables, the real bundles behind the API Gateway emulation, and a seeded admin.
//
//   import { sharedTarget, ADMIN_EMAIL, ADMIN_PASSWORD, type LocalTarget } from "./target";
//   let target: LocalTarget;
//   before(async function () {
//     this.timeout(180_000); // the first start may fetch DynamoDB Local (~57 MB) into the cache
//     target = await sharedTarget();
//   });
//
// It is stopped once, after the whole run, by a root-level `after` hook this module registers when
// a spec file imports it (or by `mochaHooks` when loaded with `--require`).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type LocalTarget as BaseLocalTarget, startLocalTarget } from "../../automation/local/target";

/** The request header the shared target reads the client IP from (so tests can act as many clients). */
export const SOURCE_IP_HEADER = "x-test-source-ip";
/** bcrypt cost of the shared target (the handlers' and the seeded admin's): low, to keep tests fast. */
export const TEST_BCRYPT_COST = 4;
/** The seeded admin. */
export const ADMIN_EMAIL = "admin@example.test";
/** The seeded admin's password: generated per process, meets the password policy. */
export const ADMIN_PASSWORD = `Adm1n!${randomBytes(12).toString("base64url")}`;

/** The shared target, plus the name of the header that sets the client IP. */
export interface LocalTarget extends BaseLocalTarget {
  sourceIpHeader: string;
}

let starting: Promise<LocalTarget> | undefined;
let tempOutbox: string | undefined;

/**
 * The process-wide target (started on first call, with bcrypt cost 4, client IPs from the
 * `x-test-source-ip` header, the admin ADMIN_EMAIL / ADMIN_PASSWORD, an in-memory database and a
 * temporary email outbox at `target.outboxDir`). Concurrent callers share one start. Give the
 * calling hook a generous timeout: the very first start on a machine downloads DynamoDB Local.
 * Handler logs are limited to errors; set TEST_LOG_LEVEL=info (or debug) to see every request.
 */
export function sharedTarget(): Promise<LocalTarget> {
  starting ??= (async () => {
    tempOutbox = fs.mkdtempSync(path.join(os.tmpdir(), "people-register-outbox-"));
    const target = await startLocalTarget({
      bcryptCost: TEST_BCRYPT_COST,
      sourceIpHeader: SOURCE_IP_HEADER,
      admin: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
      outboxDir: tempOutbox,
      env: { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "error" },
    });
    return { ...target, sourceIpHeader: SOURCE_IP_HEADER };
  })();
  // A failed start is not cached: the next caller gets a fresh attempt and its own error.
  starting.catch(() => {
    starting = undefined;
  });
  return starting;
}

/** Stops the shared target if one was started (idempotent). Called by the root `after` hook. */
export async function stopSharedTarget(): Promise<void> {
  const pending = starting;
  starting = undefined;
  if (pending) {
    const target = await pending.catch(() => undefined);
    await target?.stop();
  }
  if (tempOutbox) fs.rmSync(tempOutbox, { recursive: true, force: true });
  tempOutbox = undefined;
}

/** Root hook plugin form, for `mocha --require tests/support/target.ts`. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedTarget();
  },
};

// Imported from a spec file, this module loads while mocha collects the files, when `after` adds a
// hook to the root suite: the target is then stopped once, after every file has run.
if (typeof after === "function") {
  after(async function () {
    this.timeout(60_000);
    await stopSharedTarget();
  });
}
