// Drift detection: a refresh in preview mode against the fake engine (events replayed from fixtures),
// the report in JSON and Markdown, exit code 2 on drift, and one GitHub issue kept up to date.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { silentLogger } from "../../automation/command";
import { driftExitCode, runDrift } from "../../automation/commands/drift";
import { buildDriftReport, driftMarker, renderDriftMarkdown } from "../../automation/engine/drift";
import { refreshClean, refreshDrift } from "../fixtures/engine-events";
import { FakeGitHub } from "../fixtures/engine-events/fake-github";
import { FakeStack } from "../fixtures/engine-events/fake-stack";

describe("drift: refresh preview → drifted resources and properties → report, exit code, issue", () => {
  let dir: string;
  let stack: FakeStack;
  let gh: FakeGitHub;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "drift-test-"));
    stack = new FakeStack("prod");
    gh = new FakeGitHub();
    await gh.start();
  });
  afterEach(async () => {
    await gh.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (extra: Partial<Parameters<typeof runDrift>[0]> = {}) =>
    runDrift({ repoRoot: dir, reportsDir: dir, stackName: "prod", env: { GITHUB_TOKEN: "t", GITHUB_API_URL: gh.url }, log: silentLogger, signal: new AbortController().signal, stack, progress: () => {}, now: () => new Date("2026-12-01T03:00:00Z"), ...extra });

  it("reports each drifted resource with its changed properties, never the values, and writes nothing (preview only)", async () => {
    stack.refreshes = [{ events: refreshDrift() }];
    const result = await run();
    expect(stack.calls).to.deep.equal(["refresh --preview-only"]);
    expect(stack.refreshOptions[0].previewOnly).to.equal(true);
    expect(result.drifted.map((d) => [d.kind, d.name, d.properties])).to.deep.equal([
      ["deleted", "api-logs", []],
      ["changed", "api", ["memorySize", "tags.owner"]],
    ]);
    expect(result.checked).to.equal(3);
    const json = fs.readFileSync(path.join(dir, "drift-report.json"), "utf8");
    expect(json).not.to.include("1024").and.not.to.include("someone");
    const md = fs.readFileSync(path.join(dir, "drift-report.md"), "utf8");
    expect(md.startsWith(driftMarker("people-register", "prod"))).to.equal(true);
    expect(md).to.include("**2** of 3 resources changed outside Pulumi").and.include("| `api` | `aws:lambda/function:Function` | changed | `memorySize`, `tags.owner` |");
    expect(md).to.include("| `api-logs` | `aws:cloudwatch/logGroup:LogGroup` | deleted | — |");
  });

  it("says so when nothing drifted, and the command exits 0; drift makes it exit 2", async () => {
    const clean = buildDriftReport("prod", refreshClean());
    expect(clean.drifted).to.deep.equal([]);
    expect(renderDriftMarkdown(clean, "people-register")).to.include("No drift: the 1 resources match the state");
    expect(driftExitCode(clean)).to.equal(0);
    stack.refreshes = [{ events: refreshDrift() }];
    expect(driftExitCode(await run())).to.equal(2);
  });

  it("opens one issue on drift and updates that same issue on the next run", async () => {
    stack.refreshes = [{ events: refreshDrift() }, { events: refreshDrift() }];
    gh.issues.push({ number: 7, title: "a PR", body: `${driftMarker("people-register", "prod")}\nnot an issue`, state: "open", html_url: "x", pull_request: {} });
    const first = await run({ issue: true, repo: "acme/infra" });
    expect(first.issue).to.include({ action: "created" });
    const second = await run({ issue: true, repo: "acme/infra" });
    expect(second.issue).to.include({ action: "updated", number: first.issue!.number });
    const real = gh.issues.filter((i) => !i.pull_request);
    expect(real).to.have.length(1);
    expect(real[0].title).to.equal("Drift on people-register/prod");
    expect(real[0].body).to.include("`memorySize`, `tags.owner`");
  });

  it("opens no issue when nothing drifted, and refuses --issue without a token before refreshing", async () => {
    stack.refreshes = [{ events: refreshClean() }];
    const result = await run({ issue: true, repo: "acme/infra" });
    expect(result.issue).to.equal(undefined);
    expect(gh.requests).to.have.length(0);
    let caught: unknown;
    try {
      await run({ issue: true, repo: "acme/infra", env: {} });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.equal("--issue needs GITHUB_TOKEN in the environment");
    expect(stack.calls).to.deep.equal(["refresh --preview-only"]);
  });
});
