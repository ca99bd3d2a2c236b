// Log groups expire: without a retention CloudWatch keeps logs (and personal data in them) forever.

/** `aws.cloudwatch.LogGroup`: `retentionInDays` set to a positive number (0 means "never expire"). */
export function checkLogGroupRetention(props: Record<string, unknown>): string[] {
  const days = props.retentionInDays;
  return typeof days === "number" && days > 0 ? [] : ["log retention must be set (retentionInDays > 0); 0 or unset keeps logs forever"];
}
