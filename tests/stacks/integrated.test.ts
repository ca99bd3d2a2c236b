// Handler selection in the program: the integrated (synced registry-api) handler, zip and image.
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { ENV, gatewayRoutes } from "../../handlers/contract";
import { INTEGRATED_PREPARE_COMMAND, generatedDockerfile } from "../../stacks/code";
import { baseConfig, byType, one, removeRepo, runProgram, tempRepo, writePreparedPackage, writeSyncedApp } from "./harness";

const FN = "aws:lambda/function:Function";
const COMMIT = "c0ffee0000000000000000000000000000000000";
const goodMarker = (over: Record<string, unknown> = {}) => ({
  source_commit: COMMIT, requirements_sha256: "ab".repeat(32), python_version: "3.12", platform: "manylinux2014_x86_64",
  prepared_at: "2026-01-01T00:00:00Z", ...over,
});

function routesOf(body: string): string[] {
  const doc = JSON.parse(body);
  return Object.entries<Record<string, unknown>>(doc.paths).flatMap(([p, item]) =>
    Object.keys(item).map((k) => `${k === "x-amazon-apigateway-any-method" ? "ANY" : k.toUpperCase()} ${p}`)).sort();
}

describe("stacks: the integrated handler", function () {
  this.timeout(60_000);
  let repo: string;
  beforeEach(() => {
    repo = tempRepo();
  });
  afterEach(() => removeRepo(repo));

  it("auto-selects the synced app: Python 3.12 on x86_64, the prepared package minus its marker, and a greedy route", async () => {
    writeSyncedApp(repo, COMMIT);
    writePreparedPackage(repo, goodMarker());
    const result = await runProgram({ repoRoot: repo });
    const api = one(result, FN, "api").inputs;
    expect(api.runtime).to.equal("python3.12");
    expect(api.handler).to.equal("integrated_api_handler.handler");
    expect(api.architectures).to.deep.equal(["x86_64"]);
    expect(api.environment.variables[ENV.handlerKind]).to.equal("integrated");
    const assets = await api.code.assets;
    expect(Object.keys(assets).sort()).to.deep.equal(["integrated_api_handler.py", "main.py", "mangum/__init__.py"]);
    // auth stays the TypeScript function.
    expect(one(result, FN, "api-auth").inputs.runtime).to.equal("nodejs22.x");
    const body = one(result, "aws:apigateway/restApi:RestApi", "api").inputs.body;
    expect(routesOf(body)).to.deep.equal(gatewayRoutes({ greedy: true }).map((r) => `${r.method} ${r.path}`).sort());
    expect(routesOf(body)).to.include("ANY /{proxy+}");
    expect(result.outputs.handlerKind).to.equal("integrated");
  });

  it("handler=enhanced forces the TypeScript handler even with a synced app", async () => {
    writeSyncedApp(repo, COMMIT);
    const result = await runProgram({ repoRoot: repo, config: baseConfig({ handler: "enhanced" }) });
    expect(one(result, FN, "api").inputs.runtime).to.equal("nodejs22.x");
    expect(result.outputs.handlerKind).to.equal("enhanced");
  });

  it("handler=integrated with nothing synced fails with a clear error naming the sync command", async () => {
    let error: Error | undefined;
    try {
      await runProgram({ repoRoot: repo, config: baseConfig({ handler: "integrated" }) });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.name).to.equal("HandlerSelectionError");
    expect(error?.message).to.match(/handler=integrated but no synced API code/).and.to.contain("automation/cli.ts sync");
  });

  it("a preview without the prepared package warns and still shows the whole graph", async () => {
    writeSyncedApp(repo, COMMIT);
    const result = await runProgram({ repoRoot: repo, preview: true });
    expect(result.logs.warn.join("\n")).to.contain(INTEGRATED_PREPARE_COMMAND);
    const api = one(result, FN, "api").inputs;
    expect(api.runtime).to.equal("python3.12");
    expect(Object.keys(await api.code.assets)).to.deep.equal(["integrated_api_handler.py"]);
    expect(byType(result, "aws:dynamodb/table:Table")).to.have.length(10);
    expect(byType(result, "aws:apigateway/stage:Stage")).to.have.length(2); // live and candidate
  });

  it("an update without the prepared package fails with the command that prepares it", async () => {
    writeSyncedApp(repo, COMMIT);
    let error: Error | undefined;
    try {
      await runProgram({ repoRoot: repo, preview: false });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.contain("has not been prepared").and.to.contain(INTEGRATED_PREPARE_COMMAND);
  });

  it("an update refuses a package prepared for other code or another platform", async () => {
    writeSyncedApp(repo, COMMIT);
    writePreparedPackage(repo, goodMarker({ source_commit: "deadbeef" }));
    let error: Error | undefined;
    try {
      await runProgram({ repoRoot: repo });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.contain("prepared for deadbeef").and.to.contain(INTEGRATED_PREPARE_COMMAND);

    writePreparedPackage(repo, goodMarker({ platform: "macosx_11_0_arm64" }));
    error = undefined;
    try {
      await runProgram({ repoRoot: repo });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.contain("macosx_11_0_arm64");
  });

  it("integratedPackaging=image builds an image with awsx from a generated Dockerfile written under .build/", async () => {
    writeSyncedApp(repo, COMMIT);
    writePreparedPackage(repo, goodMarker());
    const result = await runProgram({ repoRoot: repo, config: baseConfig({ integratedPackaging: "image" }) });
    const repository = one(result, "awsx:ecr:Repository", "api-integrated-api");
    expect(repository.inputs.name).to.equal("people-register-test-integrated-api");
    const image = one(result, "awsx:ecr:Image", "api-integrated-api").inputs;
    expect(image.context).to.equal(path.join(repo, ".build", "integrated"));
    expect(image.dockerfile).to.equal(path.join(repo, ".build", "integrated-image", "Dockerfile"));
    expect(image.platform).to.equal("linux/amd64");
    expect(fs.readFileSync(image.dockerfile, "utf8")).to.equal(generatedDockerfile());
    expect(generatedDockerfile()).to.match(/^FROM public\.ecr\.aws\/lambda\/python:3\.12\n/);
    expect(fs.existsSync(path.join(repo, "lambda", "Dockerfile"))).to.equal(false);
    const api = one(result, FN, "api").inputs;
    expect(api.packageType).to.equal("Image");
    expect(api.imageUri).to.match(/people-register-test-integrated-api@sha256:/);
    expect(api.runtime).to.equal(undefined);
    expect(api.architectures).to.deep.equal(["x86_64"]);
  });

  it("integratedPackaging=image uses the synced app's own Dockerfile.lambda when it has one (no prepared package needed)", async () => {
    writeSyncedApp(repo, COMMIT);
    fs.writeFileSync(path.join(repo, "lambda", "Dockerfile.lambda"), "FROM public.ecr.aws/lambda/python:3.12\n");
    const result = await runProgram({ repoRoot: repo, config: baseConfig({ integratedPackaging: "image" }) });
    const image = one(result, "awsx:ecr:Image", "api-integrated-api").inputs;
    expect(image.context).to.equal(path.join(repo, "lambda"));
    expect(image.dockerfile).to.equal(path.join(repo, "lambda", "Dockerfile.lambda"));
    expect(one(result, FN, "api").inputs.packageType).to.equal("Image");
    expect(fs.existsSync(path.join(repo, ".build", "integrated-image"))).to.equal(false);
  });
});
