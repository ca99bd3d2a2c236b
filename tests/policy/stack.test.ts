// The stack passes its own guardrails: the whole program is registered under Pulumi's mocks (the
// stacks' test harness) and every resource's inputs, secrets decrypted as a policy pack sees them,
// go through every resource policy of the pack.
import type { ResourceValidationArgs } from "@pulumi/policy";
import { expect } from "chai";
import { RESOURCE_POLICIES, TYPES } from "../../policy/policies";
import { removeRepo, runProgram, tempRepo } from "../stacks/harness";

describe("the stack under its own policy pack", function () {
  this.timeout(120000);
  let repo: string;
  before(() => {
    repo = tempRepo();
  });
  after(() => removeRepo(repo));

  it("has no violation on any resource (prod settings)", async () => {
    const { resources } = await runProgram({ repoRoot: repo, stack: "prod" });
    const checkedTypes = new Set<string>(Object.values(TYPES));
    const covered = resources.filter((r) => checkedTypes.has(r.type));
    // The guardrails really ran on the stack's buckets, tables, log groups, policies, distribution and functions.
    for (const type of [TYPES.bucket, TYPES.publicAccessBlock, TYPES.bucketPolicy, TYPES.table, TYPES.logGroup, TYPES.rolePolicy, TYPES.distribution, TYPES.lambdaFunction]) {
      expect(covered.some((r) => r.type === type), type).to.equal(true);
    }
    const violations: string[] = [];
    for (const resource of covered) {
      const args = { type: resource.type, props: resource.inputs, urn: resource.name, name: resource.name, getConfig: () => ({}) } as unknown as ResourceValidationArgs;
      for (const policy of RESOURCE_POLICIES) {
        const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
        for (const validate of validations) void validate(args, (message) => violations.push(`${policy.name} on ${resource.type} ${resource.name}: ${message}`));
      }
    }
    expect(violations).to.deep.equal([]);
  });
});
