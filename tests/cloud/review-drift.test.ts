// Real engine paths of `review` and `drift`: a `pr-*` stack on a temporary local file backend (no Pulumi
// Cloud, no AWS account) is created with the review config, refreshed in preview mode (drift), listed,
// destroyed and removed. Runs only with `npm run test:cloud`, and only where `pulumi` is on PATH.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { silentLogger } from "../../automation/command";
import { reviewConfig } from "../../automation/commands/review";
import { buildDriftReport } from "../../automation/engine/drift";
import { REPO_ROOT } from "../../automation/shared/paths";
import { destroyStack, type EngineStack, openStack, openWorkspace, refreshPreview, StackMissingError } from "../../automation/engine/pulumi";
import { envPatch } from "../support/env";

const reason = spawnSync("pulumi", ["version"], { encoding: "utf8" }).status !== 0 ? "the pulumi CLI is not on PATH" : undefined;
const suite = reason ? describe.skip : describe;

suite(`review and drift engine paths against a local file backend${reason ? ` (skipped: ${reason})` : ""}`, () => {
  const stackName = `pr-${1_000_000 + Math.floor(Math.random() * 1_000_000)}`;
  const vars = envPatch();
  const engine = { signal: new AbortController().signal, log: silentLogger, progress: () => {} };
  let backend: string;
  let stack: EngineStack;

  before(async () => {
    backend = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-backend-"));
    vars.set({ PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"), PULUMI_SKIP_UPDATE_CHECK: "true" });
    stack = await openStack({ repoRoot: REPO_ROOT, stackName, env: process.env, log: silentLogger });
    await stack.setAllConfig({ ...reviewConfig(REPO_ROOT, "prod"), "aws:region": { value: "eu-west-1" }, "aws:skipCredentialsValidation": { value: "true" } });
  });

  after(() => {
    vars.restore();
    fs.rmSync(path.join(REPO_ROOT, `Pulumi.${stackName}.yaml`), { force: true });
    fs.rmSync(backend, { recursive: true, force: true });
  });

  it("stores the review config (stack-named tables, nothing protected)", async () => {
    expect(await stack.getConfigValue("people-register:tableNaming")).to.equal("stack");
    expect(await stack.getConfigValue("people-register:protect")).to.equal("false");
  });

  it("refreshes in preview mode and finds no drift on an empty stack", async () => {
    const refreshed = await refreshPreview(stack, engine);
    expect(buildDriftReport(stackName, refreshed.events).drifted).to.deep.equal([]);
  });

  it("lists the stack, destroys it, removes it, and then cannot select it", async () => {
    const ws = await openWorkspace({ repoRoot: REPO_ROOT, env: process.env, log: silentLogger });
    expect((await ws.listStacks()).map((s) => s.name)).to.include(stackName);
    await destroyStack(stack, engine);
    await ws.removeStack(stackName);
    expect((await ws.listStacks()).map((s) => s.name)).not.to.include(stackName);
    let caught: unknown;
    try {
      await openStack({ repoRoot: REPO_ROOT, stackName, env: process.env, log: silentLogger, create: false });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(StackMissingError);
  });
});
