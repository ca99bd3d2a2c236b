// FrontendHosting: a private S3 bucket served only through CloudFront with Origin Access Control.
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { listFiles } from "../automation/select";
import { childName } from "./naming";

export interface FrontendHostingArgs {
  /** Protect the bucket (prod): the `protect` resource option, and no force-destroy. */
  protect: boolean;
  /** A built frontend to upload (absolute path), or undefined to leave the bucket's content alone. */
  frontendDir?: string;
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
    const publicAccess = new aws.s3.BucketPublicAccessBlock(own, {
      bucket: bucketId,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }, parent);
    new aws.s3.BucketOwnershipControls(own, { bucket: bucketId, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent);
    new aws.s3.BucketServerSideEncryptionConfiguration(own, {
      bucket: bucketId,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
    }, parent);
    new aws.s3.BucketVersioning(own, { bucket: bucketId, versioningConfiguration: { status: "Enabled" } }, parent);

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
      },
    }, parent);

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
      },
      // Single-page app: unknown paths (S3 answers 403 without ListBucket) load the app, which routes itself.
      customErrorResponses: [403, 404].map((errorCode) => ({ errorCode, responseCode: 200, responsePagePath: "/index.html", errorCachingMinTtl: 0 })),
      restrictions: { geoRestriction: { restrictionType: "none" } },
      viewerCertificate: { cloudfrontDefaultCertificate: true },
    }, parent);

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

    this.url = pulumi.interpolate`https://${this.distribution.domainName}`;
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
