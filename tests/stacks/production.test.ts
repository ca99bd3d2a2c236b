// What production relies on beyond the basics: custom domains with the right CloudFront and API Gateway
// settings, the account-wide logging role, timeouts, tracing, access logs and a valid API definition.
import { expect } from "chai";
import { ENV } from "../../handlers/contract";
import { ACCESS_LOG_FORMAT, SIZING } from "../../stacks/api";
import { ConfigError, loadConfig } from "../../stacks/config";
import { NONCURRENT_VERSION_DAYS } from "../../stacks/hosting";
import { baseConfig, byType, GOOD_SECRETS, one, removeRepo, runProgram, tempRepo, type RunResult } from "./harness";

const CERT_US_EAST_1 = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555";
const CERT_EU = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555";
const T = {
  distribution: "aws:cloudfront/distribution:Distribution",
  certificate: "aws:acm/certificate:Certificate",
  record: "aws:route53/record:Record",
  domain: "aws:apigateway/domainName:DomainName",
  mapping: "aws:apigateway/basePathMapping:BasePathMapping",
  account: "aws:apigateway/account:Account",
  role: "aws:iam/role:Role",
  fn: "aws:lambda/function:Function",
  stage: "aws:apigateway/stage:Stage",
  restApi: "aws:apigateway/restApi:RestApi",
} as const;

describe("stacks: production settings under mocks", function () {
  this.timeout(60_000);
  let repo: string;
  let dev: RunResult;
  before(async () => {
    repo = tempRepo();
    dev = await runProgram({ repoRoot: repo });
  });
  after(() => removeRepo(repo));

  describe("custom domains", () => {
    it("frontend with a given certificate: alias, SNI, TLSv1.2_2021; frontendUrl and CORS follow the domain", async () => {
      const result = await runProgram({ repoRoot: repo, config: baseConfig({ domainName: "app.example.org", certificateArn: CERT_US_EAST_1 }) });
      const d = one(result, T.distribution, "frontend").inputs;
      expect(d.aliases).to.deep.equal(["app.example.org"]);
      expect(d.viewerCertificate).to.deep.equal({ acmCertificateArn: CERT_US_EAST_1, sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" });
      expect(result.outputs.frontendUrl).to.equal("https://app.example.org");
      const env = one(result, T.fn, "api").inputs.environment.variables;
      expect(env[ENV.corsOrigins]).to.equal("https://app.example.org");
      expect(env[ENV.frontendUrl]).to.equal("https://app.example.org");
      expect(byType(result, T.certificate)).to.have.length(0);
    });

    it("frontend with a hosted zone: a certificate in us-east-1, validated by DNS, and A/AAAA alias records", async () => {
      const result = await runProgram({ repoRoot: repo, config: baseConfig({ domainName: "app.example.org", hostedZoneId: "Z0123456789ABC" }) });
      const cert = one(result, T.certificate, "frontend");
      expect(cert.inputs).to.include({ domainName: "app.example.org", validationMethod: "DNS" });
      const provider = one(result, "pulumi:providers:aws", "frontend-us-east-1");
      expect(provider.inputs.region).to.equal("us-east-1");
      expect(cert.provider).to.match(/frontend-us-east-1::/);
      const records = byType(result, T.record).filter((r) => r.name.startsWith("frontend-"));
      expect(records.map((r) => r.name).sort()).to.deep.equal(["frontend-a", "frontend-aaaa", "frontend-validation"]);
      const a = one(result, T.record, "frontend-a").inputs;
      expect(a.aliases).to.deep.equal([{ name: "d1example.cloudfront.net", zoneId: "Z2FDTNDATAQYW2", evaluateTargetHealth: false }]);
      expect(one(result, T.distribution, "frontend").inputs.viewerCertificate.minimumProtocolVersion).to.equal("TLSv1.2_2021");
    });

    it("API domain: regional custom domain with TLS 1.2, base path mapping to the stage; apiUrl and the CSP follow it", async () => {
      const result = await runProgram({ repoRoot: repo, config: baseConfig({ apiDomainName: "api.example.org", apiCertificateArn: CERT_EU, "aws:region": "eu-west-1" }) });
      const domain = one(result, T.domain, "api-domain").inputs;
      expect(domain).to.deep.include({ domainName: "api.example.org", regionalCertificateArn: CERT_EU, securityPolicy: "TLS_1_2", endpointConfiguration: { types: "REGIONAL" } });
      const mapping = one(result, T.mapping, "api-domain").inputs;
      expect(mapping).to.include({ domainName: "api.example.org", stageName: "api", restApi: "a1b2c3d4e5" });
      expect(result.outputs.apiUrl).to.equal("https://api.example.org");
      const csp = one(result, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "frontend").inputs.securityHeadersConfig.contentSecurityPolicy.contentSecurityPolicy;
      expect(csp).to.contain("connect-src 'self' https://api.example.org");
    });

    it("refuses a domain without a way to get a certificate, and a frontend certificate outside us-east-1", () => {
      const load = (extra: Record<string, string>) => () => loadConfig({ repoRoot: repo, raw: (k) => ({ ...baseConfig(), ...GOOD_SECRETS, ...extra })[k] });
      expect(load({ domainName: "app.example.org" })).to.throw(ConfigError, /domainName needs certificateArn .* or hostedZoneId/);
      expect(load({ domainName: "app.example.org", certificateArn: CERT_EU })).to.throw(ConfigError, /must be a certificate in us-east-1/);
      expect(load({ domainName: "https://app.example.org" })).to.throw(ConfigError, /must be a host name/);
      expect(load({ apiDomainName: "api.example.org" })).to.throw(ConfigError, /apiDomainName needs apiCertificateArn/);
      expect(load({ hostedZoneId: "not-a-zone" })).to.throw(ConfigError, /hostedZoneId must be a Route 53 hosted zone id/);
    });
  });

  describe("API Gateway account logging role", () => {
    it("creates the role and the account setting only when none is set, and retains both on delete", () => {
      const account = one(dev, T.account, "api-apigateway-logs");
      expect(account.retainOnDelete).to.equal(true);
      expect(one(dev, T.role, "api-apigateway-logs").retainOnDelete).to.equal(true);
    });

    it("leaves an account that already has a role alone (no role, no setting)", async () => {
      const result = await runProgram({ repoRoot: repo, existingApiGatewayRole: "arn:aws:iam::123456789012:role/prod-apigw-logs" });
      expect(byType(result, T.account).filter((r) => r.custom && r.name === "api-apigateway-logs")).to.have.length(0);
      expect(byType(result, T.role).filter((r) => r.name === "api-apigateway-logs")).to.have.length(0);
    });

    it("keeps managing the role this stack created (a later update does not drop it)", async () => {
      const result = await runProgram({ repoRoot: repo, existingApiGatewayRole: "arn:aws:iam::123456789012:role/people-register-test-apigateway-logs" });
      expect(one(result, T.role, "api-apigateway-logs").inputs.name).to.equal("people-register-test-apigateway-logs");
      expect(one(result, T.account, "api-apigateway-logs").retainOnDelete).to.equal(true);
    });
  });

  describe("API and functions", () => {
    it("functions stop before API Gateway's 29 s", () => {
      for (const f of byType(dev, T.fn)) expect(f.inputs.timeout, f.name).to.be.at.most(28);
      expect(SIZING.integrated.timeoutSeconds).to.equal(28);
    });

    it("traces with X-Ray on the stage and the functions by default; tracing: false turns it off", async () => {
      expect(one(dev, T.stage, "api").inputs.xrayTracingEnabled).to.equal(true);
      for (const f of byType(dev, T.fn)) expect(f.inputs.tracingConfig, f.name).to.deep.equal({ mode: "Active" });
      expect(byType(dev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter((a) => a.name.endsWith("-xray"))).to.have.length(2);
      const off = await runProgram({ repoRoot: repo, config: baseConfig({ tracing: "false" }) });
      expect(one(off, T.stage, "api").inputs.xrayTracingEnabled).to.equal(false);
      for (const f of byType(off, T.fn)) expect(f.inputs.tracingConfig).to.deep.equal({ mode: "PassThrough" });
    });

    it("access logs are one JSON object per request, with request time and integration status and latency", () => {
      const format = one(dev, T.stage, "api").inputs.accessLogSettings.format;
      expect(format).to.equal(ACCESS_LOG_FORMAT);
      // Substitute every $context variable with something awkward: the line must still parse.
      const line = format.replace(/\$context\.[A-Za-z.]+/g, "-");
      const parsed = JSON.parse(line);
      expect(Object.keys(parsed)).to.include.members(["requestTime", "integrationStatus", "integrationLatencyMs", "status", "latencyMs"]);
      expect(format).to.contain("$context.integration.status").and.contain("$context.integration.latency").and.contain("$context.requestTime");
    });

    it("the REST API fails on warnings and every operation has a response (valid OpenAPI 3)", () => {
      const api = one(dev, T.restApi, "api").inputs;
      expect(api.failOnWarnings).to.equal(true);
      const doc = JSON.parse(api.body);
      for (const [p, item] of Object.entries<Record<string, any>>(doc.paths)) {
        for (const [method, op] of Object.entries<any>(item)) {
          expect(Object.keys(op.responses), `${method} ${p}`).to.have.length.greaterThan(0);
          for (const r of Object.values<any>(op.responses)) expect(r.description).to.be.a("string").and.not.equal("");
        }
      }
    });
  });

  it("expires noncurrent versions of frontend files", () => {
    const lifecycle = one(dev, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "frontend").inputs;
    expect(lifecycle.rules[0]).to.deep.include({ status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS } });
  });
});
