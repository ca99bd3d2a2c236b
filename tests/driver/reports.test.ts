// deployment-summary.json: the old fields, kept, plus resource changes and metadata; URLs without trailing slashes.
import { expect } from "chai";
import { buildDeploymentSummary, normaliseApiUrl } from "../../automation/verify/reports";

const context = { deployment_type: "api_sync", api_sync_detected: true, execution_mode: "deployment", trigger_type: "push", branch: "main" };
const base = {
  context,
  successful: true,
  stackStatus: "succeeded" as const,
  startedAt: new Date("2026-03-01T12:00:00.000Z"),
  finishedAt: new Date("2026-03-01T12:01:05.250Z"),
  outputs: { apiUrl: "https://id.execute-api.eu-west-1.amazonaws.com/prod/", frontendUrl: "https://d1.cloudfront.net/", bucket: "people-frontend" },
  handlerUsed: "integrated" as const,
  resourceChanges: { create: 3, update: 1, same: 40 },
  stack: "prod",
  region: "eu-west-1",
  pulumiVersion: "3.248.0",
  target: "aws" as const,
};

describe("deployment summary", () => {
  it("keeps every field the old pipeline wrote, with the new ones", () => {
    const s = buildDeploymentSummary(base);
    expect(s).to.deep.equal({
      deployment_successful: true,
      deployment_type: "api_sync",
      api_sync_detected: true,
      timestamp: "2026-03-01T12:01:05.250Z",
      execution_mode: "deployment",
      trigger_type: "push",
      branch_name: "main",
      deployment_duration: 65.3,
      outputs: { api_url: "https://id.execute-api.eu-west-1.amazonaws.com/prod", frontend_url: "https://d1.cloudfront.net", s3_bucket: "people-frontend" },
      handler_used: "integrated",
      handler_selected: "integrated",
      handler_note: null,
      stack_status: "succeeded",
      resource_changes: { create: 3, update: 1, same: 40 },
      deployment_metadata: { stack: "prod", region: "eu-west-1", pulumi_version: "3.248.0", target: "aws", start: "2026-03-01T12:00:00.000Z", end: "2026-03-01T12:01:05.250Z" },
      live_versions: null,
    });
    expect(buildDeploymentSummary({ ...base, liveVersions: { api: "7", auth: "3" } }).live_versions).to.deep.equal({ api: "7", auth: "3" });
  });

  it("is never successful unless the stack update succeeded", () => {
    expect(buildDeploymentSummary({ ...base, stackStatus: "failed" }).deployment_successful).to.equal(false);
    expect(buildDeploymentSummary({ ...base, successful: false }).deployment_successful).to.equal(false);
    expect(buildDeploymentSummary({ ...base, stackStatus: "cancelled", successful: true }).deployment_successful).to.equal(false);
  });

  it("marks a local fallback from the selected handler and keeps only the first line of an error", () => {
    const s = buildDeploymentSummary({
      ...base,
      target: "embedded",
      stack: "local",
      region: null,
      pulumiVersion: null,
      handlerUsed: "enhanced",
      handlerSelected: "integrated",
      handlerNote: "integrated selected, but its Python dependencies cannot be installed here: ran enhanced locally",
      outputs: { apiUrl: "http://127.0.0.1:4010" },
      error: "first line\nsecond line",
    });
    expect(s).to.include({ handler_used: "enhanced", handler_selected: "integrated", error: "first line" });
    expect(s.handler_note).to.match(/ran enhanced locally/);
    expect(s.outputs).to.deep.equal({ api_url: "http://127.0.0.1:4010", frontend_url: null, s3_bucket: null });
    expect(s.deployment_metadata).to.include({ stack: "local", target: "embedded", region: null, pulumi_version: null });
  });

  it("refuses an end before the start", () => {
    expect(() => buildDeploymentSummary({ ...base, finishedAt: new Date("2026-03-01T11:00:00Z") })).to.throw(/before it started/);
  });

  it("strips trailing slashes so <api_url>/health never has a double slash", () => {
    expect(normaliseApiUrl("https://x/prod//")).to.equal("https://x/prod");
    expect(normaliseApiUrl(undefined)).to.equal(null);
    expect(`${normaliseApiUrl("https://x/prod/")}/health`).to.equal("https://x/prod/health");
  });
});
