// One PR comment per project and stack, kept up to date: found by its hidden marker among ALL the PR's
// comments (every page), updated when present, created otherwise. GitHub REST API over undici.
import * as fs from "node:fs";
import { request } from "undici";

export const DEFAULT_GITHUB_API = "https://api.github.com";
const PER_PAGE = 100;
/** 100 pages × 100 comments: far beyond any real PR, and a bound on a misbehaving server. */
const MAX_PAGES = 100;
const TIMEOUT_MS = 30_000;

export class GitHubApiError extends Error {
  override name = "GitHubApiError";
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export interface PullRequestRef {
  /** `owner/name`. */
  repo: string;
  number: number;
}

/**
 * The PR to comment on: flags first, else GitHub Actions' environment (GITHUB_REPOSITORY and the event
 * payload's `pull_request.number` from GITHUB_EVENT_PATH).
 */
export function resolvePullRequest(flags: { repo?: string; pr?: string }, env: NodeJS.ProcessEnv): PullRequestRef {
  const repo = flags.repo ?? env.GITHUB_REPOSITORY;
  if (!repo) throw new GitHubApiError("no repository: pass --repo OWNER/NAME or run in GitHub Actions (GITHUB_REPOSITORY)");
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repo) || repo.split("/").some((part) => /^\.+$/.test(part))) throw new GitHubApiError(`invalid repository "${repo}" (expected OWNER/NAME)`);
  let number: number | undefined;
  if (flags.pr !== undefined) {
    if (!/^[1-9]\d{0,9}$/.test(flags.pr)) throw new GitHubApiError(`invalid pull request number "${flags.pr}"`);
    number = Number(flags.pr);
  } else if (env.GITHUB_EVENT_PATH) {
    let event: { pull_request?: { number?: unknown }; number?: unknown };
    try {
      event = JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH, "utf8"));
    } catch (err) {
      throw new GitHubApiError(`cannot read the event payload ${env.GITHUB_EVENT_PATH}: ${(err as Error).message}`);
    }
    const n = event.pull_request?.number;
    if (typeof n === "number" && Number.isInteger(n) && n > 0) number = n;
  }
  if (number === undefined) throw new GitHubApiError("no pull request: pass --pr N or run on a pull_request event (GITHUB_EVENT_PATH)");
  return { repo, number };
}

export interface UpsertOptions {
  token: string;
  pr: PullRequestRef;
  /** The hidden marker that identifies the comment; must be the body's first line. */
  marker: string;
  body: string;
  /** GITHUB_API_URL (GitHub Enterprise, or a local server in tests). */
  apiUrl?: string;
  signal?: AbortSignal;
}

export interface UpsertResult {
  action: "created" | "updated";
  id: number;
  url: string | null;
  /** Comment pages read to find the marker. */
  pages: number;
}

interface IssueComment {
  id: number;
  body?: string | null;
  html_url?: string;
}

export async function upsertPullRequestComment(opts: UpsertOptions): Promise<UpsertResult> {
  if (!opts.token) throw new GitHubApiError("GITHUB_TOKEN is not set: the comment needs a token with pull-requests: write (or issues: write)");
  if (!opts.body.startsWith(opts.marker)) throw new Error("the comment body must start with its marker");
  const api = new URL(opts.apiUrl || DEFAULT_GITHUB_API);
  const base = api.href.replace(/\/+$/, "");
  const repoPath = `/repos/${opts.pr.repo}`;

  let next: string | undefined = `${base}${repoPath}/issues/${opts.pr.number}/comments?per_page=${PER_PAGE}`;
  let existing: IssueComment | undefined;
  let pages = 0;
  while (next && !existing) {
    if (++pages > MAX_PAGES) throw new GitHubApiError(`more than ${MAX_PAGES} pages of comments on ${opts.pr.repo}#${opts.pr.number}`);
    const res: { json: unknown; link: string | undefined } = await call(requestOf(opts), "GET", next);
    if (!Array.isArray(res.json)) throw new GitHubApiError("unexpected response listing comments (not an array)");
    existing = (res.json as IssueComment[]).find((c) => typeof c.body === "string" && c.body.startsWith(opts.marker));
    next = nextLink(res.link, api);
  }

  const payload = JSON.stringify({ body: opts.body });
  const saved = existing
    ? await call(requestOf(opts), "PATCH", `${base}${repoPath}/issues/comments/${existing.id}`, payload)
    : await call(requestOf(opts), "POST", `${base}${repoPath}/issues/${opts.pr.number}/comments`, payload);
  const comment = saved.json as IssueComment;
  if (typeof comment?.id !== "number") throw new GitHubApiError("unexpected response saving the comment (no id)");
  return { action: existing ? "updated" : "created", id: comment.id, url: comment.html_url ?? null, pages };
}

export interface IssueUpsertOptions {
  token: string;
  /** `owner/name`. */
  repo: string;
  /** The hidden marker that identifies the issue; must be the body's first line. */
  marker: string;
  title: string;
  body: string;
  apiUrl?: string;
  signal?: AbortSignal;
}

interface Issue {
  number: number;
  body?: string | null;
  html_url?: string;
  pull_request?: unknown;
}

/** One open issue per marker (e.g. drift on prod): updated when open, created otherwise. */
export async function upsertIssue(opts: IssueUpsertOptions): Promise<{ action: "created" | "updated"; number: number; url: string | null }> {
  if (!opts.token) throw new GitHubApiError("GITHUB_TOKEN is not set: the issue needs a token with issues: write");
  if (!opts.body.startsWith(opts.marker)) throw new Error("the issue body must start with its marker");
  const api = new URL(opts.apiUrl || DEFAULT_GITHUB_API);
  const base = api.href.replace(/\/+$/, "");
  const req = { token: opts.token, signal: opts.signal, where: opts.repo };
  let next: string | undefined = `${base}/repos/${opts.repo}/issues?state=open&per_page=${PER_PAGE}`;
  let existing: Issue | undefined;
  for (let pages = 1; next && !existing; pages++) {
    if (pages > MAX_PAGES) throw new GitHubApiError(`more than ${MAX_PAGES} pages of open issues on ${opts.repo}`);
    const res: { json: unknown; link: string | undefined } = await call(req, "GET", next);
    if (!Array.isArray(res.json)) throw new GitHubApiError("unexpected response listing issues (not an array)");
    // The issues list includes pull requests; only a real issue carrying the marker counts.
    existing = (res.json as Issue[]).find((i) => !i.pull_request && typeof i.body === "string" && i.body.startsWith(opts.marker));
    next = nextLink(res.link, api);
  }
  const payload = JSON.stringify({ title: opts.title, body: opts.body });
  const saved = existing
    ? await call(req, "PATCH", `${base}/repos/${opts.repo}/issues/${existing.number}`, payload)
    : await call(req, "POST", `${base}/repos/${opts.repo}/issues`, payload);
  const issue = saved.json as Issue;
  if (typeof issue?.number !== "number") throw new GitHubApiError("unexpected response saving the issue (no number)");
  return { action: existing ? "updated" : "created", number: issue.number, url: issue.html_url ?? null };
}

interface ApiRequest {
  token: string;
  signal?: AbortSignal;
  /** What the call is about, for error messages (`owner/name#42`). */
  where: string;
}

const requestOf = (opts: UpsertOptions): ApiRequest => ({ token: opts.token, signal: opts.signal, where: `${opts.pr.repo}#${opts.pr.number}` });

/** The `rel="next"` URL of a Link header; only followed on the API's own origin (the token goes with it). */
export function nextLink(header: string | undefined, api: URL): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(",")) {
    const m = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (!m || !m[2].split(/\s+/).includes("next")) continue;
    const url = new URL(m[1], api);
    if (url.origin !== api.origin) throw new GitHubApiError(`refusing to follow a pagination link to another host (${url.origin})`);
    return url.href;
  }
  return undefined;
}

async function call(opts: ApiRequest, method: "GET" | "POST" | "PATCH", url: string, body?: string): Promise<{ json: unknown; link: string | undefined }> {
  let res;
  try {
    res = await request(url, {
      method,
      headers: {
        accept: "application/vnd.github+json",
        authorization: `Bearer ${opts.token}`,
        "x-github-api-version": "2022-11-28",
        "user-agent": "people-register-driver",
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body,
      signal: opts.signal,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
  } catch (err) {
    throw new GitHubApiError(`GitHub API ${method} ${redact(url)} failed: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode >= 400) throw new GitHubApiError(explain(res.statusCode, method, url, text, opts.where), res.statusCode);
  const link = res.headers.link;
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new GitHubApiError(`GitHub API ${method} ${redact(url)}: response is not JSON`);
  }
  return { json, link: Array.isArray(link) ? link.join(",") : link };
}

function explain(status: number, method: string, url: string, text: string, where: string): string {
  let apiMessage = "";
  try {
    apiMessage = String((JSON.parse(text) as { message?: unknown }).message ?? "");
  } catch {
    apiMessage = text.slice(0, 200);
  }
  if (status === 401) return `GitHub rejected the token (401) while commenting on ${where}: check GITHUB_TOKEN`;
  if (status === 403) {
    return `GitHub refused to let this token comment on ${where} (403${apiMessage ? `: ${apiMessage}` : ""}). Give the workflow \`permissions: pull-requests: write\`; on pull requests from forks the token is read-only, so the comment cannot be posted there (the Markdown is still in the job summary).`;
  }
  if (status === 404) return `GitHub: ${where} not found (404), or the token cannot see it`;
  return `GitHub API ${method} ${redact(url)} answered ${status}${apiMessage ? `: ${apiMessage}` : ""}`;
}

function redact(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** Append Markdown to the GitHub Actions job summary when running there ($GITHUB_STEP_SUMMARY). */
export function appendStepSummary(env: NodeJS.ProcessEnv, markdown: string): boolean {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return false;
  fs.appendFileSync(file, markdown.endsWith("\n") ? `${markdown}\n` : `${markdown}\n\n`);
  return true;
}
