import { expect } from "chai";
import { buildPreviewDiff, COMMENT_CAP, countsLine, previewMarker, renderPreviewMarkdown, urnName } from "../../automation/engine/diff";
import { createsOnly, hostingTornDown, largePreview, mixedChanges, PROJECT, STACK, urn } from "../fixtures/engine-events";

describe("preview diff from engine events", () => {
  it("lists created resources, leaving out the stack and the default provider", () => {
    const diff = buildPreviewDiff(createsOnly());
    expect(diff.changes.map((c) => `${c.op} ${c.name}`)).to.have.members(["create people", "create projects", "create api", "create frontend"]);
    expect(diff.counts).to.deep.equal({ create: 4 });
    expect(diff.changes.every((c) => !c.destructive)).to.equal(true);
    expect(diff.engineSummary).to.deep.equal({ create: 4 });
  });

  it("collapses a replacement's three engine steps into one destructive row with the keys that force it", () => {
    const diff = buildPreviewDiff(mixedChanges());
    const people = diff.changes.filter((c) => c.name === "people");
    expect(people).to.have.length(1);
    expect(people[0].op).to.equal("replace");
    expect(people[0].destructive).to.equal(true);
    expect(people[0].replaceKeys).to.deep.equal(["hashKey"]);
    expect(people[0].properties.map((p) => `${p.path}:${p.kind}`)).to.deep.equal(["hashKey:update-replace", "tags.team:update"]);
  });

  it("counts every operation, same included, and agrees with the engine's summary", () => {
    const diff = buildPreviewDiff(mixedChanges());
    expect(diff.counts).to.deep.equal({ same: 2, update: 1, replace: 1, delete: 1, create: 1 });
    expect(countsLine(diff.counts)).to.equal("1 to delete · 1 to replace · 1 to update · 1 to create · 2 unchanged");
  });

  it("orders changes most dangerous first: deletes, replacements, updates, creates", () => {
    const ops = buildPreviewDiff(mixedChanges()).changes.map((c) => c.op);
    expect(ops).to.deep.equal(["delete", "replace", "update", "create"]);
  });

  it("uses detailedDiff keys for updates and falls back to diffs without them", () => {
    const api = buildPreviewDiff(mixedChanges()).changes.find((c) => c.name === "api")!;
    expect(api.properties.map((p) => p.path)).to.deep.equal(["memorySize", "environment.variables.LOG_LEVEL"]);
    const events = mixedChanges();
    delete events.find((e) => e.resourcePreEvent?.metadata.type === "aws:lambda/function:Function")!.resourcePreEvent!.metadata.detailedDiff;
    const fallback = buildPreviewDiff(events).changes.find((c) => c.name === "api")!;
    expect(fallback.properties).to.deep.equal([
      { path: "memorySize", kind: "changed" },
      { path: "environment", kind: "changed" },
    ]);
  });

  it("collects diagnostics without colour codes, and policy violations with their enforcement level", () => {
    const diff = buildPreviewDiff(mixedChanges());
    expect(diff.diagnostics.map((d) => d.severity)).to.deep.equal(["warning", "info", "error"]);
    expect(diff.diagnostics[1].message).to.equal("built 2 bundles");
    expect(diff.policies).to.have.length(2);
    expect(diff.policies[0]).to.include({ policyName: "dynamodb-pitr", enforcementLevel: "mandatory", policyPack: "people-register-guardrails" });
    expect(urnName(diff.policies[0].urn!)).to.equal("people");
  });

  it("flags protected resources that are deleted", () => {
    const bucket = buildPreviewDiff(hostingTornDown()).changes.find((c) => c.name === "frontend")!;
    expect(bucket).to.include({ op: "delete", protect: true, destructive: true });
  });

  it("takes the name from the last URN segment, even for names with slashes", () => {
    expect(urnName(urn("aws:s3/bucketObject:BucketObject", "frontend/index.html"))).to.equal("frontend/index.html");
  });
});

describe("preview Markdown", () => {
  const opts = { project: PROJECT, stack: STACK };

  it("starts with the hidden marker naming project and stack, then the counts", () => {
    const md = renderPreviewMarkdown(buildPreviewDiff(mixedChanges()), opts);
    const lines = md.split("\n");
    expect(lines[0]).to.equal(previewMarker(PROJECT, STACK)).and.to.equal("<!-- people-register-preview:people-register/prod -->");
    expect(md).to.include("**1 to delete · 1 to replace · 1 to update · 1 to create · 2 unchanged**");
    expect(md).to.include("> ⚠️ 2 resources will be replaced or deleted.");
    expect(md).to.include("> ⛔ 1 mandatory policy violation.");
  });

  it("renders a table row per change with properties and replacement reasons, in collapsible details", () => {
    const md = renderPreviewMarkdown(buildPreviewDiff(mixedChanges()), opts);
    expect(md).to.match(/<details open><summary>4 resource changes<\/summary>/);
    expect(md).to.include("| 🟣 replace | `people` | `aws:dynamodb/table:Table` | `hashKey` ⚠ forces replacement, `tags.team` |");
    expect(md).to.include("| 🟡 update | `api` | `aws:lambda/function:Function` | `memorySize`, `environment.variables.LOG_LEVEL` (add) |");
    expect(md).to.include("| 🔴 delete | `old-api-logs` |");
    expect(md).to.include("<details open><summary>Policy violations (2)</summary>");
    expect(md).to.include("<details><summary>Diagnostics (3)</summary>");
  });

  it("keeps engine text from breaking out of its block (pipes, HTML, fences)", () => {
    const md = renderPreviewMarkdown(buildPreviewDiff(mixedChanges()), opts);
    const detailsOpen = (md.match(/<details/g) ?? []).length;
    const detailsClose = (md.match(/<\/details>/g) ?? []).length;
    // The message's own "</details>" sits inside a fenced block; only the renderer's tags count.
    expect(detailsClose - 1).to.equal(detailsOpen);
    const fence = md.indexOf("```text\nreplacing table people");
    expect(fence).to.be.greaterThan(-1);
    expect(md.slice(fence)).to.include("''' fences\n```");
  });

  it("says so when there is nothing to change", () => {
    const md = renderPreviewMarkdown(buildPreviewDiff([mixedChanges()[0]]), opts);
    expect(md).to.include("**no resources**");
    expect(md).to.include("No changes.");
    expect(md).not.to.include("<details");
  });

  it("caps a 3,000-resource preview under GitHub's comment limit, keeping marker, counts and the riskiest rows", () => {
    const diff = buildPreviewDiff(largePreview());
    expect(diff.changes).to.have.length(3001);
    const md = renderPreviewMarkdown(diff, opts);
    expect(md.length).to.be.at.most(COMMENT_CAP);
    expect(md.length).to.be.lessThan(65_536);
    expect(md.startsWith(previewMarker(PROJECT, STACK))).to.equal(true);
    expect(md).to.include("**1 to delete · 1000 to update · 2000 to create**");
    // The deletion sorts first, so it is shown even though most rows are cut.
    expect(md).to.include("| 🔴 delete | `sessions` |");
    const shownRows = (md.match(/^\| 🟢 create|^\| 🟡 update/gm) ?? []).length;
    expect(shownRows).to.be.greaterThan(100).and.lessThan(3000);
    expect(md).to.match(new RegExp(`_… ${3000 - shownRows} more changes not shown`));
    expect(md).to.include("50 more diagnostics not shown");
    // Every section that was opened is closed, so the cut leaves valid HTML blocks.
    expect((md.match(/<details/g) ?? []).length).to.equal((md.match(/<\/details>/g) ?? []).length);
  });

  it("honours a smaller cap and still keeps the counts", () => {
    const md = renderPreviewMarkdown(buildPreviewDiff(largePreview(200)), { ...opts, cap: 2_000 });
    expect(md.length).to.be.at.most(2_000);
    expect(md).to.include("to create");
    expect(md).to.include("not shown");
  });

  it("shows notices (e.g. the guard's verdict) right after the counts", () => {
    const md = renderPreviewMarkdown(buildPreviewDiff(hostingTornDown()), { ...opts, notices: ["> ⛔ guard says no"] });
    expect(md.indexOf("> ⛔ guard says no")).to.be.lessThan(md.indexOf("<details"));
    expect(md).to.include("🔴 delete (protected) | `frontend`");
  });
});
