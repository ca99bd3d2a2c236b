// The policies as the engine runs them: type tokens that match @pulumi/aws, props wrapped in the
// policy SDK's own unknown-checking proxy (what `pulumi preview` hands a pack), and the stack policy.
import * as fs from "node:fs";
import * as path from "node:path";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs } from "@pulumi/policy";
import { expect } from "chai";
import { parse as parseYaml } from "yaml";
import { POLICIES, RESOURCE_POLICIES, STACK_POLICIES, TYPES } from "../../policy/policies";
import { REPO_ROOT } from "../../automation/shared/paths";

// Internal to @pulumi/policy (no typings), but it is exactly what the policy server wraps props in.
const proxy = require("@pulumi/policy/proxy") as { unknownCheckingProxy<T>(o: T): T; unknownStringValue: string };

function runResourcePolicy(policy: ResourceValidationPolicy, type: string, props: Record<string, unknown>, config: object = {}): string[] {
  const violations: string[] = [];
  const args = {
    type,
    props: proxy.unknownCheckingProxy(props),
    urn: `urn:pulumi:test::people-register::${type}::r`,
    name: "r",
    opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 } },
    stackTags: new Map<string, string>(),
    isType: () => false,
    asType: () => undefined,
    getConfig: () => config,
    notApplicable: () => {
      throw new Error("not applicable");
    },
  } as unknown as ResourceValidationArgs;
  const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
  for (const validate of validations) void validate(args, (message) => violations.push(message));
  return violations;
}

const byName = (name: string) => RESOURCE_POLICIES.find((p) => p.name === name)!;

describe("policy pack wiring", () => {
  it("uses the type tokens of the installed @pulumi/aws classes", () => {
    const classes: Record<keyof typeof TYPES, string> = {
      bucket: "s3/bucket:Bucket", bucketV2: "s3/bucketV2:BucketV2", bucketAcl: "s3/bucketAcl:BucketAcl", bucketAclV2: "s3/bucketAclV2:BucketAclV2",
      bucketObject: "s3/bucketObject:BucketObject", bucketObjectV2: "s3/bucketObjectv2:BucketObjectv2", bucketPolicy: "s3/bucketPolicy:BucketPolicy",
      publicAccessBlock: "s3/bucketPublicAccessBlock:BucketPublicAccessBlock", table: "dynamodb/table:Table", logGroup: "cloudwatch/logGroup:LogGroup",
      rolePolicy: "iam/rolePolicy:RolePolicy", policy: "iam/policy:Policy", role: "iam/role:Role", rolePolicyAttachment: "iam/rolePolicyAttachment:RolePolicyAttachment",
      policyAttachment: "iam/policyAttachment:PolicyAttachment", distribution: "cloudfront/distribution:Distribution", lambdaFunction: "lambda/function:Function",
      ssmParameter: "ssm/parameter:Parameter",
    };
    for (const [key, spec] of Object.entries(classes)) {
      const [modulePath, className] = spec.split(":");
      const cls = require(`@pulumi/aws/${modulePath}`)[className] as { __pulumiType: string };
      expect(TYPES[key as keyof typeof TYPES], key).to.equal(cls.__pulumiType);
    }
  });

  it("has unique policy names, all mandatory", () => {
    const names = POLICIES.map((p) => p.name);
    expect(new Set(names).size).to.equal(names.length);
    for (const p of POLICIES) expect(p.enforcementLevel, p.name).to.equal("mandatory");
  });

  it("reports violations only on the resource types a policy covers", () => {
    expect(runResourcePolicy(byName("log-retention-set"), TYPES.logGroup, {})).to.have.length(1);
    expect(runResourcePolicy(byName("log-retention-set"), TYPES.table, {})).to.deep.equal([]);
    expect(runResourcePolicy(byName("dynamodb-pitr-and-encryption"), TYPES.table, { pointInTimeRecovery: { enabled: true } })).to.have.length(1);
    expect(runResourcePolicy(byName("cloudfront-https-only"), TYPES.distribution, { defaultCacheBehavior: { viewerProtocolPolicy: "allow-all" } })).to.have.length(1);
    expect(runResourcePolicy(byName("s3-no-public-bucket"), TYPES.bucketObject, { acl: "public-read" })).to.have.length(1);
    expect(runResourcePolicy(byName("iam-no-dynamodb-on-wildcard"), TYPES.rolePolicy, { policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "dynamodb:*", Resource: "*" }] }) })).to.have.length(1);
  });

  it("checks the known Lambda variables even when others are unknown at preview", () => {
    const props = { environment: { variables: { FRONTEND_URL: proxy.unknownStringValue, PAYMENT_API_KEY: "literal-value", JWT_SECRET: "z".repeat(48), JWT_SECRET_PARAMETER: "/p/JWT_SECRET" } } };
    const violations = runResourcePolicy(byName("lambda-no-plaintext-secrets"), TYPES.lambdaFunction, props);
    // A strong secret is still refused in a plain environment; only its parameter's name belongs there.
    expect(violations).to.have.length(2);
    expect(violations[0]).to.contain("JWT_SECRET looks like a secret").and.contain("JWT_SECRET_PARAMETER");
    expect(violations[1]).to.contain("PAYMENT_API_KEY");
    // The policy config extends the allow-list: then only the value's strength is checked.
    const allowed = runResourcePolicy(byName("lambda-no-plaintext-secrets"), TYPES.lambdaFunction, props, { allowedSecretNames: ["JWT_SECRET", "PAYMENT_API_KEY"] });
    expect(allowed).to.deep.equal(["PAYMENT_API_KEY is shorter than 32 characters"]);
  });

  it("lets an unknown bucket policy surface as the SDK's UnknownValueError (it becomes a 'can't run during preview' note), never as a pass", () => {
    expect(() => runResourcePolicy(byName("s3-no-public-bucket"), TYPES.bucketPolicy, { policy: proxy.unknownStringValue })).to.throw(/can't be known during preview/);
  });

  it("flags a bucket without a public access block in the stack check", () => {
    const resource = (urn: string, type: string, deps: Record<string, PolicyResource[]> = {}) => ({ urn, type, props: {}, name: urn, dependencies: [], propertyDependencies: deps }) as unknown as PolicyResource;
    const covered = resource("urn:covered", TYPES.bucket);
    const naked = resource("urn:naked", TYPES.bucketV2);
    const pab = resource("urn:pab", TYPES.publicAccessBlock, { bucket: [covered] });
    const reported: { message: string; urn?: string }[] = [];
    const args = { resources: [covered, naked, pab], stackTags: new Map(), getConfig: () => ({}), notApplicable: () => { throw new Error(); } } as unknown as StackValidationArgs;
    void STACK_POLICIES[0]!.validateStack!(args, (message, urn) => reported.push({ message, urn }));
    expect(reported.map((r) => r.urn)).to.deep.equal(["urn:naked"]);
  });

  it("is a loadable local pack: PulumiPolicy.yaml names the nodejs runtime and package.json carries the version the runner requires", () => {
    const dir = path.join(REPO_ROOT, "policy");
    const project = parseYaml(fs.readFileSync(path.join(dir, "PulumiPolicy.yaml"), "utf8")) as { runtime: string; version: string };
    expect(project.runtime).to.equal("nodejs");
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string; main: string; dependencies?: unknown };
    expect(pkg.version).to.equal(project.version);
    expect(fs.existsSync(path.join(dir, pkg.main))).to.equal(true);
    // Dependencies resolve from the repository root: the pack needs no install of its own.
    expect(pkg.dependencies).to.equal(undefined);
    expect(require.resolve("@pulumi/policy", { paths: [dir] })).to.contain(path.join(REPO_ROOT, "node_modules"));
  });
});
