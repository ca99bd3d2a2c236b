// The shape of the tree a newcomer relies on: the Pulumi program never reaches into the CI driver's
// rooms (only into automation/shared), shared modules depend on nothing of the driver's, and no module
// imports itself back through others (type imports count: a cycle is a cycle to the reader too).
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../automation/shared/paths";

const SOURCE_DIRS = ["automation", "stacks", "handlers", "policy", "bench"];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") out.push(...sourceFiles(rel));
    } else if (entry.name.endsWith(".ts")) {
      out.push(rel);
    }
  }
  return out;
}

/** Relative imports of a file (static, `import type`, `export … from`, `require(…)`), resolved to repo paths. */
function importsOf(file: string): string[] {
  // Comments may name modules too; only code counts.
  const text = fs.readFileSync(path.join(REPO_ROOT, file), "utf8").replace(/^\s*\/\*[\s\S]*?\*\//gm, "").replace(/^\s*\/\/.*$/gm, "");
  const specs = [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]);
  return specs.flatMap((spec) => {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    const found = [`${base}.ts`, `${base}/index.ts`, base].find((p) => p.endsWith(".ts") && fs.existsSync(path.join(REPO_ROOT, p)));
    return found ? [found] : [];
  });
}

function graph(): Map<string, string[]> {
  return new Map(SOURCE_DIRS.flatMap(sourceFiles).map((f) => [f, importsOf(f)]));
}

/** Every cycle, each reported once as the path that closes it. */
export function findCycles(edges: Map<string, string[]>): string[][] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

describe("the tree's architecture", () => {
  const edges = graph();

  it("reads the sources it is meant to check", () => {
    expect(edges.size).to.be.greaterThan(100);
    expect(edges.get("stacks/program.ts")).to.include("automation/shared/select.ts");
  });

  it("finds a cycle when there is one (the checker itself)", () => {
    const sample = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
    expect(findCycles(sample)).to.deep.equal([["a", "b", "c", "a"]]);
  });

  it("has no import cycle", () => {
    expect(findCycles(edges).map((c) => c.join(" -> "))).to.deep.equal([]);
  });

  it("the Pulumi program imports from the driver only what it shares with it (automation/shared)", () => {
    const reaching = [...edges]
      .filter(([file]) => file.startsWith("stacks/"))
      .flatMap(([file, deps]) => deps.filter((d) => d.startsWith("automation/") && !d.startsWith("automation/shared/")).map((d) => `${file} -> ${d}`));
    expect(reaching).to.deep.equal([]);
  });

  it("shared modules depend on no room of the driver", () => {
    const reaching = [...edges]
      .filter(([file]) => file.startsWith("automation/shared/"))
      .flatMap(([file, deps]) => deps.filter((d) => d.startsWith("automation/") && !d.startsWith("automation/shared/")).map((d) => `${file} -> ${d}`));
    expect(reaching).to.deep.equal([]);
  });

  it("handlers depend on nothing outside handlers/ (they are bundled on their own)", () => {
    const reaching = [...edges]
      .filter(([file]) => file.startsWith("handlers/"))
      .flatMap(([file, deps]) => deps.filter((d) => !d.startsWith("handlers/")).map((d) => `${file} -> ${d}`));
    expect(reaching).to.deep.equal([]);
  });
});
