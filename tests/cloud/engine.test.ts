// Real engine calls: the pulumi CLI previews this repository's stack against a local file backend
// (no Pulumi Cloud, no AWS account: the AWS provider runs with credential checks off and fake keys).
// Runs only with `npm run test:cloud`, and only where `pulumi` is on PATH.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { silentLogger } from "../../automation/command";
import { runPreview } from "../../automation/commands/preview";
import { previewMarker } from "../../automation/engine/diff";
import { REPO_ROOT } from "../../automation/shared/paths";
import { type EngineStack, lastDeployedCommit, openStack, PROJECT_NAME, recordDeployedCommit } from "../../automation/engine/pulumi";
import { envPatch } from "../support/env";

function skipReason(): string | undefined {
  if (spawnSync("pulumi", ["version"], { encoding: "utf8" }).status !== 0) return "the pulumi CLI is not on PATH";
  if (!fs.existsSync(path.join(REPO_ROOT, "Pulumi.yaml"))) return "Pulumi.yaml is missing at the repository root";
  return undefined;
}

const reason = skipReason();
const suite = reason ? describe.skip : describe;

suite(`engine against a local file backend${reason ? ` (skipped: ${reason})` : ""}`, () => {
  const stackName = `cloudtest${randomBytes(4).toString("hex")}`;
  const vars = envPatch();
  let backend: string;
  let reportsDir: string;
  let stack: EngineStack;

  before(async () => {
    backend = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-backend-"));
    reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-reports-"));
    // The SDK passes the process environment to the CLI.
    vars.set({ PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"), PULUMI_SKIP_UPDATE_CHECK: "true" });
    stack = await openStack({ repoRoot: REPO_ROOT, stackName, env: process.env, log: silentLogger });
    await stack.setAllConfig({
      "aws:region": { value: "eu-west-1" },
      "aws:accessKey": { value: "AKIDCLOUDTEST" },
      "aws:secretKey": { value: "cloud-test-not-a-key", secret: true },
      "aws:skipCredentialsValidation": { value: "true" },
      "aws:skipRequestingAccountId": { value: "true" },
      "aws:skipMetadataApiCheck": { value: "true" },
      "aws:skipRegionValidation": { value: "true" },
      "people-register:sesFromEmail": { value: "no-reply@example.org" },
    });
  });

  after(() => {
    vars.restore();
    fs.rmSync(path.join(REPO_ROOT, `Pulumi.${stackName}.yaml`), { force: true });
    fs.rmSync(backend, { recursive: true, force: true });
    fs.rmSync(reportsDir, { recursive: true, force: true });
  });

  it("previews the whole stack from scratch: only creates, nothing the guard stops, Markdown with the marker", async () => {
    const result = await runPreview({
      repoRoot: REPO_ROOT,
      reportsDir,
      stackName,
      env: { ...process.env, JWT_SECRET: randomBytes(32).toString("hex"), CSRF_SECRET: randomBytes(32).toString("hex") },
      log: silentLogger,
      signal: new AbortController().signal,
      stack,
      progress: () => {},
    });
    expect(result.succeeded).to.equal(true);
    expect(result.changes).to.be.greaterThan(10);
    expect(Object.keys(result.change_summary)).to.include("create");
    expect(result.change_summary.delete ?? 0).to.equal(0);
    expect(result.destructive).to.deep.equal([]);
    expect(result.markdown.startsWith(previewMarker(PROJECT_NAME, stackName))).to.equal(true);
    const report = JSON.parse(fs.readFileSync(path.join(reportsDir, "preview.json"), "utf8"));
    const types = new Set(report.resources.map((r: { type: string }) => r.type));
    for (const t of ["aws:dynamodb/table:Table", "aws:lambda/function:Function", "aws:s3/bucket:Bucket", "aws:cloudfront/distribution:Distribution"]) expect(types).to.include(t);
  });

  it("keeps the secrets as secret config", async () => {
    const stored = fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stackName}.yaml`), "utf8");
    expect(stored).to.match(/people-register:jwtSecret:\s*\n\s*secure:/);
  });

  it("has no last deployed commit before a deployment, and reads back the one recorded", async () => {
    expect(await lastDeployedCommit(stack)).to.equal(undefined);
    const sha = "0123456789abcdef0123456789abcdef01234567";
    if (await recordDeployedCommit(stack, sha, silentLogger)) expect(await lastDeployedCommit(stack)).to.equal(sha);
  });
});
