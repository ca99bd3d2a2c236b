// No DynamoDB permission on every resource: a role names the tables (and indexes) it may touch.
import { actionCoversService, asList, type Statement, statementsOf } from "./iam-document";

/** AWS managed policies that grant DynamoDB actions on `*`. */
const DYNAMODB_WILDCARD_MANAGED_POLICY = /:policy\/(service-role\/)?AmazonDynamoDB[A-Za-z_0-9]*$/;

function grantsDynamoDbOnEverything(statement: Statement): boolean {
  if (statement.Effect !== "Allow") return false;
  const resources = asList(statement.Resource);
  const onEverything = resources.includes("*") || (statement.NotResource !== undefined && statement.Resource === undefined);
  if (!onEverything) return false;
  if (statement.NotAction !== undefined) {
    // "everything except …": it grants DynamoDB unless DynamoDB is among the exceptions.
    return !asList(statement.NotAction).some((pattern) => actionCoversService(pattern, "dynamodb") && /:\*$|^\*$/.test(pattern));
  }
  return asList(statement.Action).some((pattern) => actionCoversService(pattern, "dynamodb"));
}

/** A policy document (`aws.iam.RolePolicy`, `aws.iam.Policy`, a role's inline policy). */
export function checkPolicyDocument(policy: unknown, what = "policy"): string[] {
  const parsed = statementsOf(policy);
  if ("error" in parsed) return [`${what} cannot be checked: ${parsed.error}`];
  return parsed.statements.flatMap((statement, index) =>
    grantsDynamoDbOnEverything(statement)
      ? [`${what} statement ${statement.Sid ? `"${statement.Sid}"` : `#${index + 1}`} allows DynamoDB actions on Resource "*"; name the table ARNs`]
      : [],
  );
}

/** `aws.iam.RolePolicy` / `aws.iam.Policy`: the `policy` property. */
export function checkRolePolicy(props: Record<string, unknown>): string[] {
  return checkPolicyDocument(props.policy);
}

/** `aws.iam.Role`: every inline policy. */
export function checkRoleInlinePolicies(props: Record<string, unknown>): string[] {
  const inline = props.inlinePolicies;
  if (!Array.isArray(inline)) return [];
  return inline.flatMap((p: { name?: unknown; policy?: unknown }) =>
    p?.policy === undefined || p.policy === "" ? [] : checkPolicyDocument(p.policy, `inline policy "${String(p.name ?? "?")}"`),
  );
}

/** `aws.iam.RolePolicyAttachment` / `PolicyAttachment`: no AWS managed DynamoDB policy (they use Resource "*"). */
export function checkPolicyAttachment(props: Record<string, unknown>): string[] {
  const arn = props.policyArn;
  return typeof arn === "string" && DYNAMODB_WILDCARD_MANAGED_POLICY.test(arn)
    ? [`the managed policy ${arn} grants DynamoDB actions on every table; use an inline policy naming the tables`]
    : [];
}
