// Every CI workflow (GitHub Actions and CodeCatalyst) runs only driver commands that exist, with flags
// those commands accept (parsed by the same parser as automation/cli.ts), one command per step and no
// shell logic; secrets come only from the CI secret stores.
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { parse as parseYaml } from "yaml";
import { COMMANDS } from "../../automation/cli";
import { parseCommandArgs } from "../../automation/command";
import { REPO_ROOT } from "../../automation/shared/paths";
import { driverInvocation, expectDriverCallsParse } from "../support/cli-calls";

const WORKFLOW_DIRS = [".github/workflows", ".codecatalyst/workflows"];

function workflowFiles(): string[] {
  return WORKFLOW_DIRS.flatMap((dir) => {
    const abs = path.join(REPO_ROOT, dir);
    if (!fs.existsSync(abs)) return [];
    return fs.readdirSync(abs).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f));
  }).sort();
}

/** Every shell line a workflow runs: GitHub `run:` and CodeCatalyst `Run:` values, wherever they are. */
export function runLines(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(runLines);
  if (typeof node !== "object" || node === null) return [];
  return Object.entries(node).flatMap(([key, value]) => ((key === "run" || key === "Run") && typeof value === "string" ? [value] : runLines(value)));
}

const files = workflowFiles();
const parsed = new Map(files.map((f) => [f, parseYaml(fs.readFileSync(path.join(REPO_ROOT, f), "utf8")) as Record<string, any>]));

describe("CI workflows", () => {
  it("exist for GitHub Actions and CodeCatalyst", () => {
    expect(files).to.include.members([
      ".github/workflows/pull-request.yml",
      ".github/workflows/deploy.yml",
      ".codecatalyst/workflows/infrastructure-deployment.yml",
      ".codecatalyst/workflows/deployment-coordination.yml",
    ]);
  });

  it("the test's own extraction understands both invocation styles and quoting", () => {
    expect(driverInvocation(`npx tsx automation/cli.ts coordinate --api-source "$API_SOURCE" --stack prod`)).to.deep.equal({ command: "coordinate", args: ["--api-source", "$API_SOURCE", "--stack", "prod"] });
    expect(driverInvocation("npm run cli -- preview --comment")).to.deep.equal({ command: "preview", args: ["--comment"] });
    expect(driverInvocation("npm ci")).to.equal(null);
  });

  for (const file of files) {
    describe(file, () => {
      const lines = runLines(parsed.get(file));

      it("runs at least one driver command", () => {
        expect(lines.map(driverInvocation).filter(Boolean), file).to.not.be.empty;
      });

      it("runs one command per step, with no shell logic", () => {
        for (const line of lines) {
          expect(line.trim(), `${file}: one line per step`).to.not.contain("\n");
          expect(line, `${file}: "${line}"`).to.not.match(/&&|\|\||;|\||\$\(|`|<<|\bif\b|\bthen\b|\bfor\b/);
        }
      });

      it("calls only existing commands, with flags those commands accept", async () => {
        await expectDriverCallsParse(lines, file);
      });

      it("takes secrets only from the CI secret store", () => {
        const text = fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
        for (const name of ["JWT_SECRET", "CSRF_SECRET", "PULUMI_ACCESS_TOKEN"]) {
          for (const match of text.matchAll(new RegExp(`${name}:\\s*(.+)`, "g"))) {
            expect(match[1].trim(), `${file}: ${name}`).to.match(/^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
          }
          for (const match of text.matchAll(new RegExp(`Name: ${name}\\s*\\n\\s*Value:\\s*(.+)`, "g"))) {
            expect(match[1].trim(), `${file}: ${name}`).to.equal(`\${Secrets.${name}}`);
          }
        }
        expect(text, `${file}: no AWS access keys`).to.not.match(/AWS_SECRET_ACCESS_KEY|AKIA[0-9A-Z]{16}/);
      });
    });
  }

  it("GitHub pull requests: preview with a PR comment (write permission), one concurrency group per stack and PR", () => {
    const wf = parsed.get(".github/workflows/pull-request.yml")!;
    expect(Object.keys(wf.on)).to.deep.equal(["pull_request"]);
    expect(wf.permissions).to.include({ "pull-requests": "write", "id-token": "write", contents: "read" });
    expect(wf.concurrency.group).to.contain("prod").and.contain("github.event.pull_request.number");
    const calls = runLines(wf).map(driverInvocation).filter(Boolean);
    expect(calls.map((c) => c!.command)).to.deep.equal(["ci"]);
  });

  it("GitHub deploy: push to main, one group per stack, never cancelled half-way, plugin cache keyed on the lockfile, Node 22", () => {
    const wf = parsed.get(".github/workflows/deploy.yml")!;
    expect(wf.on.push.branches).to.deep.equal(["main"]);
    expect(wf.concurrency).to.deep.equal({ group: "deploy-prod", "cancel-in-progress": false });
    const steps: any[] = wf.jobs.deploy.steps;
    const cache = steps.find((s) => String(s.uses).startsWith("actions/cache"));
    expect(cache.with.path).to.equal("~/.pulumi/plugins");
    expect(cache.with.key).to.contain("hashFiles('package-lock.json')");
    expect(steps.find((s) => String(s.uses).startsWith("actions/setup-node")).with["node-version"]).to.equal(22);
    expect(steps.some((s) => s.run === "npm ci")).to.equal(true);
    expect(steps.find((s) => String(s.uses).startsWith("aws-actions/configure-aws-credentials")).with["role-to-assume"]).to.equal("${{ secrets.AWS_ROLE_ARN }}");
  });

  const onlyCall = (file: string) => {
    const calls = runLines(parsed.get(file)).map(driverInvocation).filter(Boolean);
    expect(calls, file).to.have.length(1);
    return calls[0]!;
  };

  it("GitHub review stacks: opened/synchronised PR → review up, closed PR → review down, one group per PR never cancelled", () => {
    const up = parsed.get(".github/workflows/review.yml")!;
    expect(up.on.pull_request.types).to.deep.equal(["opened", "synchronize", "reopened"]);
    expect(up.permissions).to.include({ "pull-requests": "write" });
    expect(onlyCall(".github/workflows/review.yml")).to.deep.include({ command: "review", args: ["up", "--pr", "$PR_NUMBER", "--policy-pack", "policy"] });
    const down = parsed.get(".github/workflows/review-cleanup.yml")!;
    expect(down.on.pull_request.types).to.deep.equal(["closed"]);
    expect(onlyCall(".github/workflows/review-cleanup.yml")).to.deep.include({ command: "review", args: ["down", "--pr", "$PR_NUMBER"] });
    for (const wf of [up, down]) expect(wf.concurrency).to.deep.equal({ group: "review-pr-${{ github.event.pull_request.number }}", "cancel-in-progress": false });
    for (const job of [up.jobs.review, down.jobs.down]) {
      expect(job.steps.find((s: any) => s.name?.startsWith("Review stack")).env.PR_NUMBER).to.equal("${{ github.event.pull_request.number }}");
    }
  });

  it("GitHub schedules: nightly review gc destroys idle stacks; drift on prod opens or updates the issue", () => {
    const gc = parsed.get(".github/workflows/review-gc.yml")!;
    expect(gc.on.schedule).to.have.length(1);
    const gcCall = onlyCall(".github/workflows/review-gc.yml");
    expect(gcCall.command).to.equal("review");
    expect(gcCall.args[0]).to.equal("gc");
    expect(gcCall.args).to.include("--yes");
    const drift = parsed.get(".github/workflows/drift.yml")!;
    expect(drift.on.schedule).to.have.length(1);
    expect(drift.permissions).to.include({ issues: "write" });
    expect(drift.concurrency.group).to.equal("deploy-prod");
    expect(onlyCall(".github/workflows/drift.yml")).to.deep.include({ command: "drift", args: ["--stack", "prod", "--issue"] });
  });

  it("the CLI's own parser refuses a review call without its action or with an unknown one", async () => {
    const spec = await COMMANDS.review!();
    expect(() => parseCommandArgs(spec, ["--pr", "1"])).to.throw(/review needs one of: up, down, gc/);
    expect(() => parseCommandArgs(spec, ["deploy", "--pr", "1"])).to.throw(/got "deploy"/);
    expect(parseCommandArgs(spec, ["down", "--pr", "3"])).to.include({ action: "down", pr: "3" });
  });

  it("CodeCatalyst: queued runs (one stack operation at a time), the coordination workflow runs `coordinate` with a trigger", () => {
    for (const file of [".codecatalyst/workflows/infrastructure-deployment.yml", ".codecatalyst/workflows/deployment-coordination.yml"]) {
      expect(parsed.get(file)!.RunMode, file).to.equal("QUEUED");
    }
    const calls = runLines(parsed.get(".codecatalyst/workflows/deployment-coordination.yml")).map(driverInvocation).filter(Boolean);
    expect(calls).to.have.length(1);
    expect(calls[0]!.command).to.equal("coordinate");
    expect(calls[0]!.args).to.include("--trigger");
  });
});
