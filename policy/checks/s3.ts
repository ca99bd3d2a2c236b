// No public bucket: every public access block fully on, no public canned ACL or grant, no bucket
// policy that allows everyone without pinning the caller to a source ARN.
import { conditionKeys, isPublicPrincipal, statementsOf } from "./iam-document";

export const PUBLIC_ACLS: readonly string[] = ["public-read", "public-read-write", "authenticated-read"];
const PUBLIC_GRANTEE_URIS = ["http://acs.amazonaws.com/groups/global/AllUsers", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"];
const PUBLIC_ACCESS_BLOCK_SETTINGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** `aws.s3.BucketPublicAccessBlock`: all four settings must be true. */
export function checkPublicAccessBlock(props: Record<string, unknown>): string[] {
  const off = PUBLIC_ACCESS_BLOCK_SETTINGS.filter((setting) => props[setting] !== true);
  return off.length ? [`the public access block must set ${off.join(", ")} to true`] : [];
}

/** A canned ACL (`acl`) that is public. Used for buckets, bucket ACLs and objects. */
export function checkCannedAcl(props: Record<string, unknown>): string[] {
  const acl = props.acl;
  return typeof acl === "string" && PUBLIC_ACLS.includes(acl) ? [`the canned ACL "${acl}" makes it public`] : [];
}

function publicGrantees(grants: unknown, uriOf: (grant: Record<string, unknown>) => unknown): string[] {
  if (!Array.isArray(grants)) return [];
  return grants
    .map((grant) => (typeof grant === "object" && grant !== null ? uriOf(grant as Record<string, unknown>) : undefined))
    .filter((uri): uri is string => typeof uri === "string" && PUBLIC_GRANTEE_URIS.includes(uri));
}

/** `aws.s3.Bucket` / `BucketV2`: canned ACL, inline grants and the (deprecated) inline policy. */
export function checkBucket(props: Record<string, unknown>): string[] {
  const violations = checkCannedAcl(props);
  for (const uri of publicGrantees(props.grants, (g) => g.uri)) violations.push(`a grant gives access to ${uri}`);
  if (props.policy !== undefined && props.policy !== "") violations.push(...checkBucketPolicy({ policy: props.policy }));
  return violations;
}

/** `aws.s3.BucketAcl` / `BucketAclV2`: canned ACL or an access control policy granting a public group. */
export function checkBucketAcl(props: Record<string, unknown>): string[] {
  const violations = checkCannedAcl(props);
  const acp = props.accessControlPolicy as { grants?: unknown } | undefined;
  const uris = publicGrantees(acp?.grants, (g) => (g.grantee as { uri?: unknown } | undefined)?.uri);
  for (const uri of uris) violations.push(`the access control policy grants access to ${uri}`);
  return violations;
}

/** Condition keys that tie an "everyone" principal to one caller (a service acting for a resource). */
const SOURCE_CONDITION_KEYS = ["aws:sourcearn"];

/** `aws.s3.BucketPolicy`: no Allow to everyone unless a SourceArn condition restricts it. */
export function checkBucketPolicy(props: Record<string, unknown>): string[] {
  const parsed = statementsOf(props.policy);
  if ("error" in parsed) return [`bucket policy cannot be checked: ${parsed.error}`];
  const violations: string[] = [];
  parsed.statements.forEach((statement, index) => {
    if (statement.Effect !== "Allow" || !isPublicPrincipal(statement.Principal)) return;
    const keys = conditionKeys(statement);
    if (SOURCE_CONDITION_KEYS.some((key) => keys.has(key))) return;
    const label = statement.Sid ? `"${statement.Sid}"` : `#${index + 1}`;
    violations.push(`bucket policy statement ${label} allows Principal "*" without an aws:SourceArn condition`);
  });
  return violations;
}

/** The minimum a stack validation needs of a resource: who it is and which resources its properties came from. */
export interface StackResourceView {
  urn: string;
  type: string;
  /** Property name → URNs of the resources it depends on. */
  propertyDependencies: Record<string, readonly string[]>;
}

export const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
export const PUBLIC_ACCESS_BLOCK_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";

/** Buckets (URNs) that no public access block in the stack points at. */
export function bucketsWithoutPublicAccessBlock(resources: readonly StackResourceView[]): string[] {
  const covered = new Set<string>();
  for (const r of resources) if (r.type === PUBLIC_ACCESS_BLOCK_TYPE) for (const urn of r.propertyDependencies.bucket ?? []) covered.add(urn);
  return resources.filter((r) => BUCKET_TYPES.includes(r.type) && !covered.has(r.urn)).map((r) => r.urn);
}
