// Triggers: validation, locations, S3 key logic (pure), and the local store for real on disk.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { UsageError } from "../../automation/command";
import { consumedKey, compactTimestamp, copySource, LocalTriggerStore, parseS3Uri, parseTrigger, parseTriggerLocation, S3TriggerStore, triggerStore, TriggerError } from "../../automation/coordinate/trigger";

const VALID = { source: "registry-api", trigger_type: "api_deployment", source_commit: "0123456789abcdef0123456789ABCDEF01234567" };
const throwsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
};

describe("trigger: validation", () => {
  it("accepts the old fields and normalises the commit to lower case", () => {
    expect(parseTrigger(JSON.stringify({ ...VALID, extra: 1 }), "t")).to.deep.equal({ ...VALID, source_commit: VALID.source_commit.toLowerCase() });
  });
  it("refuses missing fields, a non-SHA commit, odd trigger types and non-JSON, naming the problem", () => {
    expect(throwsOf(() => parseTrigger("{", "t.json"))).to.be.instanceOf(TriggerError).and.have.property("message").that.contains("not valid JSON");
    expect(throwsOf(() => parseTrigger(JSON.stringify({ ...VALID, source_commit: "main" }), "t")).message).to.contain("source_commit");
    expect(throwsOf(() => parseTrigger(JSON.stringify({ ...VALID, trigger_type: "a b" }), "t")).message).to.contain("trigger_type");
    expect(throwsOf(() => parseTrigger(JSON.stringify({ trigger_type: "x", source_commit: "abcdef1" }), "t")).message).to.contain("source");
    expect(throwsOf(() => parseTrigger("[]", "t")).message).to.contain("invalid");
  });
});

describe("trigger: locations and S3 keys", () => {
  it("parses s3:// URIs and local paths, refusing other schemes", () => {
    expect(parseTriggerLocation("s3://codecatalyst-deployment-triggers-123456789012/api-deployment-trigger.json")).to.deep.equal({ kind: "s3", bucket: "codecatalyst-deployment-triggers-123456789012", key: "api-deployment-trigger.json" });
    expect(parseTriggerLocation("triggers/t.json", "/work")).to.deep.equal({ kind: "file", path: "/work/triggers/t.json" });
    expect(throwsOf(() => parseTriggerLocation("https://example.com/t.json"))).to.be.instanceOf(UsageError);
  });
  it("validates bucket names and keys", () => {
    expect(parseS3Uri("s3://my.bucket-1/a/b c.json")).to.deep.equal({ bucket: "my.bucket-1", key: "a/b c.json" });
    for (const bad of ["s3://Bucket/k", "s3://ab/k", "s3://bucket", "s3://bucket/", "s3://bucket/dir/", "s3://bucket/consumed/x.json", "s3://a..b/k"]) {
      expect(() => parseS3Uri(bad), bad).to.throw(UsageError);
    }
  });
  it("moves consumed triggers under consumed/<UTC timestamp>/ with the original key", () => {
    const at = new Date("2026-11-28T13:30:05.123Z");
    expect(compactTimestamp(at)).to.equal("20261128T133005Z");
    expect(consumedKey("api-deployment-trigger.json", at)).to.equal("consumed/20261128T133005Z/api-deployment-trigger.json");
    expect(consumedKey("team/a/trigger.json", at)).to.equal("consumed/20261128T133005Z/team/a/trigger.json");
  });
  it("encodes the copy source per key segment", () => {
    expect(copySource("b", "dir/a b+c.json")).to.equal("b/dir/a%20b%2Bc.json");
  });
  it("creates the right store for each location, without an S3 client for local files", () => {
    let created = 0;
    const s3Client = () => {
      created += 1;
      return { send: async () => ({}) };
    };
    expect(triggerStore("t.json", { cwd: "/x", s3Client })).to.be.instanceOf(LocalTriggerStore);
    expect(created).to.equal(0);
    const store = triggerStore("s3://bucket-name/t.json", { s3Client });
    expect(store).to.be.instanceOf(S3TriggerStore);
    expect(store.location).to.equal("s3://bucket-name/t.json");
    expect(created).to.equal(1);
  });
});

describe("trigger: local store (on disk)", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "trigger-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads nothing when there is no trigger file", async () => {
    expect(await new LocalTriggerStore(path.join(dir, "none.json")).read()).to.equal(null);
  });
  it("consumes: writes a .consumed record with the trigger and removes the file, so it never fires twice", async () => {
    const file = path.join(dir, "api-deployment-trigger.json");
    fs.writeFileSync(file, JSON.stringify(VALID));
    const store = new LocalTriggerStore(file);
    const loaded = (await store.read())!;
    const result = await store.consume(loaded, { consumed_at: "2026-11-28T13:00:00.000Z", strategy: "api_triggered", deployed_commit: null });
    expect(result).to.deep.equal({ consumed: true, moved_to: `${file}.consumed` });
    expect(fs.existsSync(file)).to.equal(false);
    expect(JSON.parse(fs.readFileSync(`${file}.consumed`, "utf8"))).to.deep.include({ strategy: "api_triggered", trigger: loaded.trigger });
    expect(await store.read()).to.equal(null);
  });
  it("leaves a trigger that changed since it was read", async () => {
    const file = path.join(dir, "t.json");
    fs.writeFileSync(file, JSON.stringify(VALID));
    const store = new LocalTriggerStore(file);
    const loaded = (await store.read())!;
    fs.writeFileSync(file, JSON.stringify({ ...VALID, source_commit: "abcdef1" }));
    const result = await store.consume(loaded, { consumed_at: "x", strategy: "api_triggered", deployed_commit: null });
    expect(result.consumed).to.equal(false);
    expect(fs.existsSync(file)).to.equal(true);
    expect(fs.existsSync(`${file}.consumed`)).to.equal(false);
  });
  it("refuses a directory or an oversized file", async () => {
    let error = await new LocalTriggerStore(dir).read().catch((e: Error) => e);
    expect(error).to.be.instanceOf(TriggerError);
    const big = path.join(dir, "big.json");
    fs.writeFileSync(big, " ".repeat(70 * 1024));
    error = await new LocalTriggerStore(big).read().catch((e: Error) => e);
    expect((error as Error).message).to.contain("larger than");
  });
});
