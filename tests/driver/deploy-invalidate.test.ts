import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { createInvalidation, decideInvalidation, frontendFingerprint } from "../../automation/engine/invalidate";
import { FakeCloudFront } from "../fixtures/engine-events/fake-cloudfront";

describe("CloudFront invalidation", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "frontend-"));
    fs.mkdirSync(path.join(dir, "assets"));
    fs.writeFileSync(path.join(dir, "index.html"), "<h1>hi</h1>");
    fs.writeFileSync(path.join(dir, "assets", "app.js"), "console.log(1)");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("fingerprints paths and contents: a rename or an edit changes it, a rewrite of the same bytes does not", () => {
    const first = frontendFingerprint(dir);
    fs.writeFileSync(path.join(dir, "index.html"), "<h1>hi</h1>");
    expect(frontendFingerprint(dir)).to.equal(first);
    fs.renameSync(path.join(dir, "assets", "app.js"), path.join(dir, "assets", "app2.js"));
    const renamed = frontendFingerprint(dir);
    expect(renamed).not.to.equal(first);
    fs.writeFileSync(path.join(dir, "assets", "app2.js"), "console.log(2)");
    expect(frontendFingerprint(dir)).not.to.equal(renamed);
  });

  it("decides from the stack's frontendDir, the recorded fingerprint and --invalidate", () => {
    const current = frontendFingerprint(dir);
    expect(decideInvalidation({ distributionId: "E1", frontendDir: undefined })).to.deep.equal({ invalidate: false, reason: "no frontendDir in the stack config" });
    expect(decideInvalidation({ distributionId: "E1", frontendDir: undefined, force: true }).invalidate).to.equal(true);
    expect(decideInvalidation({ distributionId: "E1", frontendDir: dir, previous: current })).to.include({ invalidate: false });
    expect(decideInvalidation({ distributionId: "E1", frontendDir: dir, previous: "0".repeat(64) })).to.include({ invalidate: true, fingerprint: current });
    expect(decideInvalidation({ distributionId: "E1", frontendDir: dir, previous: current, force: true })).to.include({ invalidate: true, reason: "forced by --invalidate" });
    expect(decideInvalidation({ frontendDir: dir, force: true })).to.deep.equal({ invalidate: false, reason: "the stack has no distributionId output" });
  });

  it("sends CreateInvalidation for /* through the AWS SDK and returns its id", async () => {
    const cf = new FakeCloudFront();
    await cf.start();
    try {
      const result = await createInvalidation({ distributionId: "E2EXAMPLE1", callerReference: "ref-1", client: cf.client() });
      expect(result).to.deep.equal({ id: "I1TESTINVALIDATION", status: "InProgress", paths: ["/*"] });
      expect(cf.requests[0].method).to.equal("POST");
      expect(cf.requests[0].body).to.include("<CallerReference>ref-1</CallerReference>").and.include("<Quantity>1</Quantity>");
    } finally {
      await cf.stop();
    }
  });

  it("rejects a distribution id that is not one before calling AWS", async () => {
    let caught: unknown;
    try {
      await createInvalidation({ distributionId: "../E1", callerReference: "x" });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.include("not a CloudFront distribution id");
  });
});
