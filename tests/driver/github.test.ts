import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { GitHubApiError, nextLink, resolvePullRequest, upsertPullRequestComment } from "../../automation/engine/github";
import { FakeGitHub } from "../fixtures/engine-events/fake-github";

const MARKER = "<!-- people-register-preview:people-register/prod -->";

describe("PR comment upsert (GitHub REST API)", () => {
  let gh: FakeGitHub;
  beforeEach(async () => {
    gh = new FakeGitHub();
    await gh.start();
  });
  afterEach(() => gh.stop());

  const upsert = (body: string) => upsertPullRequestComment({ token: "test-token", pr: { repo: "acme/infra", number: 42 }, marker: MARKER, body, apiUrl: gh.url });

  it("creates the comment when no comment carries the marker", async () => {
    gh.seed(3);
    const result = await upsert(`${MARKER}\nfirst preview`);
    expect(result.action).to.equal("created");
    expect(gh.comments).to.have.length(4);
    expect(gh.comments[3].body).to.equal(`${MARKER}\nfirst preview`);
    expect(gh.requests.every((r) => r.auth === "Bearer test-token")).to.equal(true);
  });

  it("updates the existing comment instead of adding another", async () => {
    gh.seed(2);
    gh.seed(1, () => `${MARKER}\nold preview`);
    const result = await upsert(`${MARKER}\nnew preview`);
    expect(result).to.include({ action: "updated", id: gh.comments[2].id });
    expect(gh.comments).to.have.length(3);
    expect(gh.comments[2].body).to.equal(`${MARKER}\nnew preview`);
    expect(gh.requests.map((r) => r.method)).to.deep.equal(["GET", "PATCH"]);
  });

  it("follows Link pagination to find the marker on a later page", async () => {
    gh.seed(250);
    gh.seed(1, () => `${MARKER}\nold`);
    const result = await upsert(`${MARKER}\nnew`);
    expect(result.action).to.equal("updated");
    expect(result.pages).to.equal(3);
    expect(gh.comments).to.have.length(251);
    const gets = gh.requests.filter((r) => r.method === "GET").map((r) => r.url);
    expect(gets[0]).to.equal("/repos/acme/infra/issues/42/comments?per_page=100");
    expect(gets.slice(1)).to.deep.equal(["/repos/acme/infra/issues/42/comments?per_page=100&page=2", "/repos/acme/infra/issues/42/comments?per_page=100&page=3"]);
  });

  it("reads every page before deciding to create (no duplicate when the marker is on the last page)", async () => {
    gh.perPageCap = 10;
    gh.seed(35);
    await upsert(`${MARKER}\nv1`);
    await upsert(`${MARKER}\nv2`);
    expect(gh.comments.filter((c) => c.body.startsWith(MARKER))).to.have.length(1);
    expect(gh.comments.at(-1)!.body).to.equal(`${MARKER}\nv2`);
  });

  it("ignores comments that only mention the marker text further down", async () => {
    gh.seed(1, () => `quoting: ${MARKER}`);
    const result = await upsert(`${MARKER}\nbody`);
    expect(result.action).to.equal("created");
    expect(gh.comments[0].body).to.equal(`quoting: ${MARKER}`);
  });

  it("explains a 403 (missing permission or a fork's read-only token)", async () => {
    gh.forceStatus = 403;
    let caught: unknown;
    try {
      await upsert(`${MARKER}\nbody`);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(GitHubApiError);
    expect((caught as GitHubApiError).status).to.equal(403);
    expect((caught as Error).message).to.include("pull-requests: write").and.include("forks").and.include("Resource not accessible by integration");
    expect((caught as Error).message).not.to.include("test-token");
  });

  it("refuses without a token and never calls the API", async () => {
    let caught: unknown;
    try {
      await upsertPullRequestComment({ token: "", pr: { repo: "acme/infra", number: 42 }, marker: MARKER, body: `${MARKER}\nx`, apiUrl: gh.url });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.include("GITHUB_TOKEN");
    expect(gh.requests).to.have.length(0);
  });
});

describe("pagination links", () => {
  const api = new URL("https://api.github.com");
  it("picks rel=next among several relations", () => {
    expect(nextLink('<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next"', api)).to.equal("https://api.github.com/x?page=3");
    expect(nextLink('<https://api.github.com/x?page=3>; rel="last"', api)).to.equal(undefined);
    expect(nextLink(undefined, api)).to.equal(undefined);
  });
  it("will not send the token to another host", () => {
    expect(() => nextLink('<https://evil.example/x?page=2>; rel="next"', api)).to.throw(/another host/);
  });
});

describe("which pull request", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "gh-event-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads GITHUB_REPOSITORY and the event payload's pull_request.number", () => {
    const event = path.join(dir, "event.json");
    fs.writeFileSync(event, JSON.stringify({ action: "synchronize", number: 7, pull_request: { number: 7 } }));
    expect(resolvePullRequest({}, { GITHUB_REPOSITORY: "acme/infra", GITHUB_EVENT_PATH: event })).to.deep.equal({ repo: "acme/infra", number: 7 });
  });

  it("prefers flags over the environment", () => {
    expect(resolvePullRequest({ repo: "o/r", pr: "12" }, { GITHUB_REPOSITORY: "acme/infra" })).to.deep.equal({ repo: "o/r", number: 12 });
  });

  it("says what is missing on a push event or with a bad flag", () => {
    const event = path.join(dir, "push.json");
    fs.writeFileSync(event, JSON.stringify({ ref: "refs/heads/main" }));
    expect(() => resolvePullRequest({}, { GITHUB_REPOSITORY: "acme/infra", GITHUB_EVENT_PATH: event })).to.throw(/no pull request/);
    expect(() => resolvePullRequest({ pr: "12abc" }, { GITHUB_REPOSITORY: "acme/infra" })).to.throw(/invalid pull request number/);
    expect(() => resolvePullRequest({ repo: "../etc", pr: "1" }, {})).to.throw(/invalid repository/);
  });
});
