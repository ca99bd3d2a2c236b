// The Pulumi program under Pulumi's mocks: what it registers is what a `pulumi up` would create.
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vm from "node:vm";
import { ENV, FUNCTION_ENV, TABLES, gatewayRoutes, keyAttributes, tablesFor, type FunctionName } from "../../handlers/contract";
import { childName } from "../../stacks/naming";
import { bodyHash } from "../../stacks/openapi";
import {
  ACCOUNT, GOOD_SECRETS, REGION, baseConfig, byType, isWireSecret, one, policyOf, removeRepo, runProgram, tempRepo,
  type Registered, type RunResult,
} from "./harness";

const T = {
  table: "aws:dynamodb/table:Table",
  fn: "aws:lambda/function:Function",
  role: "aws:iam/role:Role",
  restApi: "aws:apigateway/restApi:RestApi",
  deployment: "aws:apigateway/deployment:Deployment",
  stage: "aws:apigateway/stage:Stage",
  methodSettings: "aws:apigateway/methodSettings:MethodSettings",
  permission: "aws:lambda/permission:Permission",
  bucket: "aws:s3/bucket:Bucket",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  distribution: "aws:cloudfront/distribution:Distribution",
  oac: "aws:cloudfront/originAccessControl:OriginAccessControl",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
} as const;

const tableArn = (physical: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${physical}`;

/** (method path -> function) the REST API body routes. */
function routesOf(result: RunResult): string[] {
  const api = one(result, T.restApi, "api");
  const doc = JSON.parse(api.inputs.body);
  const fns = byType(result, T.fn);
  const fnOf = (uri: string) => fns.find((f) => uri.includes(`function:${f.inputs.name}:${"${stageVariables.lambdaAlias}"}/`))?.inputs.name.replace("people-register-test-", "");
  const out: string[] = [];
  for (const [p, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [key, op] of Object.entries<any>(item)) {
      out.push(`${key === "x-amazon-apigateway-any-method" ? "ANY" : key.toUpperCase()} ${p} -> ${fnOf(op["x-amazon-apigateway-integration"].uri)}`);
    }
  }
  return out.sort();
}

/** Every string in the engine-bound inputs that is NOT inside a secret envelope. */
function plainStrings(value: unknown, out: string[] = []): string[] {
  if (isWireSecret(value)) return out;
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => plainStrings(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => plainStrings(v, out));
  return out;
}

describe("stacks: the Pulumi program under mocks", function () {
  this.timeout(60_000);
  let repo: string;
  let dev: RunResult;
  before(async () => {
    repo = tempRepo();
    dev = await runProgram({ repoRoot: repo });
  });
  after(() => removeRepo(repo));

  describe("DataTables", () => {
    it("creates every contract table with its keys, GSIs, TTL, PITR, encryption and on-demand billing", () => {
      const tables = byType(dev, T.table);
      expect(tables.map((t) => t.name).sort()).to.deep.equal(TABLES.map((t) => childName("tables", t.name)).sort());
      for (const spec of TABLES) {
        const { inputs } = one(dev, T.table, childName("tables", spec.name));
        expect(inputs.hashKey, spec.name).to.equal(spec.hashKey);
        expect(inputs.rangeKey, spec.name).to.equal(spec.rangeKey);
        expect(inputs.billingMode).to.equal("PAY_PER_REQUEST");
        expect(inputs.attributes).to.have.deep.members(keyAttributes(spec).map((name) => ({ name, type: "S" })));
        expect(inputs.pointInTimeRecovery).to.deep.equal({ enabled: true });
        expect(inputs.serverSideEncryption).to.deep.equal({ enabled: true });
        expect(inputs.ttl, spec.name).to.deep.equal(spec.ttlAttribute ? { attributeName: spec.ttlAttribute, enabled: true } : undefined);
        expect(inputs.globalSecondaryIndexes ?? [], spec.name).to.deep.equal(spec.globalSecondaryIndexes.map((i) => ({
          name: i.name,
          keySchemas: [{ attributeName: i.hashKey, keyType: "HASH" }, ...(i.rangeKey ? [{ attributeName: i.rangeKey, keyType: "RANGE" }] : [])],
          projectionType: "ALL",
        })));
      }
    });

    it("prefixes table names with project and stack by default, so stacks share an account", () => {
      for (const spec of TABLES) expect(one(dev, T.table, childName("tables", spec.name)).inputs.name).to.equal(`people-register-test-${spec.name}`);
      expect(dev.outputs.tableNames).to.deep.equal(Object.fromEntries(TABLES.map((t) => [t.name, `people-register-test-${t.name}`])));
    });

    it("neither protects nor imports anything in a default (non-prod) stack", () => {
      for (const t of byType(dev, T.table)) {
        expect(t.protect, t.name).to.equal(false);
        expect(t.importId, t.name).to.equal("");
        expect(t.inputs.deletionProtectionEnabled).to.equal(false);
      }
      expect(one(dev, T.bucket, "frontend").protect).to.equal(false);
    });

    it("legacy naming + adoption imports the CDK tables by their exact old names; keys are never ignored, indexes only while importing", async () => {
      const result = await runProgram({ repoRoot: repo, stack: "prod", config: baseConfig({ tableNaming: "legacy", adoptExistingTables: "true", protect: "true" }) });
      for (const spec of TABLES) {
        const table = one(result, T.table, childName("tables", spec.name));
        expect(table.inputs.name).to.equal(spec.name);
        expect(table.importId, spec.name).to.equal(spec.name);
        for (const key of ["name", "hashKey", "rangeKey"]) {
          expect(table.ignoreChanges, `${spec.name} ${key}`).to.not.include(key);
        }
        // The seed-era tables lack GSIs: the import takes them as they are, the next update adds the indexes.
        expect(table.ignoreChanges).to.include.members(["pointInTimeRecovery", "serverSideEncryption", "deletionProtectionEnabled", "ttl", "globalSecondaryIndexes", "attributes"]);
        expect(table.retainOnDelete, spec.name).to.equal(true);
      }
      expect(result.outputs.tableNames).to.deep.equal(Object.fromEntries(TABLES.map((t) => [t.name, t.name])));
    });

    it("prod (protect: true) protects every table and the bucket, with deletion protection on the tables", async () => {
      const result = await runProgram({ repoRoot: repo, stack: "prod", config: baseConfig({ protect: "true" }) });
      for (const t of byType(result, T.table)) {
        expect(t.ignoreChanges, t.name).to.deep.equal([]);
        expect(t.protect, t.name).to.equal(true);
        expect(t.retainOnDelete, t.name).to.equal(true);
        expect(t.inputs.deletionProtectionEnabled, t.name).to.equal(true);
        expect(t.importId).to.equal("");
      }
      const bucket = one(result, T.bucket, "frontend");
      expect(bucket.protect).to.equal(true);
      expect(bucket.inputs.forceDestroy).to.equal(false);
    });
  });

  describe("RegistryApi: functions", () => {
    it("serves api with the enhanced TypeScript handler when nothing is synced, auth always with TypeScript", () => {
      for (const fn of ["api", "auth"] as const) {
        const { inputs } = one(dev, T.fn, childName("api", fn));
        expect(inputs.runtime).to.equal("nodejs22.x");
        expect(inputs.architectures).to.deep.equal(["arm64"]);
        expect(inputs.handler).to.equal("index.handler");
        expect(inputs.loggingConfig.logFormat).to.equal("JSON");
        expect(inputs.name).to.equal(`people-register-test-${fn}`);
      }
      expect(one(dev, T.fn, "api-auth").inputs.memorySize).to.equal(1024);
      expect(one(dev, T.fn, "api").inputs.environment.variables[ENV.handlerKind]).to.equal("enhanced");
      expect(dev.outputs.handlerKind).to.equal("enhanced");
    });

    it("deploys the deterministic esbuild bundle folder as the code", async () => {
      const code = one(dev, T.fn, "api").inputs.code;
      expect(await code.path).to.equal(path.join(repo, ".build", "handlers", "api"));
      expect(fs.readdirSync(path.join(repo, ".build", "handlers", "api"))).to.deep.equal(["index.js"]);
    });

    it("gives each function its own log group with the configured retention, and its own role", () => {
      const groups = byType(dev, T.logGroup);
      for (const fn of ["api", "auth"] as const) {
        const group = one(dev, T.logGroup, `${childName("api", fn)}-logs`);
        expect(group.inputs.name).to.equal(`/aws/lambda/people-register-test-${fn}`);
        expect(group.inputs.retentionInDays).to.equal(30);
        expect(one(dev, T.fn, childName("api", fn)).inputs.loggingConfig.logGroup).to.equal(group.inputs.name);
      }
      expect(groups.length).to.equal(4); // two functions + API access and execution logs
      for (const group of groups) expect(group.inputs.retentionInDays, group.name).to.equal(30);
      expect(one(dev, T.logGroup, "api-execution-logs").inputs.name).to.equal("API-Gateway-Execution-Logs_a1b2c3d4e5/api");
      const roles = [one(dev, T.fn, "api").inputs.role, one(dev, T.fn, "api-auth").inputs.role];
      expect(new Set(roles).size).to.equal(2);
    });

    it("gives each function exactly its contract tables' names and its own settings, from the contract", () => {
      for (const fn of ["api", "auth"] as const) {
        const vars = one(dev, T.fn, childName("api", fn)).inputs.environment.variables;
        const own = tablesFor(fn).map(({ table }) => table.envVar);
        for (const spec of TABLES) expect(vars[spec.envVar], `${fn} ${spec.envVar}`).to.equal(own.includes(spec.envVar) ? `people-register-test-${spec.name}` : undefined);
        expect(Object.keys(vars).filter((k) => !own.includes(k)).sort(), fn).to.deep.equal(FUNCTION_ENV[fn].map((k) => ENV[k]).filter((k) => k !== ENV.serviceVersion).sort());
        expect(vars[ENV.jwtExpirationHours]).to.equal("24");
        expect(vars[ENV.sesFromEmail]).to.equal("noreply@example.org");
        expect(vars[ENV.frontendUrl]).to.equal("https://d1example.cloudfront.net");
        expect(vars[ENV.corsOrigins]).to.equal("https://d1example.cloudfront.net");
        expect(vars[ENV.jwtSecretParameter]).to.equal("/people-register-test/JWT_SECRET");
      }
      // auth signs tokens but never sees the CSRF secret, nor the tables it has no access to.
      const auth = one(dev, T.fn, childName("api", "auth")).inputs.environment.variables;
      expect(auth).to.not.have.property(ENV.csrfSecretParameter);
      expect(auth).to.not.have.property("PROJECTS_TABLE_NAME");
      expect(one(dev, T.fn, childName("api", "api")).inputs.environment.variables[ENV.csrfSecretParameter]).to.equal("/people-register-test/CSRF_SECRET");
    });

    it("keeps the secrets out of every function's environment: SSM SecureStrings, secret on the wire, read only by the functions that need them", () => {
      for (const fn of ["api", "auth"] as const) {
        const vars = one(dev, T.fn, childName("api", fn)).inputs.environment.variables;
        expect(vars, fn).to.not.have.property(ENV.jwtSecret);
        expect(vars, fn).to.not.have.property(ENV.csrfSecret);
        expect(JSON.stringify(vars)).to.not.contain(GOOD_SECRETS.jwtSecret).and.not.contain(GOOD_SECRETS.csrfSecret);
      }
      const params = byType(dev, "aws:ssm/parameter:Parameter");
      expect(params.map((p) => p.inputs.name).sort()).to.deep.equal(["/people-register-test/CSRF_SECRET", "/people-register-test/JWT_SECRET"]);
      for (const p of params) {
        expect(p.inputs.type).to.equal("SecureString");
        expect(isWireSecret(p.wire.value), p.name).to.equal(true);
      }
      expect(one(dev, "aws:ssm/parameter:Parameter", "api-jwt-secret").inputs.value).to.equal(GOOD_SECRETS.jwtSecret);
      const reads = (fn: FunctionName) => policyOf(dev, fn).Statement.filter((s) => s.Action.some((a) => a.startsWith("ssm:")));
      const ssmArn = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/people-register-test/${name}`;
      expect(reads("api")).to.deep.equal([{ Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [ssmArn("JWT_SECRET"), ssmArn("CSRF_SECRET")] }]);
      expect(reads("auth")).to.deep.equal([{ Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [ssmArn("JWT_SECRET")] }]);
      for (const r of dev.resources) {
        for (const s of plainStrings(r.wire)) {
          expect(s, `${r.type} ${r.name}`).to.not.contain(GOOD_SECRETS.jwtSecret);
          expect(s, `${r.type} ${r.name}`).to.not.contain(GOOD_SECRETS.csrfSecret);
        }
      }
      expect(JSON.stringify(dev.outputs)).to.not.contain(GOOD_SECRETS.jwtSecret);
    });

    it("takes CORS origins and the frontend URL from config when set", async () => {
      const result = await runProgram({
        repoRoot: repo,
        config: baseConfig({ corsOrigins: '["https://app.example.org","http://localhost:5173"]', frontendUrl: "https://app.example.org/" }),
      });
      const vars = one(result, T.fn, "api").inputs.environment.variables;
      expect(vars[ENV.corsOrigins]).to.equal("https://app.example.org,http://localhost:5173");
      expect(vars[ENV.frontendUrl]).to.equal("https://app.example.org");
      expect(result.outputs.frontendUrl).to.equal("https://app.example.org");
    });
  });

  describe("RegistryApi: IAM", () => {
    for (const fn of ["api", "auth"] as const) {
      it(`${fn}: DynamoDB statements name exactly its contract tables (and their indexes), never *`, () => {
        const dynamo = policyOf(dev, fn).Statement.filter((s) => s.Action.some((a) => a.startsWith("dynamodb:")));
        const resources = dynamo.flatMap((s) => s.Resource);
        for (const r of resources) expect(r.replace(/\/index\/\*$/, ""), r).to.not.contain("*");
        const tables = [...new Set(resources.map((r) => r.replace(/\/index\/\*$/, "")))].sort();
        expect(tables).to.deep.equal(tablesFor(fn).map(({ table }) => tableArn(`people-register-test-${table.name}`)).sort());
      });
    }

    it("the auth function cannot touch ProjectsTable", () => {
      expect(JSON.stringify(policyOf(dev, "auth"))).to.not.contain("ProjectsTable");
    });

    it("scopes SES to the configured sender identity and logs to the function's own group", () => {
      const statements = policyOf(dev, "api").Statement;
      const ses = statements.find((s) => s.Action.includes("ses:SendEmail"))!;
      expect(ses.Resource).to.deep.equal([
        `arn:aws:ses:${REGION}:${ACCOUNT}:identity/noreply@example.org`,
        `arn:aws:ses:${REGION}:${ACCOUNT}:identity/example.org`,
      ]);
      const logs = statements.find((s) => s.Action.includes("logs:PutLogEvents"))!;
      expect(logs.Resource).to.deep.equal([`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/people-register-test-api:*`]);
    });

    it("lets only this API invoke each function, only through its aliases, each alias only from its own stage", () => {
      const permissions = byType(dev, T.permission);
      expect(permissions.map((p) => `${p.inputs.function}:${p.inputs.qualifier}`).sort()).to.deep.equal([
        "people-register-test-api:candidate", "people-register-test-api:live", "people-register-test-auth:candidate", "people-register-test-auth:live",
      ]);
      for (const p of permissions) {
        expect(p.inputs.principal).to.equal("apigateway.amazonaws.com");
        const stage = p.inputs.qualifier === "live" ? "api" : "api-candidate";
        expect(p.inputs.sourceArn).to.equal(`arn:aws:execute-api:${REGION}:${ACCOUNT}:a1b2c3d4e5/${stage}/*/*`);
      }
    });
  });

  describe("RegistryApi: REST API", () => {
    it("routes every contract route to its function and nothing else", () => {
      const expected = gatewayRoutes({ greedy: false }).map((r) => `${r.method} ${r.path} -> ${r.fn}`).sort();
      expect(routesOf(dev)).to.deep.equal(expected);
      expect(routesOf(dev).some((r) => r.includes("{proxy+}"))).to.equal(false);
    });

    it("is regional, redeploys when the definition changes, and uses a standalone stage with access logs", () => {
      const api = one(dev, T.restApi, "api");
      expect(api.inputs.endpointConfiguration).to.deep.equal({ types: "REGIONAL" });
      const deployment = one(dev, T.deployment, "api");
      expect(deployment.inputs.triggers).to.deep.equal({ definition: bodyHash(api.inputs.body) });
      const stage = one(dev, T.stage, "api");
      expect(stage.inputs.stageName).to.equal("api");
      expect(stage.inputs.deployment).to.equal("api-id");
      expect(stage.inputs.accessLogSettings.destinationArn).to.equal(`arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/apigateway/people-register-test-api/access`);
      expect(JSON.parse(stage.inputs.accessLogSettings.format)).to.include({ requestId: "$context.requestId", status: "$context.status" });
    });

    it("throttles the stage from config (method settings)", async () => {
      const defaults = one(dev, T.methodSettings, "api").inputs;
      expect(defaults.methodPath).to.equal("*/*");
      expect(defaults.settings).to.include({ throttlingRateLimit: 100, throttlingBurstLimit: 200, loggingLevel: "ERROR", dataTraceEnabled: false });
      const result = await runProgram({ repoRoot: repo, config: baseConfig({ throttlingRateLimit: "25", throttlingBurstLimit: "50", stageName: "v1" }) });
      expect(one(result, T.methodSettings, "api").inputs.settings).to.include({ throttlingRateLimit: 25, throttlingBurstLimit: 50 });
      expect(result.outputs.apiUrl).to.equal(`https://a1b2c3d4e5.execute-api.${REGION}.amazonaws.com/v1`);
    });

    it("publishes versions; the main stage invokes `live`, the candidate stage `candidate`, through one stage variable", async () => {
      for (const fn of byType(dev, T.fn)) expect(fn.inputs.publish, fn.name).to.equal(true);
      const aliases = byType(dev, "aws:lambda/alias:Alias").map((a) => `${a.inputs.functionName}:${a.inputs.name}=${a.inputs.functionVersion}`).sort();
      expect(aliases).to.deep.equal([
        "people-register-test-api:candidate=1", "people-register-test-api:live=1", "people-register-test-auth:candidate=1", "people-register-test-auth:live=1",
      ]);
      expect(one(dev, T.stage, "api").inputs.variables).to.deep.equal({ lambdaAlias: "live" });
      const candidate = one(dev, T.stage, "api-candidate").inputs;
      expect(candidate).to.deep.include({ stageName: "api-candidate", deployment: "api-id", variables: { lambdaAlias: "candidate" } });
      expect(one(dev, T.methodSettings, "api-candidate").inputs.settings).to.include({ loggingLevel: "OFF", throttlingRateLimit: 5, throttlingBurstLimit: 10 });
      expect(dev.outputs).to.deep.include({
        candidateUrl: `https://a1b2c3d4e5.execute-api.${REGION}.amazonaws.com/api-candidate`,
        liveVersions: { api: "1", auth: "1" },
        candidateVersions: { api: "1", auth: "1" },
      });
      // The driver pins `live` while a new version is smoke-tested; `candidate` always follows the newest.
      const pinned = await runProgram({ repoRoot: repo, config: baseConfig({ liveVersions: JSON.stringify({ api: "7", auth: "3" }) }) });
      const live = byType(pinned, "aws:lambda/alias:Alias").filter((a) => a.inputs.name === "live").map((a) => `${a.inputs.functionName}=${a.inputs.functionVersion}`).sort();
      expect(live).to.deep.equal(["people-register-test-api=7", "people-register-test-auth=3"]);
      expect(pinned.outputs.liveVersions).to.deep.equal({ api: "7", auth: "3" });
    });

    it("answers unknown paths at the gateway with the contract's 404", () => {
      const doc = JSON.parse(one(dev, T.restApi, "api").inputs.body);
      const notFound = doc["x-amazon-apigateway-gateway-responses"].MISSING_AUTHENTICATION_TOKEN;
      expect(notFound.statusCode).to.equal("404");
      expect(JSON.parse(notFound.responseTemplates["application/json"])).to.deep.equal({ error: "Not found", code: "NOT_FOUND", detail: "Not found" });
    });
  });

  describe("FrontendHosting", () => {
    it("keeps the bucket private: all public access blocked, owner-enforced, encrypted, versioned", () => {
      expect(one(dev, T.publicAccess, "frontend").inputs).to.include({
        bucket: "frontend-bucket-123", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
      });
      expect(one(dev, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "frontend").inputs.rule).to.deep.equal({ objectOwnership: "BucketOwnerEnforced" });
      expect(one(dev, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "frontend").inputs.rules[0]
        .applyServerSideEncryptionByDefault).to.deep.equal({ sseAlgorithm: "AES256" });
      expect(one(dev, "aws:s3/bucketVersioning:BucketVersioning", "frontend").inputs.versioningConfiguration).to.deep.equal({ status: "Enabled" });
    });

    it("lets only this distribution read the bucket, and only over TLS", () => {
      const policy = JSON.parse(one(dev, T.bucketPolicy, "frontend").inputs.policy);
      const allows = policy.Statement.filter((s: any) => s.Effect === "Allow");
      expect(allows).to.have.length(1);
      expect(allows[0]).to.deep.include({
        Principal: { Service: "cloudfront.amazonaws.com" },
        Action: "s3:GetObject",
        Resource: "arn:aws:s3:::frontend-bucket-123/*",
        Condition: { StringEquals: { "AWS:SourceArn": `arn:aws:cloudfront::${ACCOUNT}:distribution/E2EXAMPLE` } },
      });
      const deny = policy.Statement.find((s: any) => s.Effect === "Deny");
      expect(deny.Condition).to.deep.equal({ Bool: { "aws:SecureTransport": "false" } });
    });

    it("serves through CloudFront with OAC (no legacy OAI), HTTPS redirect, security headers and SPA fallback", () => {
      const oac = one(dev, T.oac, "frontend");
      expect(oac.inputs).to.include({ originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4" });
      expect(byType(dev, "aws:cloudfront/originAccessIdentity:OriginAccessIdentity")).to.have.length(0);
      const d = one(dev, T.distribution, "frontend").inputs;
      expect(d.origins).to.have.length(1);
      expect(d.origins[0]).to.include({ domainName: `frontend-bucket-123.s3.${REGION}.amazonaws.com`, originAccessControlId: "frontend-id" });
      expect(d.origins[0].s3OriginConfig).to.equal(undefined);
      expect(d.defaultCacheBehavior.viewerProtocolPolicy).to.equal("redirect-to-https");
      expect(d.priceClass).to.equal("PriceClass_100");
      expect(d.defaultRootObject).to.equal("index.html");
      // SPA routes go to index.html in a viewer-request function; errors are not rewritten, so a missing asset stays a 404.
      expect(d.customErrorResponses ?? []).to.deep.equal([]);
      const fn = one(dev, "aws:cloudfront/function:Function", "frontend").inputs;
      expect(fn).to.include({ runtime: "cloudfront-js-2.0", publish: true });
      expect(d.defaultCacheBehavior.functionAssociations.map((a: any) => a.eventType)).to.deep.equal(["viewer-request"]);
      const route = vm.runInNewContext(`${fn.code}; handler`) as (e: unknown) => { uri: string };
      const uriFor = (uri: string) => route({ request: { uri } }).uri;
      expect([uriFor("/"), uriFor("/people/42"), uriFor("/projects/7/edit")]).to.deep.equal(["/index.html", "/index.html", "/index.html"]);
      expect([uriFor("/assets/app.js"), uriFor("/assets/missing.css"), uriFor("/favicon.ico")]).to.deep.equal(["/assets/app.js", "/assets/missing.css", "/favicon.ico"]);
      const headers = one(dev, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "frontend").inputs.securityHeadersConfig;
      expect(headers.strictTransportSecurity.accessControlMaxAgeSec).to.be.greaterThan(31_535_999);
      expect(headers.frameOptions.frameOption).to.equal("DENY");
      expect(headers.contentTypeOptions.override).to.equal(true);
      expect(headers.referrerPolicy.referrerPolicy).to.equal("strict-origin-when-cross-origin");
      expect(d.defaultCacheBehavior.responseHeadersPolicyId).to.equal("frontend-id");
      const csp = headers.contentSecurityPolicy.contentSecurityPolicy;
      expect(csp).to.contain("default-src 'self'").and.contain(`connect-src 'self' https://*.execute-api.${REGION}.amazonaws.com`).and.contain("frame-ancestors 'none'");
      expect(d.viewerCertificate).to.deep.equal({ cloudfrontDefaultCertificate: true });
      expect(d.aliases ?? []).to.deep.equal([]);
    });

    it("uploads a built frontend (frontendDir) with correct content types", async () => {
      const site = path.join(repo, "site");
      fs.mkdirSync(path.join(site, "assets"), { recursive: true });
      fs.writeFileSync(path.join(site, "index.html"), "<!doctype html>");
      fs.writeFileSync(path.join(site, "assets", "app.js"), "console.log(1)");
      fs.writeFileSync(path.join(site, "assets", "logo.svg"), "<svg/>");
      const result = await runProgram({ repoRoot: repo, config: baseConfig({ frontendDir: "site" }) });
      const objects = byType(result, "aws:s3/bucketObject:BucketObject").map((o) => [o.inputs.key, o.inputs.contentType]);
      expect(objects).to.have.deep.members([
        ["index.html", "text/html; charset=utf-8"],
        ["assets/app.js", "text/javascript; charset=utf-8"],
        ["assets/logo.svg", "image/svg+xml"],
      ]);
      expect(byType(dev, "aws:s3/bucketObject:BucketObject")).to.have.length(0);
    });
  });

  describe("operations and outputs", () => {
    it("alarms on the 5xx rate, p99 latency, Lambda and DynamoDB throttling — never on a single error — to one topic", async () => {
      const names = byType(dev, T.alarm).map((a) => a.name).sort();
      expect(names).to.deep.equal([
        "monitoring-api-5xx-rate", "monitoring-api-p99-latency", "monitoring-api-throttles", "monitoring-auth-throttles",
        "monitoring-dynamodb-read-throttles", "monitoring-dynamodb-write-throttles",
      ]);
      for (const a of byType(dev, T.alarm)) {
        expect(a.inputs.alarmActions).to.deep.equal([`arn:aws:sns:${REGION}:${ACCOUNT}:monitoring-alarms`]);
        expect(a.inputs.threshold, a.name).to.not.equal(1);
        expect(a.inputs.metricName, a.name).to.not.equal("Errors");
        expect(a.inputs.name, a.name).to.match(/^people-register-test-/);
      }
      expect(one(dev, T.alarm, "monitoring-api-p99-latency").inputs).to.include({ extendedStatistic: "p99", metricName: "Latency", datapointsToAlarm: 3 });
      const writes = one(dev, T.alarm, "monitoring-dynamodb-write-throttles").inputs.metricQueries;
      expect(writes.filter((q: any) => q.metric).map((q: any) => q.metric.dimensions.TableName).sort()).to.deep.equal(TABLES.map((t) => `people-register-test-${t.name}`).sort());
      expect(byType(dev, "aws:sns/topicSubscription:TopicSubscription")).to.have.length(0);
      const withEmail = await runProgram({ repoRoot: repo, config: baseConfig({ alarmEmail: "ops@example.org" }) });
      expect(one(withEmail, "aws:sns/topicSubscription:TopicSubscription", "monitoring-alarms-email").inputs).to.include({ protocol: "email", endpoint: "ops@example.org" });
    });

    it("exports every output a user and the driver rely on, none of them secret", () => {
      expect(Object.keys(dev.outputs).sort()).to.deep.equal(
        ["apiUrl", "candidateUrl", "candidateVersions", "distributionId", "frontendBucket", "frontendUrl", "functionNames", "handlerKind", "liveVersions", "tableNames"],
      );
      expect(dev.outputs.apiUrl).to.equal(`https://a1b2c3d4e5.execute-api.${REGION}.amazonaws.com/api`);
      expect(String(dev.outputs.apiUrl).endsWith("/")).to.equal(false);
      expect(dev.outputs).to.deep.include({
        frontendUrl: "https://d1example.cloudfront.net",
        frontendBucket: "frontend-bucket-123",
        distributionId: "E2EXAMPLE",
        functionNames: { api: "people-register-test-api", auth: "people-register-test-auth" },
      });
      expect(dev.secretOutputs).to.deep.equal([]);
    });

    it("parents every resource under a component", () => {
      const orphans = dev.resources.filter((r: Registered) => r.custom && r.parentType === "");
      expect(orphans.map((r) => `${r.type} ${r.name}`)).to.deep.equal([]);
    });
  });
});
