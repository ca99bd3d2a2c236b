// The guardrails, wired as Pulumi policies. Each check is a pure function in ./checks (unit-tested
// without the engine); this file only says which resource types each one applies to.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { MIN_SECRET_LENGTH, PLACEHOLDER_SECRETS } from "../stacks/config";
import { checkDistributionHttps } from "./checks/cloudfront";
import { checkTable } from "./checks/dynamodb";
import { checkPolicyAttachment, checkRoleInlinePolicies, checkRolePolicy } from "./checks/iam";
import { checkLambdaEnvironment, checkSecretParameter, type LambdaSecretRules } from "./checks/lambda";
import { checkLogGroupRetention } from "./checks/logs";
import { bucketsWithoutPublicAccessBlock, checkBucket, checkBucketAcl, checkBucketPolicy, checkCannedAcl, checkPublicAccessBlock } from "./checks/s3";

/** Resource type tokens (checked against @pulumi/aws's own `__pulumiType` in the tests). */
export const TYPES = {
  bucket: "aws:s3/bucket:Bucket",
  bucketV2: "aws:s3/bucketV2:BucketV2",
  bucketAcl: "aws:s3/bucketAcl:BucketAcl",
  bucketAclV2: "aws:s3/bucketAclV2:BucketAclV2",
  bucketObject: "aws:s3/bucketObject:BucketObject",
  bucketObjectV2: "aws:s3/bucketObjectv2:BucketObjectv2",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  table: "aws:dynamodb/table:Table",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  role: "aws:iam/role:Role",
  rolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  policyAttachment: "aws:iam/policyAttachment:PolicyAttachment",
  distribution: "aws:cloudfront/distribution:Distribution",
  lambdaFunction: "aws:lambda/function:Function",
  ssmParameter: "aws:ssm/parameter:Parameter",
} as const;

type Check = (props: Record<string, unknown>, args: ResourceValidationArgs) => string[];

/** A validation that runs `check` on resources of the given types and reports each message. */
function forTypes(checks: Partial<Record<string, Check>>) {
  return (args: ResourceValidationArgs, report: ReportViolation): void => {
    const check = checks[args.type];
    if (check) for (const message of check(args.props, args)) report(message);
  };
}

/** A mandatory policy checking resources of the given types. */
function mandatory(name: string, description: string, checks: Partial<Record<string, Check>>, extra: Partial<ResourceValidationPolicy> = {}): ResourceValidationPolicy {
  return { name, description, enforcementLevel: "mandatory", validateResource: forTypes(checks), ...extra };
}

/** Default rules: no secret in any plain environment (the stack passes SSM parameter names), and the values it refuses. */
export const DEFAULT_LAMBDA_SECRET_RULES: LambdaSecretRules = {
  allowedSecretNames: [],
  forbiddenValues: Object.values(PLACEHOLDER_SECRETS),
  minSecretLength: MIN_SECRET_LENGTH,
};

export const RESOURCE_POLICIES: ResourceValidationPolicy[] = [
  mandatory("s3-no-public-bucket", "S3 buckets and objects are never public: public access blocks fully on, no public ACL or grant, no bucket policy allowing everyone without an aws:SourceArn condition.", {
    [TYPES.publicAccessBlock]: checkPublicAccessBlock,
    [TYPES.bucket]: checkBucket,
    [TYPES.bucketV2]: checkBucket,
    [TYPES.bucketAcl]: checkBucketAcl,
    [TYPES.bucketAclV2]: checkBucketAcl,
    [TYPES.bucketObject]: checkCannedAcl,
    [TYPES.bucketObjectV2]: checkCannedAcl,
    [TYPES.bucketPolicy]: checkBucketPolicy,
  }),
  mandatory("dynamodb-pitr-and-encryption", "DynamoDB tables have point-in-time recovery and KMS server-side encryption enabled.", { [TYPES.table]: checkTable }),
  mandatory("log-retention-set", "CloudWatch log groups have a retention period.", { [TYPES.logGroup]: checkLogGroupRetention }),
  mandatory("iam-no-dynamodb-on-wildcard", "No IAM policy allows DynamoDB actions on Resource \"*\" (name the tables instead).", {
    [TYPES.rolePolicy]: checkRolePolicy,
    [TYPES.policy]: checkRolePolicy,
    [TYPES.role]: checkRoleInlinePolicies,
    [TYPES.rolePolicyAttachment]: checkPolicyAttachment,
    [TYPES.policyAttachment]: checkPolicyAttachment,
  }),
  mandatory("cloudfront-https-only", "Every CloudFront cache behaviour redirects to or requires HTTPS.", { [TYPES.distribution]: checkDistributionHttps }),
  mandatory(
    "lambda-no-plaintext-secrets",
    "Secrets are not in plain Lambda environments (anyone with lambda:GetFunctionConfiguration reads those): no secret-looking variable and no AWS keys there; secrets live in SSM SecureString parameters with strong, non-placeholder values.",
    {
      [TYPES.lambdaFunction]: (props, args) => {
        const config = args.getConfig<{ allowedSecretNames?: string[] }>();
        return checkLambdaEnvironment(props, {
          ...DEFAULT_LAMBDA_SECRET_RULES,
          allowedSecretNames: config?.allowedSecretNames ?? DEFAULT_LAMBDA_SECRET_RULES.allowedSecretNames,
        });
      },
      [TYPES.ssmParameter]: (props) => checkSecretParameter(props, DEFAULT_LAMBDA_SECRET_RULES),
    },
    {
      configSchema: {
        properties: {
          allowedSecretNames: { type: "array", items: { type: "string" }, default: [...DEFAULT_LAMBDA_SECRET_RULES.allowedSecretNames] },
        },
      },
    },
  ),
];

export const STACK_POLICIES: StackValidationPolicy[] = [
  {
    name: "s3-bucket-has-public-access-block",
    description: "Every S3 bucket has its own public access block.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
      const views = args.resources.map((r) => ({
        urn: r.urn,
        type: r.type,
        propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies ?? {}).map(([k, deps]) => [k, deps.map((d) => d.urn)])),
      }));
      for (const urn of bucketsWithoutPublicAccessBlock(views)) report("this bucket has no aws.s3.BucketPublicAccessBlock (all four settings true)", urn);
    },
  },
];

export const POLICIES = [...RESOURCE_POLICIES, ...STACK_POLICIES];
