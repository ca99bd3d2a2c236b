// Viewers reach the distribution over HTTPS only, on every cache behaviour.

export const HTTPS_VIEWER_POLICIES: readonly string[] = ["redirect-to-https", "https-only"];

/** `aws.cloudfront.Distribution`: the default and every ordered cache behaviour redirect or require HTTPS. */
export function checkDistributionHttps(props: Record<string, unknown>): string[] {
  const behaviours: { label: string; behaviour: unknown }[] = [{ label: "the default cache behaviour", behaviour: props.defaultCacheBehavior }];
  const ordered = props.orderedCacheBehaviors;
  if (Array.isArray(ordered)) {
    ordered.forEach((behaviour, i) => {
      const pattern = (behaviour as { pathPattern?: unknown })?.pathPattern;
      behaviours.push({ label: `cache behaviour ${typeof pattern === "string" ? `"${pattern}"` : `#${i + 1}`}`, behaviour });
    });
  }
  return behaviours.flatMap(({ label, behaviour }) => {
    const policy = (behaviour as { viewerProtocolPolicy?: unknown } | undefined)?.viewerProtocolPolicy;
    return typeof policy === "string" && HTTPS_VIEWER_POLICIES.includes(policy)
      ? []
      : [`${label} must use viewerProtocolPolicy "redirect-to-https" or "https-only" (got ${JSON.stringify(policy ?? null)})`];
  });
}
