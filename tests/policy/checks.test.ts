// Each guardrail's pure check on passing and failing resources (no Pulumi engine involved).
import { expect } from "chai";
import { checkDistributionHttps } from "../../policy/checks/cloudfront";
import { checkTable } from "../../policy/checks/dynamodb";
import { actionCoversService, iamGlob } from "../../policy/checks/iam-document";
import { checkPolicyAttachment, checkPolicyDocument, checkRoleInlinePolicies, checkRolePolicy } from "../../policy/checks/iam";
import { checkLambdaEnvironment, checkSecretParameter, looksLikeSecretName } from "../../policy/checks/lambda";
import { checkLogGroupRetention } from "../../policy/checks/logs";
import { type StackResourceView, bucketsWithoutPublicAccessBlock, checkBucket, checkBucketAcl, checkBucketPolicy, checkPublicAccessBlock } from "../../policy/checks/s3";
import { DEFAULT_LAMBDA_SECRET_RULES } from "../../policy/policies";
import { functionPolicy } from "../../stacks/policies";
import { ENV, TABLES, type TableName } from "../../handlers/contract";

const ALL_BLOCKED = { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });

describe("policy checks: S3", () => {
  it("accepts a public access block with all four settings on", () => {
    expect(checkPublicAccessBlock(ALL_BLOCKED)).to.deep.equal([]);
  });
  it("names every setting that is off or missing", () => {
    const [message] = checkPublicAccessBlock({ ...ALL_BLOCKED, blockPublicPolicy: false, restrictPublicBuckets: undefined });
    expect(message).to.contain("blockPublicPolicy").and.contain("restrictPublicBuckets").and.not.contain("ignorePublicAcls");
  });
  it("refuses public canned ACLs and AllUsers grants on a bucket, accepts a private one", () => {
    expect(checkBucket({ acl: "private" })).to.deep.equal([]);
    expect(checkBucket({})).to.deep.equal([]);
    expect(checkBucket({ acl: "public-read" })).to.have.length(1);
    expect(checkBucket({ grants: [{ type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers", permissions: ["READ"] }] })).to.have.length(1);
    expect(checkBucket({ grants: [{ type: "CanonicalUser", id: "abc", permissions: ["FULL_CONTROL"] }] })).to.deep.equal([]);
  });
  it("refuses a bucket ACL resource granting AuthenticatedUsers", () => {
    const acp = { grants: [{ grantee: { type: "Group", uri: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers" }, permission: "READ" }], owner: { id: "o" } };
    expect(checkBucketAcl({ accessControlPolicy: acp })).to.have.length(1);
    expect(checkBucketAcl({ acl: "public-read-write" })).to.have.length(1);
    expect(checkBucketAcl({ acl: "private" })).to.deep.equal([]);
  });

  // The stack's own policy: CloudFront through OAC pinned by SourceArn, plus a Deny-everyone TLS rule.
  const oacPolicy = doc(
    { Sid: "CloudFrontReadsThroughOAC", Effect: "Allow", Principal: { Service: "cloudfront.amazonaws.com" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*", Condition: { StringEquals: { "AWS:SourceArn": "arn:aws:cloudfront::1:distribution/X" } } },
    { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } },
  );
  it("accepts the OAC bucket policy (Deny to everyone is fine)", () => {
    expect(checkBucketPolicy({ policy: oacPolicy })).to.deep.equal([]);
  });
  it("refuses Allow to Principal * or {AWS: *} without aws:SourceArn, and accepts it with one", () => {
    const open = doc({ Sid: "Open", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" });
    expect(checkBucketPolicy({ policy: open })).to.deep.equal(['bucket policy statement "Open" allows Principal "*" without an aws:SourceArn condition']);
    const awsStar = { Version: "2012-10-17", Statement: { Effect: "Allow", Principal: { AWS: ["*"] }, Action: "s3:*", Resource: "*" } };
    expect(checkBucketPolicy({ policy: awsStar })).to.have.length(1);
    const otherCondition = doc({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*", Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } });
    expect(checkBucketPolicy({ policy: otherCondition })).to.have.length(1);
    const pinned = doc({ Effect: "Allow", Principal: "*", Action: "s3:PutObject", Resource: "*", Condition: { ArnLike: { "aws:SourceArn": "arn:aws:sns:*:1:t" } } });
    expect(checkBucketPolicy({ policy: pinned })).to.deep.equal([]);
  });
  it("fails closed on a policy it cannot read", () => {
    expect(checkBucketPolicy({ policy: "{not json" })[0]).to.contain("cannot be checked");
    expect(checkBucket({ policy: doc({ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" }) })).to.have.length(1);
  });
  it("finds buckets that no public access block points at", () => {
    const resources: StackResourceView[] = [
      { urn: "urn:b1", type: "aws:s3/bucket:Bucket", propertyDependencies: {} },
      { urn: "urn:b2", type: "aws:s3/bucketV2:BucketV2", propertyDependencies: {} },
      { urn: "urn:pab", type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", propertyDependencies: { bucket: ["urn:b1"] } },
    ];
    expect(bucketsWithoutPublicAccessBlock(resources)).to.deep.equal(["urn:b2"]);
  });
});

describe("policy checks: DynamoDB tables", () => {
  it("accepts PITR and SSE enabled", () => {
    expect(checkTable({ pointInTimeRecovery: { enabled: true }, serverSideEncryption: { enabled: true } })).to.deep.equal([]);
  });
  it("reports missing PITR and missing encryption separately", () => {
    expect(checkTable({})).to.have.length(2);
    expect(checkTable({ pointInTimeRecovery: { enabled: false }, serverSideEncryption: { enabled: true } })[0]).to.contain("point-in-time");
    expect(checkTable({ pointInTimeRecovery: { enabled: true }, serverSideEncryption: { enabled: false } })[0]).to.contain("encryption");
  });
});

describe("policy checks: log retention", () => {
  it("accepts a positive retention and refuses none or 0 (never expire)", () => {
    expect(checkLogGroupRetention({ retentionInDays: 30 })).to.deep.equal([]);
    expect(checkLogGroupRetention({})).to.have.length(1);
    expect(checkLogGroupRetention({ retentionInDays: 0 })).to.have.length(1);
  });
});

describe("policy checks: IAM and DynamoDB on *", () => {
  it("matches IAM wildcards against services", () => {
    expect(iamGlob("dynamo*", "dynamodb")).to.equal(true);
    expect(actionCoversService("*", "dynamodb")).to.equal(true);
    expect(actionCoversService("DynamoDB:GetItem", "dynamodb")).to.equal(true);
    expect(actionCoversService("s3:*", "dynamodb")).to.equal(false);
  });
  it("refuses DynamoDB actions (or *) on Resource *", () => {
    expect(checkRolePolicy({ policy: doc({ Sid: "Bad", Effect: "Allow", Action: ["dynamodb:GetItem"], Resource: "*" }) })).to.have.length(1);
    expect(checkRolePolicy({ policy: doc({ Effect: "Allow", Action: "*", Resource: ["*"] }) })).to.have.length(1);
    expect(checkRolePolicy({ policy: doc({ Effect: "Allow", NotAction: "iam:*", Resource: "*" }) })).to.have.length(1);
  });
  it("accepts DynamoDB on named tables, other services on *, Deny on *, and NotAction that excludes DynamoDB", () => {
    expect(checkRolePolicy({ policy: doc({ Effect: "Allow", Action: "dynamodb:*", Resource: "arn:aws:dynamodb:eu-west-1:1:table/people" }) })).to.deep.equal([]);
    expect(checkRolePolicy({ policy: doc({ Effect: "Allow", Action: "logs:PutLogEvents", Resource: "*" }) })).to.deep.equal([]);
    expect(checkRolePolicy({ policy: doc({ Effect: "Deny", Action: "dynamodb:*", Resource: "*" }) })).to.deep.equal([]);
    expect(checkRolePolicy({ policy: doc({ Effect: "Allow", NotAction: ["dynamodb:*", "iam:*"], Resource: "*" }) })).to.deep.equal([]);
  });
  it("checks a role's inline policies and refuses the AWS managed DynamoDB policies", () => {
    const inlinePolicies = [{ name: "ok", policy: doc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }) }, { name: "wide", policy: doc({ Effect: "Allow", Action: "dynamodb:Query", Resource: "*" }) }];
    const violations = checkRoleInlinePolicies({ inlinePolicies });
    expect(violations).to.have.length(1);
    expect(violations[0]).to.contain('"wide"');
    expect(checkPolicyAttachment({ policyArn: "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess" })).to.have.length(1);
    expect(checkPolicyAttachment({ policyArn: "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs" })).to.deep.equal([]);
  });
  it("accepts the policy the stack generates for every function", () => {
    const tableArns = Object.fromEntries(TABLES.map((t) => [t.name, `arn:aws:dynamodb:eu-west-1:123456789012:table/${t.name}`])) as Record<TableName, string>;
    for (const fn of ["api", "auth"] as const) {
      const policy = functionPolicy({ fn, tableArns, sesIdentityArns: ["arn:aws:ses:eu-west-1:1:identity/example.com"], sesFromEmail: "a@example.com", logGroupArn: "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/x" });
      expect(checkPolicyDocument(policy), fn).to.deep.equal([]);
    }
  });
});

describe("policy checks: CloudFront HTTPS only", () => {
  it("accepts redirect-to-https and https-only on all behaviours", () => {
    const props = { defaultCacheBehavior: { viewerProtocolPolicy: "redirect-to-https" }, orderedCacheBehaviors: [{ pathPattern: "/api/*", viewerProtocolPolicy: "https-only" }] };
    expect(checkDistributionHttps(props)).to.deep.equal([]);
  });
  it("refuses allow-all on the default or any ordered behaviour, naming it", () => {
    expect(checkDistributionHttps({ defaultCacheBehavior: { viewerProtocolPolicy: "allow-all" } })[0]).to.contain("default cache behaviour");
    const ordered = checkDistributionHttps({ defaultCacheBehavior: { viewerProtocolPolicy: "https-only" }, orderedCacheBehaviors: [{ pathPattern: "/img/*", viewerProtocolPolicy: "allow-all" }] });
    expect(ordered).to.have.length(1);
    expect(ordered[0]).to.contain('"/img/*"');
  });
});

describe("policy checks: secrets in Lambda environments", () => {
  const rules = DEFAULT_LAMBDA_SECRET_RULES;
  const strong = "x".repeat(20) + "Q9f!2kLm0pR7sT4vW8yZ";
  const fn = (variables: Record<string, unknown>) => ({ environment: { variables } });

  it("recognises secret-looking names", () => {
    for (const name of ["JWT_SECRET", "GITHUB_TOKEN", "DB_PASSWORD", "STRIPE_API_KEY", "apiKey", "privateKey"]) expect(looksLikeSecretName(name), name).to.equal(true);
    for (const name of ["TABLE_PEOPLE", "FRONTEND_URL", "LOG_LEVEL", "SES_FROM_EMAIL", "KEYSTONE_URL", "PASSWORD_RESET_TOKENS_TABLE_NAME", "DB_SECRET_ARN"]) expect(looksLikeSecretName(name), name).to.equal(false);
  });
  it("accepts the environment the stack gives its functions (every contract variable, secrets by parameter name)", () => {
    const variables: Record<string, string> = Object.fromEntries(TABLES.map((t) => [t.envVar, `people-register-prod-${t.name}`]));
    for (const name of Object.values(ENV)) if (name !== ENV.jwtSecret && name !== ENV.csrfSecret) variables[name] ??= "some-value";
    variables[ENV.jwtSecretParameter] = "/people-register-prod/JWT_SECRET";
    expect(checkLambdaEnvironment(fn(variables), rules)).to.deep.equal([]);
    expect(checkLambdaEnvironment({}, rules)).to.deep.equal([]);
  });
  it("refuses a secret in a plain environment, however strong, and names the parameter to use instead", () => {
    for (const name of [ENV.jwtSecret, ENV.csrfSecret]) {
      const [message] = checkLambdaEnvironment(fn({ [name]: strong, LOG_LEVEL: "INFO" }), rules);
      expect(message).to.contain(`${name} looks like a secret`).and.contain(`${name}_PARAMETER`).and.not.contain(strong);
    }
  });
  it("refuses a secret-looking variable the stack does not deliver as a Pulumi secret, without echoing its value", () => {
    const [message] = checkLambdaEnvironment(fn({ PAYMENT_API_KEY: "sk_live_abcdef" }), rules);
    expect(message).to.contain("PAYMENT_API_KEY").and.not.contain("sk_live_abcdef");
  });
  it("refuses placeholder and short secrets where a name is allowed, and in SSM parameters", () => {
    const allowing = { ...rules, allowedSecretNames: ["JWT_SECRET", "CSRF_SECRET"] };
    expect(checkLambdaEnvironment(fn({ JWT_SECRET: "your-jwt-secret-change-in-production-please" }), allowing)[0]).to.contain("placeholder");
    expect(checkLambdaEnvironment(fn({ CSRF_SECRET: "short" }), allowing)[0]).to.contain("shorter");
    const param = (name: string, type: string, value: string) => ({ name, type, value });
    expect(checkSecretParameter(param("/s/JWT_SECRET", "SecureString", strong), rules)).to.deep.equal([]);
    expect(checkSecretParameter(param("/s/JWT_SECRET", "String", strong), rules)[0]).to.contain("SecureString").and.not.contain(strong);
    expect(checkSecretParameter(param("/s/JWT_SECRET", "SecureString", "your-jwt-secret-change-in-production-please"), rules)[0]).to.contain("placeholder");
    expect(checkSecretParameter(param("/s/CSRF_SECRET", "SecureString", "short"), rules)[0]).to.contain("shorter");
    expect(checkSecretParameter(param("/s/FEATURE_FLAG", "String", "on"), rules)).to.deep.equal([]);
  });
  it("refuses AWS access keys in any variable", () => {
    expect(checkLambdaEnvironment(fn({ SOME_SETTING: "AKIAABCDEFGHIJKLMNOP" }), rules)[0]).to.contain("AWS access key");
  });
  it("honours an extended allow-list", () => {
    expect(checkLambdaEnvironment(fn({ PAYMENT_API_KEY: strong }), { ...rules, allowedSecretNames: ["PAYMENT_API_KEY"] })).to.deep.equal([]);
  });
});
