// One snapshot of the whole resource graph (types, names, options, inputs), so any change to what the
// program deploys shows up in review. Rewrite it with: UPDATE_SNAPSHOTS=1 npx mocha tests/stacks/snapshot.test.ts
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { GOOD_SECRETS, baseConfig, isWireSecret, removeRepo, runProgram, tempRepo, type Registered } from "./harness";

const SNAPSHOT = path.join(__dirname, "__snapshots__", "resource-graph.json");

async function normalize(value: any, repo: string): Promise<any> {
  if (value && typeof value === "object" && value.__pulumiArchive) {
    if (value.path !== undefined) return { fileArchive: await normalize(await value.path, repo) };
    const assets = await value.assets;
    return { assetArchive: Object.keys(assets).sort() };
  }
  if (value && typeof value === "object" && value.__pulumiAsset) {
    return { fileAsset: await normalize(await value.path, repo) };
  }
  if (typeof value === "string") {
    if (value === GOOD_SECRETS.jwtSecret || value === GOOD_SECRETS.csrfSecret) return "[secret]";
    const replaced = value.split(repo).join("<repo>");
    // JSON documents (OpenAPI body, IAM and bucket policies, log formats) are snapshotted as structure.
    if (/^\s*[{[]/.test(replaced)) {
      try {
        return await normalize(JSON.parse(replaced), repo);
      } catch {
        return replaced;
      }
    }
    return replaced;
  }
  if (Array.isArray(value)) return Promise.all(value.map((v) => normalize(v, repo)));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = await normalize(value[key], repo);
    return out;
  }
  return value;
}

/** Input paths the engine receives as secrets (so a secret turning plain shows in review). */
function secretPaths(value: unknown, at = ""): string[] {
  if (isWireSecret(value)) return [at || "."];
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => secretPaths(v, at ? `${at}.${k}` : k)).sort();
  }
  return [];
}

async function graph(resources: Registered[], repo: string): Promise<unknown[]> {
  const entries = await Promise.all(resources.map(async (r) => ({
    type: r.type,
    name: r.name,
    parent: r.parentType || null,
    ...(r.protect ? { protect: true } : {}),
    ...(r.retainOnDelete ? { retainOnDelete: true } : {}),
    ...(r.aliases.length ? { aliases: r.aliases } : {}),
    ...(r.importId ? { import: r.importId } : {}),
    ...(r.ignoreChanges.length ? { ignoreChanges: r.ignoreChanges } : {}),
    ...(secretPaths(r.wire).length ? { secretInputs: secretPaths(r.wire) } : {}),
    inputs: await normalize(r.inputs, repo),
  })));
  const key = (e: { type: string; name: string; parent: string | null }) => `${e.parent ?? ""} ${e.type} ${e.name}`;
  return entries.sort((a, b) => key(a).localeCompare(key(b)));
}

describe("stacks: resource graph snapshot", function () {
  this.timeout(60_000);
  it("matches the reviewed snapshot", async () => {
    const repo = tempRepo();
    try {
      const result = await runProgram({ repoRoot: repo, config: baseConfig({ alarmEmail: "ops@example.org" }) });
      const actual = JSON.stringify(await graph(result.resources, repo), null, 2) + "\n";
      expect(actual).to.not.contain(GOOD_SECRETS.jwtSecret);
      if (process.env.UPDATE_SNAPSHOTS === "1") {
        fs.mkdirSync(path.dirname(SNAPSHOT), { recursive: true });
        fs.writeFileSync(SNAPSHOT, actual);
      }
      if (!fs.existsSync(SNAPSHOT)) throw new Error(`no snapshot at ${SNAPSHOT}: run UPDATE_SNAPSHOTS=1 npx mocha tests/stacks/snapshot.test.ts`);
      const expected = fs.readFileSync(SNAPSHOT, "utf8");
      // Compare as data for a readable diff; the text comparison catches ordering changes too.
      expect(JSON.parse(actual)).to.deep.equal(JSON.parse(expected), "resource graph changed: review, then UPDATE_SNAPSHOTS=1");
      expect(actual).to.equal(expected);
    } finally {
      removeRepo(repo);
    }
  });
});
