// The integrated app and the TypeScript handlers share one data set, and the app gets locally the
// environment the stack gives it. The stand-in registry-api app (tests/e2e/fixtures/standin-registry-api,
// once with HEAD's variable names and once with 3b58af3's) runs through the real shim in the local
// Python worker on the local target (DynamoDB Local, its own tables created, the gateway sending it every
// path); the TypeScript handlers serve the same tables behind a second gateway in this process.
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { type FunctionName, SECRET_PARAMETER_SUFFIX } from "../../handlers/contract";
import { bundleHandlers } from "../../automation/shared/build";
import { integratedPlan, scanAppDir } from "../../automation/shared/integrated";
import { type Gateway, type ProxyHandler, startGateway } from "../../automation/local/gateway";
import { ensureVenv } from "../../automation/local/python-worker";
import { localDynamoClient } from "../../automation/local/tables";
import { LOCAL_TABLE_PREFIX, type LocalTarget, startLocalTarget } from "../../automation/local/target";
import { repoPaths } from "../../automation/shared/paths";
import { prepareIntegration } from "../../automation/sync/prepare";
import { envPatch } from "../support/env";
import { type ApiClient, api, csrfToken, login, randomIp } from "../support/http";
import { stopSharedTarget } from "../support/target";
import { GOOD_SECRETS, baseConfig, one, removeRepo, runProgram, tempRepo, writePreparedPackage, writeSyncedApp } from "../stacks/harness";
import { type StandinVariant, standinCheckout, standinFiles } from "./support/standin-app";

const SOURCE_IP_HEADER = "x-test-source-ip";
const ADMIN = { email: "standin-admin@example.com", password: `Adm1n!${randomUUID()}` };
/** The stack's physical table names under the harness's stack ("test") and project. */
const STACK_TABLE_PREFIX = "people-register-test-";
const NAIVE_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;
const sha = (value: string) => `sha256:${require("node:crypto").createHash("sha256").update(value).digest("hex")}`;

/**
 * Per variant: the variables the synced code reads that the function's environment carries, how the
 * local value differs from the stack's, and the logical table behind each table variable.
 */
const EXPECTED: Record<StandinVariant, { tables: Record<string, string>; secrets: string[]; localOnly: Record<string, [local: string, stack: string]>; config: string[]; same: string[] }> = {
  v2: {
    tables: { PEOPLE_TABLE_V2_NAME: "PeopleTable", PROJECTS_TABLE_V2_NAME: "ProjectsTable", SUBSCRIPTIONS_TABLE_V2_NAME: "SubscriptionsTable" },
    secrets: ["JWT_SECRET"],
    localOnly: { ENVIRONMENT: ["development", "production"], EMAIL_TEST_MODE: ["true", "false"] },
    config: [],
    same: ["HANDLER_KIND"],
  },
  v1: {
    tables: {
      PEOPLE_TABLE_NAME: "PeopleTable", PROJECTS_TABLE_NAME: "ProjectsTable", SUBSCRIPTIONS_TABLE_NAME: "SubscriptionsTable",
      AUDIT_TABLE_NAME: "AuditLogsTable", LOCKOUT_TABLE_NAME: "AccountLockoutTable",
    },
    secrets: ["JWT_SECRET_KEY"],
    localOnly: {},
    config: ["FRONTEND_URL", "SES_FROM_EMAIL"],
    same: ["HANDLER_KIND"],
  },
};

/**
 * What the worker's process has besides the function's configured environment: what Lambda's runtime
 * sets on AWS too, and (local only) DynamoDB Local's endpoint, no instance metadata, unbuffered output.
 */
const RUNTIME_SET = ["AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "AWS_SECRET_ACCESS_KEY", "LAMBDA_TASK_ROOT", "LANG", "PATH", "_HANDLER"];
const LOCAL_ONLY_PROCESS = ["AWS_EC2_METADATA_DISABLED", "AWS_ENDPOINT_URL_DYNAMODB", "HOME", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"];

/** The TypeScript handlers (the bundles the stack deploys), loaded fresh: they read the target's configuration from process.env. */
function typescriptHandlers(repoRoot: string): Record<FunctionName, ProxyHandler> {
  const handlers = {} as Record<FunctionName, ProxyHandler>;
  for (const bundle of Object.values(bundleHandlers({ repoRoot }))) {
    const file = require.resolve(bundle.file);
    delete require.cache[file];
    handlers[bundle.fn] = (require(file) as { handler: ProxyHandler }).handler;
  }
  expect(Object.keys(handlers).sort()).to.deep.equal(["api", "auth"]);
  return handlers;
}

for (const variant of ["v2", "v1"] as const) {
  const names = variant === "v2" ? "registry-api HEAD's variable names" : "registry-api 3b58af3's variable names";
  describe(`integrated stand-in app (${names}) and the TypeScript handlers on the same tables`, function () {
    // The first run builds the virtualenv (seconds with the local index) and may fetch DynamoDB Local.
    this.timeout(180_000);
    let root: string;
    let stackRepo: string;
    let outbox: string;
    let target: LocalTarget;
    let tsGateway: Gateway;
    let app: ApiClient;
    let tsSide: { url: string; sourceIpHeader: string };
    let ts: ApiClient;
    let stackEnv: Record<string, string>;
    let adminToken: string;
    let project: Record<string, any>;

    before(async () => {
      await stopSharedTarget();
      // The stack's view first, under Pulumi mocks, for the same synced sources.
      stackRepo = tempRepo();
      writeSyncedApp(stackRepo, "c0ffee0000000000000000000000000000000000", standinFiles(variant));
      writePreparedPackage(stackRepo, { source_commit: "c0ffee0000000000000000000000000000000000", requirements_sha256: "ab".repeat(32), python_version: "3.12", platform: "manylinux2014_x86_64", prepared_at: "2026-01-01T00:00:00Z" });
      const program = await runProgram({ repoRoot: stackRepo, config: baseConfig() });
      stackEnv = one(program, "aws:lambda/function:Function", "api").inputs.environment.variables;

      root = standinCheckout(variant);
      outbox = fs.mkdtempSync(path.join(os.tmpdir(), "standin-outbox-"));
      await prepareIntegration({ repoRoot: root, preference: "integrated", installDependencies: false });
      const paths = repoPaths(root);
      const venv = await ensureVenv({ requirementsText: fs.readFileSync(path.join(paths.integratedDir, "requirements.txt"), "utf8"), cacheDir: path.join(paths.localDir, "venvs") });
      // Variables the stack never sets must not reach the app from the developer's shell either.
      const vars = envPatch();
      vars.set({ TESTING: "true", DEBUG: "true" });
      try {
        target = await startLocalTarget({
          repoRoot: root,
          bcryptCost: 4,
          sourceIpHeader: SOURCE_IP_HEADER,
          admin: ADMIN,
          outboxDir: outbox,
          env: { LOG_LEVEL: "error" },
          integrated: { taskRoot: paths.integratedDir, python: venv.python, plan: integratedPlan(scanAppDir(paths.lambdaDir)) },
        });
      } finally {
        vars.restore();
      }
      tsGateway = await startGateway({ handlers: typescriptHandlers(root), sourceIpHeader: SOURCE_IP_HEADER });
      tsSide = { url: tsGateway.url, sourceIpHeader: SOURCE_IP_HEADER };
      app = api({ url: target.url, sourceIpHeader: SOURCE_IP_HEADER });
      ts = api(tsSide);
      adminToken = (await login(tsSide, ADMIN.email, ADMIN.password)).token;
      const created = await ts.request("POST", "/projects", {
        token: adminToken,
        body: { name: `Shared ${variant}`, description: "Written by the TypeScript handlers", startDate: "2026-03-01", endDate: "2026-06-30", maxParticipants: 20, status: "active" },
      });
      expect(created.status, created.text).to.equal(201);
      project = created.json;
    });

    after(async () => {
      await tsGateway?.close();
      await target?.stop();
      for (const dir of [root, stackRepo, outbox]) if (dir) removeRepo(dir);
    });

    it("serves the app, not the TypeScript handlers, on the local target", async () => {
      const health = await app.request("GET", "/health");
      expect(health.status).to.equal(200);
      expect(health.json).to.deep.equal({ status: "healthy", environment: variant === "v2" ? "development" : null, testing: null });
      expect((await app.request("GET", "/openapi.json")).status).to.equal(200);
      expect((await ts.request("GET", "/openapi.json")).status, "the TypeScript handlers have no /openapi.json").to.equal(404);
    });

    it("a person the app writes (3b58af3's shape) is read by the TypeScript handlers: by id, at login, with its subscriptions", async () => {
      const email = `standin-${randomUUID().slice(0, 8)}@example.com`;
      const password = `Py-Made-${randomUUID().slice(0, 8)}!`;
      const res = await app.request("POST", "/public/subscribe", {
        body: {
          person: { firstName: "Ana", lastName: "Python", email, phone: "+591 4 4123456", dateOfBirth: "1990-04-01", address: { street: "Av. Heroinas 1", city: "Cochabamba", state: "CBBA", zipCode: "0000", country: "BO" }, password },
          projectId: project.id,
        },
      });
      expect(res.status, res.text).to.equal(201);
      const { personId, subscriptionId } = res.json;

      // What the app stored really is the foreign shape (else this test would prove nothing).
      const client = localDynamoClient(target.dynamoEndpoint);
      const stored = (await DynamoDBDocumentClient.from(client).send(new GetCommand({ TableName: target.tableNames.PeopleTable, Key: { id: personId } }))).Item!;
      client.destroy();
      expect(stored).to.not.have.property("version");
      expect(stored).to.not.have.property("isAdmin");
      expect(stored.createdAt).to.match(NAIVE_ISO);
      expect(stored.address).to.deep.equal({ street: "Av. Heroinas 1", city: "Cochabamba", state: "CBBA", zip_code: "0000", country: "BO" });
      expect(stored.passwordHash).to.match(/^\$2b\$12\$/);

      const session = await login(tsSide, email, password);
      expect(session.user.id).to.equal(personId);
      const person = await ts.request("GET", `/people/${personId}`, { token: session.token });
      expect(person.status, person.text).to.equal(200);
      expect(person.json).to.deep.include({
        id: personId, email, firstName: "Ana", lastName: "Python", phone: "+591 4 4123456", dateOfBirth: "1990-04-01",
        address: { street: "Av. Heroinas 1", city: "Cochabamba", state: "CBBA", postalCode: "0000", country: "BO" },
        isAdmin: false, isActive: true, requirePasswordChange: false, version: 1,
        createdAt: new Date(`${stored.createdAt}Z`).toISOString(),
      });
      const subs = await ts.request("GET", `/people/${personId}/subscriptions`, { token: session.token });
      expect(subs.status, subs.text).to.equal(200);
      expect(subs.json).to.have.length(1);
      expect(subs.json[0]).to.deep.include({ id: subscriptionId, personId, projectId: project.id, status: "active", notes: "" });
      expect(subs.json[0].createdAt).to.match(/Z$/);
    });

    it("a person, project and subscription the TypeScript handlers write are read by the app with HEAD-strict models (TypeScript tokens accepted)", async () => {
      const ip = randomIp();
      const email = `ts-${randomUUID().slice(0, 8)}@example.com`;
      const registered = await ts.request("POST", "/people", { ip, headers: { "X-CSRF-Token": await csrfToken(tsSide, ip) }, body: { firstName: "Tess", lastName: "Script", email } });
      expect(registered.status, registered.text).to.equal(201);
      const personId = registered.json.id;
      const subscribed = await ts.request("POST", `/projects/${project.id}/subscribe/${personId}`, { token: adminToken });
      expect(subscribed.status, subscribed.text).to.be.oneOf([200, 201]);

      const person = await app.request("GET", `/people/${personId}`, { token: adminToken });
      expect(person.status, person.text).to.equal(200);
      expect(person.json).to.deep.include({
        id: personId, email, firstName: "Tess", lastName: "Script", phone: "", dateOfBirth: "",
        address: { street: "", city: "", state: "", postalCode: "", country: "" },
        isAdmin: false, isActive: true, requirePasswordChange: false, emailVerified: false,
      });
      const read = await app.request("GET", `/projects/${project.id}`);
      expect(read.status, read.text).to.equal(200);
      expect(read.json).to.deep.include({ id: project.id, name: project.name, description: project.description, startDate: "2026-03-01", endDate: "2026-06-30", maxParticipants: 20, status: "active", createdBy: project.createdBy });
      const subs = await app.request("GET", `/people/${personId}/subscriptions`, { token: adminToken });
      expect(subs.status, subs.text).to.equal(200);
      expect(subs.json.subscriptions.map((s: { projectId: string }) => s.projectId)).to.deep.equal([project.id]);
      // The admin the local target seeds is a TypeScript-written person too.
      const me = JSON.parse(Buffer.from(adminToken.split(".")[1]!, "base64url").toString("utf8")) as { sub: string };
      const admin = await app.request("GET", `/people/${me.sub}`, { token: adminToken });
      expect(admin.status, admin.text).to.equal(200);
      expect(admin.json).to.deep.include({ email: ADMIN.email, isAdmin: true, emailVerified: true });
    });

    it("env parity: the same variables as the stack's api function (a secret there as its SSM parameter's name); values differ only in table names, ENVIRONMENT and test mode (and each side's own secret and config)", async () => {
      const local = target.integratedEnv!;
      const expected = EXPECTED[variant];
      const all = [...Object.keys(expected.tables), ...expected.secrets, ...Object.keys(expected.localOnly), ...expected.config, ...expected.same].sort();
      // On AWS a secret reaches the app as <NAME>_PARAMETER (the shim reads it into <NAME> before import).
      const onAws = (name: string) => (expected.secrets.includes(name) ? `${name}${SECRET_PARAMETER_SUFFIX}` : name);
      expect(Object.keys(stackEnv).sort(), "the stack's api function").to.deep.equal(all.map(onAws).sort());
      expect(Object.keys(local).sort(), "the local target's app").to.deep.equal(all);
      for (const [name, table] of Object.entries(expected.tables)) {
        expect(local[name], name).to.equal(`${LOCAL_TABLE_PREFIX}${table}`);
        expect(stackEnv[name], name).to.equal(`${STACK_TABLE_PREFIX}${table}`);
      }
      for (const [name, [localValue, stackValue]] of Object.entries(expected.localOnly)) expect([local[name], stackEnv[name]], name).to.deep.equal([localValue, stackValue]);
      // Secrets: the one the TypeScript handlers of the same deployment use, so tokens work across both.
      for (const name of expected.secrets) {
        expect(local[name], name).to.equal(target.env.JWT_SECRET);
        expect(stackEnv[onAws(name)], name).to.equal("/people-register-test/JWT_SECRET");
        expect(JSON.stringify(stackEnv)).to.not.contain(GOOD_SECRETS.jwtSecret);
      }
      // Config values: the same value the TypeScript handlers of the same deployment get.
      for (const name of expected.config) {
        expect(local[name], name).to.equal(target.env[name]);
        expect(stackEnv[name], name).to.be.a("string").and.not.equal("");
      }
      for (const name of expected.same) expect(local[name], name).to.equal(stackEnv[name]);
    });

    it("the worker's process got exactly that environment, plus what Lambda's runtime sets and DynamoDB Local's endpoint (never TESTING or DEBUG)", async () => {
      const res = await app.request("GET", "/_standin/environment");
      expect(res.status).to.equal(200);
      const seen = res.json as Record<string, string>;
      const configured = target.integratedEnv!;
      for (const [name, value] of Object.entries(configured)) {
        expect(seen[name], name).to.equal(/SECRET|TOKEN|KEY|PASSWORD/.test(name) ? sha(value) : value);
      }
      const extra = Object.keys(seen).filter((k) => !(k in configured)).sort();
      expect(extra).to.deep.equal([...RUNTIME_SET, ...LOCAL_ONLY_PROCESS].sort());
      expect(seen.AWS_ENDPOINT_URL_DYNAMODB).to.equal(target.dynamoEndpoint);
    });
  });
}
