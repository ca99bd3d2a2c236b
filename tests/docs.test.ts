// The README and docs/ stay true: every driver command they show parses with the CLI's real flags
// (the same parser as automation/cli.ts), every `npm run` script exists, and every repository path or
// link they name is there.
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../automation/shared/paths";
import { expectDriverCallsParse, shellWords } from "./support/cli-calls";

function docFiles(): string[] {
  const docs = path.join(REPO_ROOT, "docs");
  const inDocs = fs.existsSync(docs) ? fs.readdirSync(docs).filter((f) => f.endsWith(".md")).map((f) => path.posix.join("docs", f)) : [];
  return ["README.md", ...inDocs.sort()];
}

const read = (file: string): string => fs.readFileSync(path.join(REPO_ROOT, file), "utf8");

/**
 * Lines of the fenced shell blocks (```sh, ```bash, ```shell, ```console) that run in this repository:
 * continuation lines joined, comments dropped, and a block's lines after a `cd` elsewhere left out.
 */
export function shellLines(markdown: string): string[] {
  const out: string[] = [];
  for (const block of markdown.matchAll(/^```(?:sh|bash|shell|console)\n([\s\S]*?)^```/gm)) {
    const joined = block[1].replace(/\s*\\\n\s*/g, " ");
    for (const raw of joined.split("\n")) {
      const line = raw.replace(/^\$\s+/, "").replace(/\s+#.*$/, "").trim();
      if (!line || line.startsWith("#")) continue;
      if (/(^|&&\s*)cd\s+(?!"?\$d"?)/.test(line)) break; // the rest of the block runs in another checkout
      out.push(line);
    }
  }
  return out;
}

/** Repository paths named in backticks: `automation/cli.ts`, `stacks/`, `handlers/contract/routes.ts`, … */
export function repoPathsIn(markdown: string): string[] {
  const roots = ["automation", "stacks", "handlers", "tests", "policy", "bench", "docs", ".github", ".ci"];
  const found = new Set<string>();
  for (const m of markdown.matchAll(/`([^`\s]+)`/g)) {
    const token = m[1].replace(/[:,;.]+$/, "");
    if (!roots.some((r) => token.startsWith(`${r}/`))) continue;
    if (/[*{}<>$]/.test(token)) continue; // globs and placeholders
    found.add(token);
  }
  return [...found];
}

describe("README and docs/", () => {
  const files = docFiles();
  const scripts = Object.keys(JSON.parse(read("package.json")).scripts as Record<string, string>);

  it("reads the README and every docs page", () => {
    expect(files).to.include("README.md");
    expect(shellLines(read("README.md")).length).to.be.greaterThan(0);
  });

  it("finds shell lines and paths the way a reader sees them (the checker itself)", () => {
    const sample = "```sh\n$ npx tsx automation/cli.ts smoke \\\n  --url http://x   # comment\nnpm run serve\n```\nsee `stacks/api.ts`, `tests/**/*.ts` and `automation/shared/`.";
    expect(shellLines(sample)).to.deep.equal(["npx tsx automation/cli.ts smoke --url http://x", "npm run serve"]);
    expect(repoPathsIn(sample)).to.deep.equal(["stacks/api.ts", "automation/shared/"]);
  });

  for (const file of docFiles()) {
    describe(file, () => {
      it("every driver command it shows parses with that command's real flags", async () => {
        await expectDriverCallsParse(shellLines(read(file)), file);
      });

      it("every npm script it runs exists", () => {
        for (const line of shellLines(read(file))) {
          for (const segment of line.split(/&&|\|\||;|\|/)) {
            const words = shellWords(segment.trim());
            const npm = words.indexOf("npm");
            if (npm < 0) continue;
            const [verb, name] = [words[npm + 1], words[npm + 2]];
            if (verb === "run" && name) expect(scripts, `${file}: npm run ${name}`).to.include(name);
            if (verb === "start" || verb === "test") expect(scripts, `${file}: npm ${verb}`).to.include(verb);
          }
        }
      });

      it("every repository path and relative link it names exists", () => {
        const text = read(file);
        const base = path.posix.dirname(file);
        const missing = repoPathsIn(text).filter((p) => !fs.existsSync(path.join(REPO_ROOT, p)));
        for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
          const target = m[1];
          if (/^[a-z]+:/i.test(target)) continue;
          if (!fs.existsSync(path.join(REPO_ROOT, base, target))) missing.push(`link ${target}`);
        }
        expect(missing, file).to.deep.equal([]);
      });
    });
  }
});
