import { expect } from "chai";
import { CommandFailure } from "../../automation/command";
import { buildPreviewDiff } from "../../automation/engine/diff";
import { DestructiveChangeError, enforceGuard, evaluateGuard, findDestructiveChanges, guardNotice } from "../../automation/engine/guard";
import { createsOnly, hostingTornDown, mixedChanges, replacement, step } from "../fixtures/engine-events";

describe("destructive-change guard", () => {
  it("passes a preview that only creates and updates", () => {
    const verdict = evaluateGuard(buildPreviewDiff(createsOnly()), false);
    expect(verdict).to.deep.equal({ findings: [], allowed: true, overridden: false });
    expect(() => enforceGuard(verdict)).not.to.throw();
    expect(guardNotice(verdict)).to.equal(undefined);
  });

  it("stops on a replaced DynamoDB table and names the property forcing it", () => {
    const verdict = evaluateGuard(buildPreviewDiff(mixedChanges()), false);
    expect(verdict.allowed).to.equal(false);
    expect(verdict.findings).to.deep.equal([
      { name: "people", type: "aws:dynamodb/table:Table", urn: verdict.findings[0].urn, op: "replace", replaceKeys: ["hashKey"] },
    ]);
    let caught: unknown;
    try {
      enforceGuard(verdict);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(DestructiveChangeError).and.instanceOf(CommandFailure);
    expect((caught as Error).message).to.include('replace aws:dynamodb/table:Table "people" (replacement forced by hashKey)');
    expect((caught as Error).message).to.include("--allow-destructive");
  });

  it("ignores deletions of resources that hold no data (a log group)", () => {
    const findings = findDestructiveChanges(buildPreviewDiff(mixedChanges()));
    expect(findings.map((f) => f.name)).not.to.include("old-api-logs");
  });

  it("stops on deleting the frontend bucket and the distribution, but not their objects", () => {
    const findings = findDestructiveChanges(buildPreviewDiff(hostingTornDown()));
    expect(findings.map((f) => `${f.op} ${f.type}`)).to.have.members(["delete aws:cloudfront/distribution:Distribution", "delete aws:s3/bucket:Bucket"]);
  });

  it("covers legacy BucketV2 replacements too", () => {
    const diff = buildPreviewDiff(replacement({ type: "aws:s3/bucketV2:BucketV2", name: "legacy-frontend", keys: ["bucket"] }));
    expect(findDestructiveChanges(diff)).to.have.length(1);
  });

  it("lets --allow-destructive through, and says so in the notice", () => {
    const verdict = evaluateGuard(buildPreviewDiff(hostingTornDown()), true);
    expect(verdict).to.include({ allowed: true, overridden: true });
    expect(() => enforceGuard(verdict)).not.to.throw();
    expect(guardNotice(verdict)).to.match(/allowed by --allow-destructive/);
  });

  it("does not treat an in-place table update as destructive", () => {
    const diff = buildPreviewDiff([step({ op: "update", type: "aws:dynamodb/table:Table", name: "people", diffs: ["tags"] })]);
    expect(findDestructiveChanges(diff)).to.deep.equal([]);
  });
});
