// The S3 trigger store through the real AWS SDK client, against a minimal S3 stand-in on 127.0.0.1
// (GET, copy with x-amz-copy-source-if-match, DELETE with If-Match), so the request shapes, the
// conditional headers and the SDK's error mapping (404, 412) are exercised for real.
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { S3TriggerStore, TriggerError } from "../../automation/coordinate/trigger";

const TRIGGER = { source: "registry-api", trigger_type: "api_deployment", source_commit: "abcdef1234567" };

/** Objects by "bucket/key"; every request is recorded. */
function fakeS3() {
  const objects = new Map<string, { body: string; etag: string; metadata: Record<string, string> }>();
  const requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[] = [];
  const etagOf = (body: string) => `"${createHash("md5").update(body).digest("hex")}"`;
  const error = (res: http.ServerResponse, status: number, code: string) => {
    res.writeHead(status, { "content-type": "application/xml" });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message><RequestId>1</RequestId></Error>`);
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const key = decodeURIComponent(url.pathname.slice(1));
      requests.push({ method: req.method ?? "", path: key, headers: req.headers });
      const object = objects.get(key);
      if (req.method === "GET") {
        if (!object) return error(res, 404, "NoSuchKey");
        res.writeHead(200, { etag: object.etag, "content-length": Buffer.byteLength(object.body), "content-type": "application/json" });
        return res.end(object.body);
      }
      if (req.method === "PUT" && req.headers["x-amz-copy-source"]) {
        const source = decodeURIComponent(String(req.headers["x-amz-copy-source"]).replace(/^\//, ""));
        const from = objects.get(source);
        if (!from) return error(res, 404, "NoSuchKey");
        if (req.headers["x-amz-copy-source-if-match"] && req.headers["x-amz-copy-source-if-match"] !== from.etag) return error(res, 412, "PreconditionFailed");
        const metadata = Object.fromEntries(Object.entries(req.headers).filter(([h]) => h.startsWith("x-amz-meta-")).map(([h, v]) => [h.slice(11), String(v)]));
        objects.set(key, { body: from.body, etag: from.etag, metadata });
        res.writeHead(200, { "content-type": "application/xml" });
        return res.end(`<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><ETag>${from.etag}</ETag><LastModified>2026-11-28T13:00:00.000Z</LastModified></CopyObjectResult>`);
      }
      if (req.method === "PUT") {
        objects.set(key, { body, etag: etagOf(body), metadata: {} });
        res.writeHead(200, { etag: etagOf(body) });
        return res.end();
      }
      if (req.method === "DELETE") {
        if (object && req.headers["if-match"] && req.headers["if-match"] !== object.etag) return error(res, 412, "PreconditionFailed");
        objects.delete(key);
        res.writeHead(204);
        return res.end();
      }
      error(res, 405, "MethodNotAllowed");
    });
  });
  const put = (key: string, body: string) => objects.set(key, { body, etag: etagOf(body), metadata: {} });
  return { server, objects, requests, put };
}

describe("trigger: S3 store (real SDK, local S3 stand-in)", () => {
  let s3: ReturnType<typeof fakeS3>;
  let client: S3Client;
  const at = new Date("2026-11-28T13:30:05Z");
  const store = () => new S3TriggerStore("triggers-bucket", "api-deployment-trigger.json", client, () => at);

  beforeEach(async () => {
    s3 = fakeS3();
    await new Promise<void>((resolve) => s3.server.listen(0, "127.0.0.1", resolve));
    const { port } = s3.server.address() as AddressInfo;
    client = new S3Client({ endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 1 });
  });
  afterEach(async () => {
    client.destroy();
    await new Promise((resolve) => s3.server.close(resolve));
  });

  it("reads nothing when the object does not exist", async () => {
    expect(await store().read()).to.equal(null);
  });

  it("reads and validates the trigger, then consumes it: copy to consumed/<timestamp>/ and delete, both conditional on the ETag", async () => {
    s3.put("triggers-bucket/api-deployment-trigger.json", JSON.stringify(TRIGGER));
    const loaded = (await store().read())!;
    expect(loaded.trigger).to.deep.equal(TRIGGER);
    const result = await store().consume(loaded, { consumed_at: at.toISOString(), strategy: "api_triggered", deployed_commit: "f".repeat(40) });
    expect(result).to.deep.equal({ consumed: true, moved_to: "s3://triggers-bucket/consumed/20261128T133005Z/api-deployment-trigger.json" });
    expect([...s3.objects.keys()]).to.deep.equal(["triggers-bucket/consumed/20261128T133005Z/api-deployment-trigger.json"]);
    expect(s3.objects.get("triggers-bucket/consumed/20261128T133005Z/api-deployment-trigger.json")!.metadata).to.include({ strategy: "api_triggered", "deployed-commit": "f".repeat(40) });
    const copy = s3.requests.find((r) => r.method === "PUT")!;
    const del = s3.requests.find((r) => r.method === "DELETE")!;
    expect(copy.headers["x-amz-copy-source-if-match"]).to.equal(loaded.version);
    expect(del.headers["if-match"]).to.equal(loaded.version);
  });

  it("leaves a trigger that was rewritten after it was read", async () => {
    s3.put("triggers-bucket/api-deployment-trigger.json", JSON.stringify(TRIGGER));
    const loaded = (await store().read())!;
    s3.put("triggers-bucket/api-deployment-trigger.json", JSON.stringify({ ...TRIGGER, source_commit: "1234567abcdef" }));
    const result = await store().consume(loaded, { consumed_at: at.toISOString(), strategy: "api_triggered", deployed_commit: null });
    expect(result.consumed).to.equal(false);
    expect(result.reason).to.contain("newer trigger");
    expect(JSON.parse(s3.objects.get("triggers-bucket/api-deployment-trigger.json")!.body).source_commit).to.equal("1234567abcdef");
  });

  it("refuses an invalid trigger object", async () => {
    s3.put("triggers-bucket/api-deployment-trigger.json", JSON.stringify({ ...TRIGGER, source_commit: "HEAD" }));
    const error = await store().read().catch((e: Error) => e);
    expect(error).to.be.instanceOf(TriggerError);
    expect((error as Error).message).to.contain("s3://triggers-bucket/api-deployment-trigger.json");
  });
});
