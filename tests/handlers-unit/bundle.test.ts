import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bundleHandler } from "../../automation/build";
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

