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
  statements.push({
    Sid: "SendEmailAsConfiguredSender",
    Effect: "Allow",
    Action: ["ses:SendEmail"],
    Resource: [...input.sesIdentityArns],
    Condition: { StringEquals: { "ses:FromAddress": input.sesFromEmail } },
  });
  if (input.secretParameterArns && input.secretParameterArns.length > 0) {
    // SecureStrings under the AWS managed key aws/ssm: its key policy lets SSM decrypt for any
    // principal of the account allowed to read the parameter, so no kms:Decrypt grant is needed.
    statements.push({ Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [...input.secretParameterArns] });
  }
  statements.push({
    Sid: "OwnLogGroup",
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: [`${input.logGroupArn}:*`],
  });
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
