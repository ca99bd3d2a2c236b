import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bundleHandler, LAZY_CHUNKS } from "../../automation/shared/build";
import { ENV, TABLES } from "../../handlers/contract";

// The shipped bundles, loaded in a clean Node process the way Lambda (and the local target) load them.
describe("handlers: the bundles fail closed without their secrets", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "handlers-bundle-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [fn, p] of [["api", "/health"], ["auth", "/auth/me"]] as const) {
    it(`${fn}: a short JWT_SECRET answers 503 SERVICE_UNAVAILABLE, without touching the database`, () => {
      const bundle = bundleHandler(fn, { outDir: dir });
      expect(bundle.fallback).to.equal(false);
      const event = { resource: p, path: p, httpMethod: "GET", headers: null, queryStringParameters: null, body: null, isBase64Encoded: false, requestContext: { requestId: "r", identity: { sourceIp: "127.0.0.1" } } };
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? "",
        ...Object.fromEntries(TABLES.map((t) => [t.envVar, `x-${t.name}`])),
        [ENV.jwtSecret]: "too-short",
        [ENV.csrfSecret]: "c".repeat(40),
        // Nothing listens here: a database call would fail differently (and slowly).
        [ENV.dynamoDbEndpoint]: "http://127.0.0.1:9",
        [ENV.logLevel]: "error",
      };
      const script = `require(${JSON.stringify(bundle.file)}).handler(${JSON.stringify(event)}, {}).then((r) => process.stdout.write("RESULT " + JSON.stringify(r)))`;
      const out = execFileSync(process.execPath, ["-e", script], { env, stdio: ["ignore", "pipe", "ignore"] }).toString();
      const [logs, raw] = out.split("RESULT ");
      const result = JSON.parse(raw);
      // The cause is logged (one JSON line) without the secret's value.
      const log = JSON.parse(logs.trim().split("\n")[0]);
      expect(log).to.include({ level: "error", message: "configuration invalid; refusing requests" });
      expect(logs).to.not.include("too-short");
      expect(result.statusCode).to.equal(503);
      expect(JSON.parse(result.body)).to.deep.equal({ error: "The service is not configured", code: "SERVICE_UNAVAILABLE", detail: "The service is not configured" });
      expect(result.headers["X-Content-Type-Options"]).to.equal("nosniff");
    });
  }
});

// zod, jose and bcryptjs ship as files beside index.js, required on first use, so a cold start does not
// parse them. What a deployment relies on: the folder holds them, loading index.js does not load them,
// and each exports every name its source module does (nothing a handler uses is missing on Lambda).
describe("handlers: lazy chunks beside index.js", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "handlers-chunks-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const fn of ["api", "auth"] as const) {
    it(`${fn}: the folder holds index.js and its chunks; loading index.js loads none of them`, () => {
      const bundle = bundleHandler(fn, { outDir: dir });
      expect(fs.readdirSync(bundle.dir).sort()).to.deep.equal(["index.js", ...bundle.chunks].sort());
      expect(bundle.chunks.sort()).to.deep.equal(LAZY_CHUNKS.map((c) => c.file).sort());
      expect(bundle.indexBytes).to.be.below(bundle.bytes);
      const script = `require(${JSON.stringify(bundle.file)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
      const loaded = JSON.parse(execFileSync(process.execPath, ["-e", script], { env: { PATH: process.env.PATH ?? "" } }).toString()) as string[];
      expect(loaded).to.deep.equal([bundle.file]);
      for (const chunk of LAZY_CHUNKS) {
        const shipped = Object.keys(require(path.join(bundle.dir, chunk.file)) as object).filter((k) => k !== "__esModule");
        const source = Object.keys(require(chunk.module.startsWith("./") ? path.join(__dirname, "..", "..", chunk.module) : chunk.module) as object).filter((k) => k !== "__esModule");
        expect(shipped.sort(), chunk.file).to.deep.equal(source.sort());
      }
    });
  }
});

// The functions talk to AWS through handlers/lib/aws.ts (signed JSON calls), not the AWS SDK: loading
// the SDK was most of every cold start. Types and the SDK's item converter are the only SDK imports.
describe("handlers: no AWS SDK client on the request path", () => {
  const RUNTIME_SDK_IMPORT = /^\s*import\s+(?!type\b)[^;]*?from\s+"(@aws-sdk\/[^"]+|@smithy\/[^"]+)"|require\(\s*"(@aws-sdk\/[^"]+|@smithy\/[^"]+)"\s*\)/gm;
  const ALLOWED = new Set(["@aws-sdk/util-dynamodb"]);

  it("handler sources import SDK types only (DynamoDB commands come from lib/db.ts)", () => {
    const root = path.join(__dirname, "..", "..", "handlers");
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (entry.name.endsWith(".ts")) {
          for (const m of fs.readFileSync(file, "utf8").matchAll(RUNTIME_SDK_IMPORT)) {
            const pkg = m[1] ?? m[2] ?? "";
            if (!ALLOWED.has(pkg)) offenders.push(`${path.relative(root, file)}: ${pkg}`);
          }
        }
      }
    };
    walk(root);
    expect(offenders, "import commands from handlers/lib/db.ts and call AWS through handlers/lib/aws.ts").to.deep.equal([]);
  });
});

