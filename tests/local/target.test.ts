// The whole local target: DynamoDB Local + tables + the real bundles behind the gateway, the
// per-run environment, the seeded admin, the one-target-per-process guard and a clean stop.
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import bcrypt from "bcryptjs";
import { expect } from "chai";
import { request } from "undici";
import { ENV, GATEWAY_NOT_FOUND, TABLES } from "../../handlers/contract";
import type { Logger } from "../../automation/command";
import { spawnedDynamoDbLocalPids } from "../../automation/local/dynamodb";
import { localDynamoClient } from "../../automation/local/tables";
import { type LocalTarget, LocalTargetError, seedAdmin, startLocalTarget } from "../../automation/local/target";
import { REPO_ROOT } from "../../automation/shared/paths";
import { api, csrfToken, login } from "../support/http";
import { stopSharedTarget } from "../support/target";

const START_TIMEOUT = 180_000;
const ADMIN = { email: "Local.Admin@Example.TEST", password: "Adm1n!local-target-test" };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function recordingLogger(lines: string[]): Logger {
  return {
    info: (m) => lines.push(m),
    warn: (m) => lines.push(m),
    error: (m) => lines.push(m),
    async step(title, work) {
      lines.push(title);
      return work();
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: Error) => err,
  );
}

/** Snapshot of the env keys a target sets, to prove stop() puts them back. */
const watchedKeys = [...TABLES.map((t) => t.envVar), ...Object.values(ENV), "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
const snapshot = () => Object.fromEntries(watchedKeys.map((k) => [k, process.env[k]]));

describe("local target", function () {
  this.timeout(START_TIMEOUT);
  let target: LocalTarget;
  let envBefore: Record<string, string | undefined>;
  const logLines: string[] = [];
  const outboxDir = fs.mkdtempSync(path.join(os.tmpdir(), "target-outbox-"));

  before(async () => {
    // One target per process: the handler tests' shared one must not be running (it restarts on demand).
    await stopSharedTarget();
    envBefore = snapshot();
    target = await startLocalTarget({
      admin: ADMIN,
      bcryptCost: 4,
      outboxDir,
      sourceIpHeader: "x-test-source-ip",
      env: { LOG_LEVEL: "error" },
      log: recordingLogger(logLines),
    });
  });
  after(async () => {
    await target?.stop();
    fs.rmSync(outboxDir, { recursive: true, force: true });
  });

  it("serves the bundled functions on 127.0.0.1: GET /health answers 200 healthy", async () => {
    expect(target.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await api(target).request("GET", "/health");
    expect(res.status).to.equal(200);
    expect(res.json.status).to.equal("healthy");
  });

  it("answers an unknown path with the gateway's 404", async () => {
    const res = await api(target).request("GET", "/definitely/not/a/route");
    expect(res.status).to.equal(404);
    expect(res.json).to.deep.equal(GATEWAY_NOT_FOUND.body);
  });

  it("sets the functions' environment in process.env: tables, fresh secrets, local endpoints", () => {
    for (const t of TABLES) expect(process.env[t.envVar], t.envVar).to.equal(`local-${t.name}`).and.equal(target.tableNames[t.name]);
    for (const [k, v] of Object.entries(target.env)) expect(process.env[k], k).to.equal(v);
    expect(process.env[ENV.jwtSecret]).to.have.length.of.at.least(32);
    expect(process.env[ENV.csrfSecret]).to.have.length.of.at.least(32);
    expect(process.env[ENV.jwtSecret]).not.to.equal(process.env[ENV.csrfSecret]);
    expect(process.env[ENV.handlerKind]).to.equal("enhanced");
    expect(process.env[ENV.dynamoDbEndpoint]).to.equal(target.dynamoEndpoint);
    expect(process.env[ENV.emailOutboxDir]).to.equal(outboxDir).and.equal(target.outboxDir);
    expect(process.env[ENV.bcryptCost]).to.equal("4");
    expect(process.env[ENV.sesFromEmail]).to.equal("no-reply@localhost");
    // By default CORS allows the Astro dev server (the web frontend's `npm run dev`) and Vite's.
    expect(process.env[ENV.corsOrigins]?.split(",")).to.include.members(["http://localhost:4321", "http://localhost:5173"]);
    expect(process.env.AWS_REGION).to.equal("us-east-1");
    expect(process.env.LOG_LEVEL).to.equal("error");
  });

  it("never logs the generated secrets or the admin password", () => {
    const text = logLines.join("\n");
    expect(logLines.length).to.be.greaterThan(0);
    expect(text).not.to.include(target.env[ENV.jwtSecret]);
    expect(text).not.to.include(target.env[ENV.csrfSecret]);
    expect(text).not.to.include(ADMIN.password);
  });

  it("seeds the admin as a person item in the contract's field names", async () => {
    const client = localDynamoClient(target.dynamoEndpoint);
    try {
      const doc = DynamoDBDocumentClient.from(client);
      const found = await doc.send(
        new QueryCommand({ TableName: target.tableNames.PeopleTable, IndexName: "EmailIndex", KeyConditionExpression: "email = :e", ExpressionAttributeValues: { ":e": "local.admin@example.test" } }),
      );
      expect(found.Items).to.have.length(1);
      const item = found.Items![0];
      expect(item.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(item).to.include({ firstName: "Local", lastName: "Admin", email: "local.admin@example.test", isAdmin: true, isActive: true, requirePasswordChange: false, failedLoginAttempts: 0, version: 1 });
      expect(item.passwordHash).to.match(/^\$2[ab]\$04\$/);
      expect(bcrypt.compareSync(ADMIN.password, item.passwordHash)).to.equal(true);
      expect(item).not.to.have.property("password");
      expect(new Date(item.createdAt).toISOString()).to.equal(item.createdAt);
      expect(item.updatedAt).to.equal(item.createdAt);
    } finally {
      client.destroy();
    }
  });

  it("lets the seeded admin log in through the real auth function", async function () {
    const session = await login(target, ADMIN.email.toLowerCase(), ADMIN.password);
    expect(session.token.split(".")).to.have.length(3);
    const me = await api(target, { ip: session.ip }).request("GET", "/auth/me", { token: session.token });
    expect(me.status).to.equal(200);
    expect(me.json.user.email).to.equal("local.admin@example.test");
  });

  it("gives tests a CSRF token bound to the client IP they choose", async function () {
    const token = await csrfToken(target, "10.9.8.7");
    expect(token).to.be.a("string").and.not.equal("");
  });

  it("reseeding an existing admin resets its password and unlocks it", async () => {
    const client = localDynamoClient(target.dynamoEndpoint);
    try {
      const firstId = await seedAdmin(target.dynamoEndpoint, target.tableNames.PeopleTable, { email: ADMIN.email, password: "Adm1n!second-password" }, 4);
      const again = await seedAdmin(target.dynamoEndpoint, target.tableNames.PeopleTable, { email: ADMIN.email, password: ADMIN.password }, 4);
      expect(again).to.equal(firstId);
      const { Item } = await client.send(new GetItemCommand({ TableName: target.tableNames.PeopleTable, Key: { id: { S: firstId } } }));
      expect(bcrypt.compareSync(ADMIN.password, Item?.passwordHash?.S ?? "")).to.equal(true);
      expect(Item?.version?.N).to.equal("3");
      expect(Item?.failedLoginAttempts?.N).to.equal("0");
    } finally {
      client.destroy();
    }
  });

  it("refuses a second target in the same process with a clear error, leaving the first one serving", async () => {
    const err = await rejection(startLocalTarget({}));
    expect(err).to.be.instanceOf(LocalTargetError);
    expect(err.message).to.match(/already running in this process/);
    const res = await api(target).request("GET", "/health");
    expect(res.status).to.equal(200);
  });

  it("stop() closes the API, ends DynamoDB Local and restores process.env", async () => {
    const port = Number(new URL(target.url).port);
    const dynamoPid = spawnedDynamoDbLocalPids().at(-1)!;
    expect(isAlive(dynamoPid)).to.equal(true);
    await target.stop();
    expect(snapshot()).to.deep.equal(envBefore);
    expect(isAlive(dynamoPid)).to.equal(false);
    const refused = await request(`${target.url}/health`).then(
      () => false,
      () => true,
    );
    expect(refused, `port ${port} still answers`).to.equal(true);
    await target.stop(); // idempotent
  });
});

describe("local target: failures", function () {
  this.timeout(START_TIMEOUT);
  before(() => stopSharedTarget());

  it("a busy API port is a one-line LocalTargetError, found before DynamoDB Local starts", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    const envBefore = snapshot();
    const pidsBefore = spawnedDynamoDbLocalPids().length;
    try {
      const err = await rejection(startLocalTarget({ port, outboxDir: os.tmpdir(), env: { LOG_LEVEL: "error" } }));
      expect(err).to.be.instanceOf(LocalTargetError);
      expect(err.message).to.include(`port ${port} is already in use`);
      expect(err.message).not.to.include("\n");
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    expect(snapshot()).to.deep.equal(envBefore);
    expect(spawnedDynamoDbLocalPids().length).to.equal(pidsBefore);
  });

  it("a failure after DynamoDB Local started (a handler that does not bundle) stops it again and restores process.env", async () => {
    const repoRoot = fs.mkdtempSync(path.join(os.tmpdir(), "broken-repo-"));
    fs.mkdirSync(path.join(repoRoot, "handlers", "api"), { recursive: true });
    fs.writeFileSync(path.join(repoRoot, "handlers", "api", "index.ts"), "export const handler = (;\n");
    const envBefore = snapshot();
    const pidsBefore = spawnedDynamoDbLocalPids().length;
    try {
      const err = await rejection(startLocalTarget({ repoRoot, env: { LOG_LEVEL: "error" } }));
      expect(err).to.be.instanceOf(LocalTargetError);
      expect(err.message).to.match(/^could not bundle the handlers: .*handlers\/api\/index\.ts:1/);
      expect(err.message).not.to.include("\n");
    } finally {
      fs.rmSync(repoRoot, { recursive: true, force: true });
    }
    expect(snapshot()).to.deep.equal(envBefore);
    const started = spawnedDynamoDbLocalPids().slice(pidsBefore);
    expect(started).to.have.length(1);
    expect(isAlive(started[0]), `DynamoDB Local pid ${started[0]}`).to.equal(false);
  });

  it("an invalid admin email is refused before anything starts", async () => {
    const pidsBefore = spawnedDynamoDbLocalPids().length;
    const err = await rejection(startLocalTarget({ admin: { email: "not-an-email", password: "x" } }));
    expect(err).to.be.instanceOf(LocalTargetError);
    expect(err.message).to.include("not an email address");
    expect(spawnedDynamoDbLocalPids().length).to.equal(pidsBefore);
  });

  it("a missing Java is a one-line LocalTargetError, and the guard is released for the next start", async () => {
    const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), "no-java-"));
    const saved = process.env.PATH;
    process.env.PATH = emptyDir;
    try {
      const err = await rejection(startLocalTarget({}));
      expect(err).to.be.instanceOf(LocalTargetError);
      expect(err.message).to.match(/^Java was not found on PATH/);
    } finally {
      process.env.PATH = saved;
      fs.rmSync(emptyDir, { recursive: true, force: true });
    }
    const outboxDir = fs.mkdtempSync(path.join(os.tmpdir(), "target-outbox-"));
    const target = await startLocalTarget({ outboxDir, env: { LOG_LEVEL: "error" } });
    try {
      expect((await api(target).request("GET", "/health")).status).to.equal(200);
    } finally {
      await target.stop();
      fs.rmSync(outboxDir, { recursive: true, force: true });
    }
  });

  it("rejects a bcrypt cost outside 4..15 before starting anything", async () => {
    const pidsBefore = spawnedDynamoDbLocalPids().length;
    const err = await rejection(startLocalTarget({ bcryptCost: 3 }));
    expect(err).to.be.instanceOf(LocalTargetError);
    expect(spawnedDynamoDbLocalPids().length).to.equal(pidsBefore);
  });
});
