// Least-privilege IAM policy documents for the functions, derived from the contract's table access.
// Pure (ARNs come in as strings) so the exact statements are unit-tested.
import { tablesFor, type FunctionName, type TableAccess, type TableName } from "../handlers/contract";

export const DYNAMODB_ACTIONS: Readonly<Record<"read" | "write", readonly string[]>> = {
  read: ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:ConditionCheckItem"],
  write: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"],
};

export function dynamoActions(access: TableAccess): string[] {
  const actions = access === "read" ? DYNAMODB_ACTIONS.read : access === "write" ? DYNAMODB_ACTIONS.write : [...DYNAMODB_ACTIONS.read, ...DYNAMODB_ACTIONS.write];
  return [...new Set(actions)].sort();
}

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

export interface FunctionPolicyInput {
  fn: FunctionName;
  /** Table ARN per logical table name (at least the tables the function uses). */
  tableArns: Readonly<Partial<Record<TableName, string>>>;
  /** The SES identities (the sender address and its domain) the function may send as. */
  sesIdentityArns: readonly string[];
  sesFromEmail: string;
  /** ARN of the function's own log group (without the `:*` suffix). */
  logGroupArn: string;
  /** ARNs of the SSM parameters holding the secrets this function reads (and only those). */
  secretParameterArns?: readonly string[];
}

const SIDS: Record<TableAccess, string> = { read: "DynamoDbRead", write: "DynamoDbWrite", readwrite: "DynamoDbReadWrite" };

/** SES as the configured sender only. */
function sendAsConfiguredSender(input: { sesIdentityArns: readonly string[]; sesFromEmail: string }): PolicyStatement {
  return {
    Sid: "SendEmailAsConfiguredSender",
    Effect: "Allow",
    Action: ["ses:SendEmail"],
    Resource: [...input.sesIdentityArns],
    Condition: { StringEquals: { "ses:FromAddress": input.sesFromEmail } },
  };
}

/**
 * Read exactly these secret parameters. SecureStrings under the AWS managed key aws/ssm: its key policy
 * lets SSM decrypt for any principal of the account allowed to read the parameter, so no kms:Decrypt grant.
 */
function readOwnSecrets(arns: readonly string[] | undefined): PolicyStatement[] {
  return arns && arns.length > 0 ? [{ Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [...arns] }] : [];
}

/** Logs only to the function's own group. */
function ownLogGroup(logGroupArn: string): PolicyStatement {
  return { Sid: "OwnLogGroup", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${logGroupArn}:*`] };
}

/**
 * The function's inline policy: DynamoDB actions per the contract's access level on exactly its tables
 * (and their indexes when it may read), SES sending only as the configured sender, logs only to its own group.
 */
export function functionPolicy(input: FunctionPolicyInput): PolicyDocument {
  const byAccess = new Map<TableAccess, string[]>();
  for (const { table, access } of tablesFor(input.fn)) {
    const arn = input.tableArns[table.name];
    if (!arn) throw new Error(`no ARN for table ${table.name} (function ${input.fn} uses it)`);
    // Queries on an index need the index ARN; write-only access never touches an index.
    const resources = access === "write" ? [arn] : [arn, `${arn}/index/*`];
    byAccess.set(access, [...(byAccess.get(access) ?? []), ...resources]);
  }
  const statements: PolicyStatement[] = [];
  for (const access of ["read", "write", "readwrite"] as const) {
    const resources = byAccess.get(access);
    if (resources) statements.push({ Sid: SIDS[access], Effect: "Allow", Action: dynamoActions(access), Resource: resources });
  }
  statements.push(sendAsConfiguredSender(input), ...readOwnSecrets(input.secretParameterArns), ownLogGroup(input.logGroupArn));
  return { Version: "2012-10-17", Statement: statements };
}

/** ARNs of the SES identities that cover a sender address: the address itself and its domain. */
export function sesIdentityArns(opts: { partition: string; region: string; accountId: string; sesFromEmail: string }): string[] {
  const domain = opts.sesFromEmail.slice(opts.sesFromEmail.lastIndexOf("@") + 1);
  const base = `arn:${opts.partition}:ses:${opts.region}:${opts.accountId}:identity`;
  return [`${base}/${opts.sesFromEmail}`, `${base}/${domain}`];
}

export const LAMBDA_ASSUME_ROLE_POLICY: string = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

export interface IntegratedPolicyInput {
  /** The tables the synced app uses: ARN and whether it calls DescribeTable on it. */
  tables: ReadonlyArray<{ arn: string; describe: boolean }>;
  /** The images bucket's ARN, when the app writes project images. */
  imagesBucketArn?: string;
  sesIdentityArns: readonly string[];
  sesFromEmail: string;
  logGroupArn: string;
  /** The SSM parameters (secrets) the shim reads for the app. */
  secretParameterArns?: readonly string[];
}

/** Where the app writes images (presigned PUT URLs signed by the function's role). */
export const IMAGES_PREFIX = "images/";

/**
 * The integrated function's inline policy: exactly what the synced app reads (sync-metadata.json),
 * read/write on its tables and their indexes, DescribeTable only where it calls it, PutObject under
 * the images prefix, SES as the configured sender, its own log group.
 */
export function integratedFunctionPolicy(input: IntegratedPolicyInput): PolicyDocument {
  const statements: PolicyStatement[] = [];
  // One entry per ARN; DescribeTable when any entry naming it needs it.
  const describeByArn = new Map<string, boolean>();
  for (const t of input.tables) describeByArn.set(t.arn, (describeByArn.get(t.arn) ?? false) || t.describe);
  const arns = [...describeByArn.keys()];
  if (arns.length) {
    statements.push({ Sid: SIDS.readwrite, Effect: "Allow", Action: dynamoActions("readwrite"), Resource: arns.flatMap((arn) => [arn, `${arn}/index/*`]) });
  }
  const described = arns.filter((arn) => describeByArn.get(arn));
  if (described.length) statements.push({ Sid: "DynamoDbDescribeAtStartup", Effect: "Allow", Action: ["dynamodb:DescribeTable"], Resource: described });
  if (input.imagesBucketArn) {
    statements.push({ Sid: "ProjectImagesUpload", Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${input.imagesBucketArn}/${IMAGES_PREFIX}*`] });
  }
  statements.push(sendAsConfiguredSender(input), ...readOwnSecrets(input.secretParameterArns), ownLogGroup(input.logGroupArn));
  return { Version: "2012-10-17", Statement: statements };
}
