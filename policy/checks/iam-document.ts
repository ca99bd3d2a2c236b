// Reading IAM policy documents as the policy pack sees them: a JSON string or an already-parsed
// object, with Action/Resource/Principal as a string or a list. Pure, no Pulumi imports.

export interface Statement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
}

/** The statements of a policy document, or an error message when it is not one. */
export function statementsOf(policy: unknown): { statements: Statement[] } | { error: string } {
  let doc: unknown = policy;
  if (typeof policy === "string") {
    try {
      doc = JSON.parse(policy);
    } catch {
      return { error: "the policy document is not valid JSON" };
    }
  }
  if (typeof doc !== "object" || doc === null) return { error: "the policy document is not an object" };
  const raw = (doc as { Statement?: unknown }).Statement;
  if (raw === undefined) return { statements: [] };
  const list = Array.isArray(raw) ? raw : [raw];
  if (!list.every((s) => typeof s === "object" && s !== null)) return { error: "a policy statement is not an object" };
  return { statements: list as Statement[] };
}

export function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** IAM wildcard matching (`*` any run, `?` one character), case-insensitive like IAM action names. */
export function iamGlob(pattern: string, value: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${regex}$`, "i").test(value);
}

/** True when the action pattern can match some action of the service (`*`, `dynamodb:*`, `dynamo*:Get*`…). */
export function actionCoversService(pattern: string, service: string): boolean {
  if (pattern === "*") return true;
  const colon = pattern.indexOf(":");
  const servicePart = colon === -1 ? pattern : pattern.slice(0, colon);
  return iamGlob(servicePart, service);
}

/** A statement whose Principal is everyone: `"*"` or `{ AWS: "*" }` (alone or in a list). */
export function isPublicPrincipal(principal: unknown): boolean {
  if (principal === "*") return true;
  if (typeof principal !== "object" || principal === null) return false;
  const aws = (principal as { AWS?: unknown }).AWS;
  return aws === "*" || (Array.isArray(aws) && aws.includes("*"));
}

/** Condition keys present in a statement, lower-cased (`aws:sourcearn`…), whatever the operator. */
export function conditionKeys(statement: Statement): Set<string> {
  const keys = new Set<string>();
  for (const block of Object.values(statement.Condition ?? {})) {
    if (typeof block === "object" && block !== null) for (const key of Object.keys(block)) keys.add(key.toLowerCase());
  }
  return keys;
}
