import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { type CommandContext, type Logger, UsageError } from "../../automation/command";
import { command as previewCommand, type PreviewRunResult, runPreview } from "../../automation/commands/preview";
import { previewMarker } from "../../automation/engine/diff";
import { mixedChanges } from "../fixtures/engine-events";
import { FakeGitHub } from "../fixtures/engine-events/fake-github";
import { FakeStack, sdkError } from "../fixtures/engine-events/fake-stack";

const MARKER = previewMarker("people-register", "prod");
const quietLog: Logger = { info() {}, warn() {}, error() {}, step: async (_t, w) => w() };

describe("preview command: Markdown, job summary and the PR comment", () => {
  let dir: string;
  let gh: FakeGitHub;
  let stack: FakeStack;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-test-"));
    gh = new FakeGitHub();
    await gh.start();
    stack = new FakeStack("prod");
    const eventPath = path.join(dir, "event.json");
    fs.writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 42 } }));
    env = {
      CI: "true",
      GITHUB_TOKEN: "ghs_test",
      GITHUB_REPOSITORY: "acme/infra",
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_API_URL: gh.url,
      GITHUB_STEP_SUMMARY: path.join(dir, "summary.md"),
      GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
    };
  });
  afterEach(async () => {
    await gh.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (extra: Partial<Parameters<typeof runPreview>[0]> = {}) =>
    runPreview({ repoRoot: dir, reportsDir: path.join(dir, "reports"), stackName: "prod", env, log: quietLog, signal: new AbortController().signal, stack, progress: () => {}, ...extra });

  it("writes the Markdown file, appends the job summary, upserts one comment and writes preview.json", async () => {
    stack.previews = [{ events: mixedChanges() }, { events: mixedChanges() }];
    const first = await run({ markdownFile: path.join(dir, "out", "preview.md"), comment: true });
    expect(first.comment?.action).to.equal("created");
    const md = fs.readFileSync(path.join(dir, "out", "preview.md"), "utf8");
    expect(md.startsWith(MARKER)).to.equal(true);
    expect(md).to.include("for commit `0123456789ab`");
    expect(md).to.include("A deploy of this change stops before `up`");
    expect(gh.comments).to.have.length(1);
    expect(gh.comments[0].body).to.equal(md);
    expect(fs.readFileSync(env.GITHUB_STEP_SUMMARY!, "utf8")).to.include(MARKER);

    const second = await run({ comment: true });
    expect(second.comment?.action).to.equal("updated");
    expect(gh.comments).to.have.length(1);

    const report = JSON.parse(fs.readFileSync(first.files.report, "utf8"));
    expect(report).to.include({ stack: "prod", succeeded: true, changes: 4 });
    expect(report.destructive.map((f: { name: string }) => f.name)).to.deep.equal(["people"]);
    expect(report.policy_violations).to.deep.equal({ mandatory: 1, warning: 1 });
    expect(report.resources).to.have.length(4);
  });

  it("still comments with the violations when the preview itself fails (mandatory policy)", async () => {
    stack.previews = [{ events: mixedChanges(), fail: () => sdkError("error: preview failed: mandatory policy violation") }];
    let caught: unknown;
    try {
      await run({ comment: true });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.include("preview of prod failed");
    expect(gh.comments).to.have.length(1);
    expect(gh.comments[0].body).to.include("**The preview failed:**").and.include("dynamodb-pitr");
    expect((caught as { previewResult: PreviewRunResult }).previewResult.succeeded).to.equal(false);
  });

  it("refuses --comment without GITHUB_TOKEN before running the preview", async () => {
    delete env.GITHUB_TOKEN;
    let caught: unknown;
    try {
      await run({ comment: true });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(UsageError);
    expect(stack.calls).to.deep.equal([]);
  });

  it("surfaces a 403 from GitHub as a clear failure after writing the Markdown", async () => {
    gh.forceStatus = 403;
    stack.previews = [{ events: mixedChanges() }];
    let caught: unknown;
    try {
      await run({ comment: true, markdownFile: path.join(dir, "p.md") });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.include("pull-requests: write");
    expect(fs.existsSync(path.join(dir, "p.md"))).to.equal(true);
  });

  it("without a pulumi CLI on PATH, the command fails with an actionable message, not a stack trace", async () => {
    const lines: string[] = [];
    const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(`error: ${m}`), step: async (_t, w) => w() };
    const ctx: CommandContext = { json: false, reportsDir: path.join(dir, "reports"), repoRoot: dir, log, signal: new AbortController().signal, env: { ...env, PULUMI_VERSION: "" } };
    // No pulumi CLI on this machine: opening the real stack fails with an actionable message.
    const outcome = await previewCommand.run({ stack: "prod" }, ctx).catch((err: Error) => ({ exitCode: 1, result: err.message }));
    expect(outcome.exitCode).to.equal(1);
    expect(lines.join("\n")).to.match(/pulumi CLI was not found on PATH|could not select stack/);
  });
});
