import { expect } from "chai";
import { ConcurrentUpdateError } from "@pulumi/pulumi/automation";
import { CommandFailure, type Logger } from "../../automation/command";
import {
  applySecretsFromEnv,
  checkNoChanges,
  commandErrorSummary,
  diffOfFailure,
  EngineInterruptedError,
  isConcurrentUpdate,
  LAST_DEPLOYED_COMMIT_TAG,
  lastDeployedCommit,
  maskOutputs,
  previewStack,
  recordDeployedCommit,
  StackLockedError,
  upStack,
  validateStackName,
  withEngineRetry,
} from "../../automation/engine/pulumi";
import { createsOnly, mixedChanges } from "../fixtures/engine-events";
import { FakeStack, LOCKED_CLOUD, LOCKED_DIY, sdkError } from "../fixtures/engine-events/fake-stack";

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warn: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    step: async (_t, work) => work(),
  };
}

const SHA = "0123456789abcdef0123456789abcdef01234567";

describe("engine: locked stacks and retries", () => {
  it("recognises the SDK's ConcurrentUpdateError for Pulumi Cloud and for file/S3 backends", () => {
    expect(LOCKED_DIY()).to.be.instanceOf(ConcurrentUpdateError);
    expect(isConcurrentUpdate(LOCKED_DIY())).to.equal(true);
    expect(isConcurrentUpdate(LOCKED_CLOUD())).to.equal(true);
    expect(isConcurrentUpdate(sdkError("error: program failed"))).to.equal(false);
  });

  it("retries a locked stack with backoff and then succeeds", async () => {
    const stack = new FakeStack();
    stack.previews = [{ fail: LOCKED_DIY }, { fail: LOCKED_CLOUD }, { events: createsOnly() }];
    const slept: number[] = [];
    const log = recordingLog();
    const result = await previewStack(stack, { signal: new AbortController().signal, log, progress: () => {}, retries: 3, sleep: async (ms) => void slept.push(ms) });
    expect(stack.calls).to.deep.equal(["preview", "preview", "preview"]);
    expect(slept).to.deep.equal([15_000, 30_000]);
    expect(log.lines.filter((l) => l.includes("locked by another update"))).to.have.length(2);
    expect(result.diff.counts).to.deep.equal({ create: 4 });
  });

  it("keeps only the events of the attempt that succeeded", async () => {
    const stack = new FakeStack();
    stack.previews = [{ events: mixedChanges(), fail: LOCKED_DIY }, { events: createsOnly() }];
    const result = await previewStack(stack, { signal: new AbortController().signal, log: recordingLog(), progress: () => {}, sleep: async () => {} });
    expect(result.diff.changes.every((c) => c.op === "create")).to.equal(true);
  });

  it("gives up after the bounded retries with a clear message and the recovery steps", async () => {
    const stack = new FakeStack();
    stack.ups = [{ fail: LOCKED_DIY }, { fail: LOCKED_DIY }, { fail: LOCKED_DIY }];
    let caught: unknown;
    try {
      await upStack(stack, { signal: new AbortController().signal, log: recordingLog(), progress: () => {}, retries: 2, sleep: async () => {} });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(StackLockedError);
    expect(stack.calls).to.deep.equal(["up", "up", "up"]);
    const message = (caught as Error).message;
    expect(message.split("\n")[0]).to.equal("update of prod: the stack is locked by another update (tried 3 times). Wait for that update to finish.");
    expect(message).to.include("pulumi cancel --stack prod").and.include("pulumi stack export").and.include("pulumi refresh --stack prod --clear-pending-creates");
  });

  it("does not retry other failures, and reports the engine's error lines only", async () => {
    const stack = new FakeStack();
    stack.previews = [{ fail: () => sdkError("Previewing update (prod)\n\nerror: Running program failed: missing required configuration variable 'jwtSecret'\nerror: preview failed") }];
    let caught: unknown;
    try {
      await previewStack(stack, { signal: new AbortController().signal, log: recordingLog(), progress: () => {}, sleep: async () => expect.fail("must not sleep") });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(CommandFailure);
    expect((caught as Error).message).to.equal(
      "preview of prod failed: error: Running program failed: missing required configuration variable 'jwtSecret' | error: preview failed",
    );
    expect(stack.calls).to.have.length(1);
  });

  it("keeps what a failed preview reported (policy violations) for the PR comment", async () => {
    const stack = new FakeStack();
    stack.previews = [{ events: mixedChanges(), fail: () => sdkError("error: preview failed: 1 mandatory policy violation") }];
    let caught: unknown;
    try {
      await previewStack(stack, { signal: new AbortController().signal, log: recordingLog(), progress: () => {} });
    } catch (err) {
      caught = err;
    }
    expect(diffOfFailure(caught)?.policies.map((p) => p.policyName)).to.deep.equal(["dynamodb-pitr", "log-retention"]);
  });
});

describe("engine: interruption", () => {
  it("passes the abort signal to the SDK; an interrupted update ends with exit code 130 and the recovery steps", async () => {
    const stack = new FakeStack();
    stack.ups = [{ events: createsOnly().slice(0, 5), hang: true }];
    const controller = new AbortController();
    const running = upStack(stack, { signal: controller.signal, log: recordingLog(), progress: () => {}, sleep: async () => expect.fail("must not retry") });
    await new Promise((r) => setImmediate(r));
    expect(stack.upOptions[0].signal).to.equal(controller.signal);
    controller.abort();
    let caught: unknown;
    try {
      await running;
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(EngineInterruptedError);
    expect((caught as CommandFailure).exitCode).to.equal(130);
    expect((caught as Error).message).to.include("update of prod was interrupted").and.include("pulumi stack import");
    expect(stack.calls).to.deep.equal(["up"]);
    // What happened before the interruption is kept for the report.
    expect(diffOfFailure(caught)?.changes.length).to.be.greaterThan(0);
  });

  it("stops waiting between retries when interrupted", async () => {
    const controller = new AbortController();
    let attempts = 0;
    const run = withEngineRetry(
      "preview",
      "prod",
      async () => {
        attempts++;
        throw LOCKED_DIY();
      },
      {
        signal: controller.signal,
        log: recordingLog(),
        sleep: (_ms, signal) =>
          new Promise((_, reject) => {
            controller.abort();
            if (signal.aborted) reject(new Error("aborted"));
          }),
      },
    );
    let caught: unknown;
    try {
      await run;
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(EngineInterruptedError);
    expect(attempts).to.equal(1);
  });

  it("does not start an operation once interrupted", async () => {
    const controller = new AbortController();
    controller.abort();
    const stack = new FakeStack();
    let caught: unknown;
    try {
      await previewStack(stack, { signal: controller.signal, log: recordingLog(), progress: () => {} });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(EngineInterruptedError);
    expect(stack.calls).to.deep.equal([]);
  });
});

describe("engine: options, secrets and outputs", () => {
  it("runs previews without colour, with events collected, progress suppressed in CI, and the policy packs", async () => {
    const stack = new FakeStack();
    await previewStack(stack, { signal: new AbortController().signal, log: recordingLog(), progress: () => {}, ci: true, policyPacks: ["/repo/policy"] });
    const o = stack.previewOptions[0];
    expect(o).to.include({ color: "never", suppressProgress: true, diff: false });
    expect(o.policyPacks).to.deep.equal(["/repo/policy"]);
    expect(o.onEvent).to.be.a("function");
    expect(o.onOutput).to.be.a("function");
  });

  it("uses the engine's change summary, or the counts from the events when it sent none", async () => {
    const stack = new FakeStack();
    stack.previews = [{ events: mixedChanges(), changeSummary: { update: 1, replace: 1, delete: 1, create: 1, same: 2 } }, { events: createsOnly() }];
    const a = await previewStack(stack, { signal: new AbortController().signal, log: recordingLog(), progress: () => {} });
    expect(a.changeSummary).to.deep.equal({ update: 1, replace: 1, delete: 1, create: 1, same: 2 });
    const b = await previewStack(stack, { signal: new AbortController().signal, log: recordingLog(), progress: () => {} });
    expect(b.changeSummary).to.deep.equal({ create: 4 });
  });

  it("sets JWT_SECRET and CSRF_SECRET as secret config and leaves absent ones alone", async () => {
    const stack = new FakeStack();
    const keys = await applySecretsFromEnv(stack, { JWT_SECRET: "j".repeat(40), CSRF_SECRET: "", OTHER: "x" });
    expect(keys).to.deep.equal(["people-register:jwtSecret"]);
    expect(stack.config).to.deep.equal({ "people-register:jwtSecret": { value: "j".repeat(40), secret: true } });
    expect(await applySecretsFromEnv(stack, {})).to.deep.equal([]);
    expect(stack.calls.filter((c) => c === "setAllConfig")).to.have.length(1);
  });

  it("masks secret outputs (the SDK returns them in plain text)", async () => {
    const stack = new FakeStack();
    stack.stackOutputs = { apiUrl: { value: "https://x.execute-api.eu-west-1.amazonaws.com/prod/", secret: false }, adminToken: { value: "s3cr3t", secret: true } };
    const up = await upStack(stack, { signal: new AbortController().signal, log: recordingLog(), progress: () => {} });
    expect(up.outputs).to.deep.equal({ apiUrl: "https://x.execute-api.eu-west-1.amazonaws.com/prod/", adminToken: "[secret]" });
    expect(JSON.stringify(maskOutputs(stack.stackOutputs))).not.to.include("s3cr3t");
  });

  it("warns when a preview right after the update still has changes (non-deterministic build)", async () => {
    const stack = new FakeStack();
    stack.previews = [{ events: mixedChanges(), fail: () => sdkError("error: no changes were expected but changes were proposed") }, { events: [] }];
    const warning = await checkNoChanges(stack, { signal: new AbortController().signal, log: recordingLog(), progress: () => {} });
    expect(warning).to.match(/did not come back clean: 1 to delete · 1 to replace/);
    expect(stack.previewOptions[0].expectNoChanges).to.equal(true);
    expect(await checkNoChanges(stack, { signal: new AbortController().signal, log: recordingLog(), progress: () => {} })).to.equal(undefined);
  });

  it("validates stack names before they reach the CLI", () => {
    expect(() => validateStackName("prod")).not.to.throw();
    expect(() => validateStackName("organization/people-register/prod")).not.to.throw();
    expect(() => validateStackName("prod --yes")).to.throw(/invalid stack name/);
    expect(() => validateStackName("a/b/c/d")).to.throw(/invalid stack name/);
  });

  it("summarises CLI errors without dumping the whole output", () => {
    expect(commandErrorSummary(sdkError("lots of progress\nmore\nerror: boom"))).to.equal("error: boom");
  });
});

describe("engine: the last deployed commit", () => {
  it("is recorded as a stack tag and read back", async () => {
    const stack = new FakeStack();
    expect(await recordDeployedCommit(stack, SHA.toUpperCase(), recordingLog())).to.equal(true);
    expect(stack.tags[LAST_DEPLOYED_COMMIT_TAG]).to.equal(SHA);
    expect(await lastDeployedCommit(stack)).to.equal(SHA);
  });

  it("falls back to the newest succeeded update in the history when the backend has no tags", async () => {
    const stack = new FakeStack();
    stack.tagsUnsupported = true;
    const log = recordingLog();
    expect(await recordDeployedCommit(stack, SHA, log)).to.equal(false);
    expect(log.lines[0]).to.match(/^warning: could not tag the stack/);
    const at = new Date();
    const entry = (message: string, result: "succeeded" | "failed", env: Record<string, string> = {}) =>
      ({ kind: "update", startTime: at, endTime: at, message, environment: env, config: {}, result, version: 1 }) as const;
    stack.historyEntries = [entry(`deploy ${"f".repeat(40)}`, "failed"), entry("manual run", "succeeded", { "git.head": "a".repeat(40) }), entry(`deploy ${SHA}`, "succeeded")];
    expect(await lastDeployedCommit(stack)).to.equal("a".repeat(40));
  });

  it("is undefined for a stack never deployed, and a malformed tag is ignored", async () => {
    const stack = new FakeStack();
    expect(await lastDeployedCommit(stack)).to.equal(undefined);
    stack.tags[LAST_DEPLOYED_COMMIT_TAG] = "not a sha; rm -rf";
    expect(await lastDeployedCommit(stack)).to.equal(undefined);
  });
});
