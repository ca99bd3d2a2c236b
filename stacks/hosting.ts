// FrontendHosting: a private S3 bucket served only through CloudFront with Origin Access Control.
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { listFiles } from "../automation/shared/select";
import { childName } from "./naming";

export interface FrontendHostingArgs {
  /** Protect the bucket (prod): the `protect` resource option, and no force-destroy. */
  protect: boolean;
  /** A built frontend to upload (absolute path), or undefined to leave the bucket's content alone. */
  frontendDir?: string;
  /** The frontend's own host name; with it come an alias, an SNI certificate and TLS 1.2 at least. */
  domainName?: string;
  /** ACM certificate (us-east-1) for domainName; without it one is created and validated in hostedZoneId. */
  certificateArn?: string;
  /** Route 53 zone for certificate validation and the alias records. */
  hostedZoneId?: string;
  /** Origins the app may call (the API): the CSP's connect-src. */
  connectSources: pulumi.Input<string[]>;
}

/** Days an overwritten or deleted frontend file is kept (versioning) before S3 expires it. */
export const NONCURRENT_VERSION_DAYS = 30;

/**
 * Viewer-request function: a path with no file extension is an app route and gets /index.html; a path
 * with one is a file and stays as it is, so a missing asset is a real 404 (not the app with status 200).
 */
export const SPA_ROUTING_FUNCTION = `function handler(event) {
  var request = event.request;
  var last = request.uri.split("/").pop();
  if (last.indexOf(".") === -1) request.uri = "/index.html";
  return request;
}
`;

/** The Content-Security-Policy of the frontend: its own files, and fetches to the API only. */
export function contentSecurityPolicy(connectSources: readonly string[]): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // React style props and many component libraries inline styles.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: https:",
    "font-src 'self' data:",
    `connect-src 'self' ${connectSources.join(" ")}`.trim(),
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** AWS managed cache policy "CachingOptimized". */
export const CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
  ".xml": "application/xml",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".avif": "image/avif",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".pdf": "application/pdf",
  ".wasm": "application/wasm",
};

/** Content type for an uploaded file, by extension. */
export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

export class FrontendHosting extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly distribution: aws.cloudfront.Distribution;
  /** https://<distribution domain>, no trailing slash. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: FrontendHostingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("people-register:web:FrontendHosting", name, {}, opts);
    const parent = { parent: this };
    const own = childName(name);

    this.bucket = new aws.s3.Bucket(own, { forceDestroy: !args.protect }, { parent: this, protect: args.protect });
    const bucketId = this.bucket.id;
    const { publicAccess, versioning } = privateBucketControls(own, bucketId, this);
    // Versioning keeps every overwritten file forever unless old versions expire.
    new aws.s3.BucketLifecycleConfiguration(own, {
      bucket: bucketId,
      rules: [{
        id: "expire-noncurrent-versions",
        status: "Enabled",
        filter: {},
        noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      }],
    }, { parent: this, dependsOn: [versioning] });

    const oac = new aws.cloudfront.OriginAccessControl(own, {
      description: "CloudFront reads the private frontend bucket",
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4",
    }, parent);

    const headers = new aws.cloudfront.ResponseHeadersPolicy(own, {
      comment: "Security headers for the frontend",
      securityHeadersConfig: {
        strictTransportSecurity: { accessControlMaxAgeSec: 63072000, includeSubdomains: true, preload: false, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: "DENY", override: true },
        referrerPolicy: { referrerPolicy: "strict-origin-when-cross-origin", override: true },
        contentSecurityPolicy: {
          contentSecurityPolicy: pulumi.output(args.connectSources).apply((sources) => contentSecurityPolicy(sources)),
          override: true,
        },
      },
    }, parent);

    const routing = new aws.cloudfront.Function(own, {
      runtime: "cloudfront-js-2.0",
      comment: "SPA routes load index.html; files keep their own status",
      code: SPA_ROUTING_FUNCTION,
      publish: true,
    }, parent);
    const certificate = args.domainName ? frontendCertificate(this, own, args) : undefined;

    const originId = "frontend-bucket";
    this.distribution = new aws.cloudfront.Distribution(own, {
      enabled: true,
      comment: "People Register frontend",
      defaultRootObject: "index.html",
      priceClass: "PriceClass_100",
      httpVersion: "http2and3",
      isIpv6Enabled: true,
      origins: [{ originId, domainName: this.bucket.bucketRegionalDomainName, originAccessControlId: oac.id }],
      defaultCacheBehavior: {
        targetOriginId: originId,
        viewerProtocolPolicy: "redirect-to-https",
        allowedMethods: ["GET", "HEAD", "OPTIONS"],
        cachedMethods: ["GET", "HEAD"],
        cachePolicyId: CACHING_OPTIMIZED_POLICY_ID,
        responseHeadersPolicyId: headers.id,
        compress: true,
        functionAssociations: [{ eventType: "viewer-request", functionArn: routing.arn }],
      },
      restrictions: { geoRestriction: { restrictionType: "none" } },
      ...(args.domainName && certificate
        ? {
            aliases: [args.domainName],
            viewerCertificate: { acmCertificateArn: certificate, sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" },
          }
        : { viewerCertificate: { cloudfrontDefaultCertificate: true } }),
    }, parent);
    if (args.domainName && args.hostedZoneId) {
      aliasRecords(this, own, args.domainName, args.hostedZoneId, this.distribution.domainName, this.distribution.hostedZoneId);
    }

    // Only this distribution may read, and only over TLS. Created after the distribution: it names its ARN.
    new aws.s3.BucketPolicy(own, {
      bucket: bucketId,
      policy: pulumi.all([this.bucket.arn, this.distribution.arn]).apply(([bucketArn, distributionArn]) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "CloudFrontReadsThroughOAC",
              Effect: "Allow",
              Principal: { Service: "cloudfront.amazonaws.com" },
              Action: "s3:GetObject",
              Resource: `${bucketArn}/*`,
              Condition: { StringEquals: { "AWS:SourceArn": distributionArn } },
            },
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: [bucketArn, `${bucketArn}/*`],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      ),
    }, { parent: this, dependsOn: [publicAccess] });

    if (args.frontendDir) this.upload(own, args.frontendDir);

    this.url = args.domainName ? pulumi.output(`https://${args.domainName}`) : pulumi.interpolate`https://${this.distribution.domainName}`;
    this.registerOutputs({ url: this.url, bucket: this.bucket.bucket, distributionId: this.distribution.id });
  }

  /** One object per file, keyed by its path in the build, with its content type. */
  private upload(own: string, dir: string): void {
    for (const rel of listFiles(dir)) {
      const file = path.join(dir, rel);
      if (!fs.statSync(file).isFile()) continue;
      new aws.s3.BucketObject(`${own}/${rel}`, {
        bucket: this.bucket.id,
        key: rel,
        source: new pulumi.asset.FileAsset(file),
        contentType: contentTypeFor(rel),
        // index.html must be revalidated so a deploy shows at once; the rest may be cached.
        cacheControl: rel === "index.html" ? "no-cache" : "public, max-age=3600",
      }, { parent: this });
    }
  }
}

/**
 * What keeps a bucket private: public access fully blocked, ACLs disabled (owner enforced), encryption
 * at rest and versioning. Each resource is named `name`, like the bucket.
 */
export function privateBucketControls(name: string, bucket: pulumi.Input<string>, parent: pulumi.Resource): { publicAccess: aws.s3.BucketPublicAccessBlock; versioning: aws.s3.BucketVersioning } {
  const publicAccess = new aws.s3.BucketPublicAccessBlock(name, {
    bucket,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  }, { parent });
  new aws.s3.BucketOwnershipControls(name, { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent });
  new aws.s3.BucketServerSideEncryptionConfiguration(name, {
    bucket,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
  }, { parent });
  const versioning = new aws.s3.BucketVersioning(name, { bucket, versioningConfiguration: { status: "Enabled" } }, { parent });
  return { publicAccess, versioning };
}

/** The certificate for the frontend's domain: the configured one, or one created in us-east-1 and validated by DNS. */
function frontendCertificate(parent: pulumi.Resource, name: string, args: FrontendHostingArgs): pulumi.Input<string> {
  if (args.certificateArn) return args.certificateArn;
  // CloudFront only uses certificates from us-east-1, whatever the stack's region.
  const usEast1 = new aws.Provider(`${name}-us-east-1`, { region: "us-east-1" }, { parent });
  return dnsValidatedCertificate(parent, name, args.domainName!, args.hostedZoneId!, usEast1);
}

/** An ACM certificate validated through a record in the hosted zone; resolves once ACM has issued it. */
export function dnsValidatedCertificate(parent: pulumi.Resource, name: string, domainName: string, hostedZoneId: string, provider?: aws.Provider): pulumi.Output<string> {
  const certificate = new aws.acm.Certificate(name, { domainName, validationMethod: "DNS" }, { parent, provider });
  const option = certificate.domainValidationOptions[0];
  const record = new aws.route53.Record(`${name}-validation`, {
    zoneId: hostedZoneId,
    name: option.resourceRecordName,
    type: option.resourceRecordType,
    records: [option.resourceRecordValue],
    ttl: 300,
    allowOverwrite: true,
  }, { parent });
  const validation = new aws.acm.CertificateValidation(name, {
    certificateArn: certificate.arn,
    validationRecordFqdns: [record.fqdn],
  }, { parent, provider });
  return validation.certificateArn;
}

/** A and AAAA alias records pointing a host name at a CloudFront distribution or an API Gateway domain. */
export function aliasRecords(parent: pulumi.Resource, name: string, host: string, hostedZoneId: string, target: pulumi.Input<string>, targetZoneId: pulumi.Input<string>): void {
  for (const type of ["A", "AAAA"]) {
    new aws.route53.Record(`${name}-${type.toLowerCase()}`, {
      zoneId: hostedZoneId,
      name: host,
      type,
      aliases: [{ name: target, zoneId: targetZoneId, evaluateTargetHealth: false }],
    }, { parent });
  }
}
