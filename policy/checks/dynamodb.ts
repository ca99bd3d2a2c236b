// Tables keep a point-in-time backup window and are encrypted with a KMS key we can audit.

/** `aws.dynamodb.Table`: `pointInTimeRecovery.enabled` and `serverSideEncryption.enabled` both true. */
export function checkTable(props: Record<string, unknown>): string[] {
  const violations: string[] = [];
  const pitr = props.pointInTimeRecovery as { enabled?: unknown } | undefined;
  if (pitr?.enabled !== true) violations.push("point-in-time recovery must be enabled (pointInTimeRecovery.enabled: true)");
  const sse = props.serverSideEncryption as { enabled?: unknown } | undefined;
  if (sse?.enabled !== true) violations.push("server-side encryption with a KMS key must be enabled (serverSideEncryption.enabled: true)");
  return violations;
}
