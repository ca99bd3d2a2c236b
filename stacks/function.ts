// ApiFunction: one Lambda function with its own role (least privilege), its own log group and JSON logs.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FunctionName, TableName } from "../handlers/contract";
import type { FunctionCode } from "./code";
import { type IntegratedPolicyInput, LAMBDA_ASSUME_ROLE_POLICY, functionPolicy, integratedFunctionPolicy } from "./policies";

export interface ApiFunctionArgs {
  fn: FunctionName;
  /** Physical function name; the log group is `/aws/lambda/<functionName>`. */
  functionName: string;
  description: string;
  code: FunctionCode;
  memorySize: number;
  timeoutSeconds: number;
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>;
  tableArns: Record<TableName, pulumi.Output<string>>;
  sesIdentityArns: pulumi.Input<string[]>;
  sesFromEmail: string;
  logRetentionDays: number;
  /** Version the `live` alias is pinned to (the driver pins it during a promotion); absent: the newest version. */
  liveVersion?: string;
  /** X-Ray active tracing (the role gets the daemon's write permissions). */
  tracing: boolean;
  /** The integrated app's grants (what the synced code reads) instead of the contract's per-function access. */
  integratedGrants?: pulumi.Input<{ tables: Array<{ arn: string; describe: boolean }>; imagesBucketArn?: string }>;
  /** The SSM parameters (secrets) this function may read. */
  secretParameterArns?: pulumi.Input<string>[];
}

/** Alias users reach through the API's main stage. */
export const LIVE_ALIAS = "live";
/** Alias that always points at the newest published version; reached through the candidate stage. */
export const CANDIDATE_ALIAS = "candidate";

export class ApiFunction extends pulumi.ComponentResource {
  readonly function: aws.lambda.Function;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly liveAlias: aws.lambda.Alias;
  readonly candidateAlias: aws.lambda.Alias;

  constructor(name: string, args: ApiFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("people-register:api:Function", name, {}, opts);
    const parent = { parent: this };

    // Created up front with a retention; otherwise Lambda creates it with infinite retention.
    this.logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
      name: `/aws/lambda/${args.functionName}`,
      retentionInDays: args.logRetentionDays,
    }, parent);

    this.role = new aws.iam.Role(`${name}-role`, {
      description: `People Register function ${args.fn}: only what the contract grants it`,
      assumeRolePolicy: LAMBDA_ASSUME_ROLE_POLICY,
    }, parent);

    const policy = new aws.iam.RolePolicy(`${name}-policy`, {
      role: this.role.id,
      policy: pulumi
        .all([pulumi.all(args.tableArns), args.sesIdentityArns, this.logGroup.arn, pulumi.output(args.integratedGrants), pulumi.all(args.secretParameterArns ?? [])])
        .apply(([tableArns, sesIdentityArns, logGroupArn, grants, secretParameterArns]) =>
          JSON.stringify(grants
            ? integratedFunctionPolicy({ ...(grants as Omit<IntegratedPolicyInput, "sesIdentityArns" | "sesFromEmail" | "logGroupArn">), sesIdentityArns, sesFromEmail: args.sesFromEmail, logGroupArn, secretParameterArns })
            : functionPolicy({ fn: args.fn, tableArns, sesIdentityArns, sesFromEmail: args.sesFromEmail, logGroupArn, secretParameterArns })),
        ),
    }, parent);

    const tracingPolicy = args.tracing
      ? new aws.iam.RolePolicyAttachment(`${name}-xray`, {
          role: this.role.name,
          policyArn: pulumi.interpolate`arn:${aws.getPartitionOutput({}, parent).partition}:iam::aws:policy/AWSXRayDaemonWriteAccess`,
        }, parent)
      : undefined;

    const code = args.code;
    this.function = new aws.lambda.Function(name, {
      name: args.functionName,
      description: args.description,
      role: this.role.arn,
      architectures: [code.architecture],
      ...(code.packageType === "Zip"
        ? { packageType: "Zip", code: code.archive, runtime: code.runtime, handler: code.handler }
        : { packageType: "Image", imageUri: code.imageUri }),
      memorySize: args.memorySize,
      timeout: args.timeoutSeconds,
      environment: { variables: args.environment },
      loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
      // Every code or config change publishes a version, so `live` can stay on (or go back to) a known one.
      publish: true,
      tracingConfig: { mode: args.tracing ? "Active" : "PassThrough" },
    }, { parent: this, dependsOn: [policy, this.logGroup, ...(tracingPolicy ? [tracingPolicy] : [])] });

    this.candidateAlias = new aws.lambda.Alias(`${name}-candidate`, {
      name: CANDIDATE_ALIAS,
      description: "The newest version, smoke-tested through the candidate stage before promotion",
      functionName: this.function.name,
      functionVersion: this.function.version,
    }, parent);
    this.liveAlias = new aws.lambda.Alias(`${name}-live`, {
      name: LIVE_ALIAS,
      description: "The version users get (moved by the driver after smoke tests, moved back on failure)",
      functionName: this.function.name,
      functionVersion: args.liveVersion ?? this.function.version,
    }, parent);

    this.registerOutputs({ functionName: this.function.name, functionArn: this.function.arn });
  }
}
