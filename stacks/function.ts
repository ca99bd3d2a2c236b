// ApiFunction: one Lambda function with its own role (least privilege), its own log group and JSON logs.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FunctionName, TableName } from "../handlers/contract";
import type { FunctionCode } from "./code";
import { LAMBDA_ASSUME_ROLE_POLICY, functionPolicy } from "./policies";

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
  /** The SSM parameters (secrets) this function may read. */
  secretParameterArns?: pulumi.Input<string>[];
}

export class ApiFunction extends pulumi.ComponentResource {
  readonly function: aws.lambda.Function;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;

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
        .all([pulumi.all(args.tableArns), args.sesIdentityArns, this.logGroup.arn, pulumi.all(args.secretParameterArns ?? [])])
        .apply(([tableArns, sesIdentityArns, logGroupArn, secretParameterArns]) =>
          JSON.stringify(functionPolicy({ fn: args.fn, tableArns, sesIdentityArns, sesFromEmail: args.sesFromEmail, logGroupArn, secretParameterArns })),
        ),
    }, parent);

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
    }, { parent: this, dependsOn: [policy, this.logGroup] });

    this.registerOutputs({ functionName: this.function.name, functionArn: this.function.arn });
  }
}
