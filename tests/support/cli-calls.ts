// Driver invocations found in text a user follows (CI workflows, README and docs): recognised, split
// into words, and checked against the command's real flags with the CLI's own parser.
import { expect } from "chai";
import { COMMANDS } from "../../automation/cli";
import { parseCommandArgs } from "../../automation/command";

/** Split a shell line into words (quotes grouped, not expanded). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/** The driver invocation in a line (`npx tsx automation/cli.ts <cmd> …` or `npm run cli -- <cmd> …`), or null. */
export function driverInvocation(line: string): { command: string; args: string[] } | null {
  const words = shellWords(line);
  const cli = words.indexOf("automation/cli.ts");
  if (cli !== -1) return { command: words[cli + 1], args: words.slice(cli + 2) };
  const npm = words.findIndex((w, i) => w === "run" && words[i + 1] === "cli" && words[i - 1] === "npm");
  if (npm !== -1) {
    const rest = words.slice(npm + 2);
    const args = rest[0] === "--" ? rest.slice(1) : rest;
    return { command: args[0], args: args.slice(1) };
  }
  return null;
}

/** Every driver call among `lines` names an existing command and parses with its flags. */
export async function expectDriverCallsParse(lines: readonly string[], where: string): Promise<void> {
  for (const line of lines) {
    const call = driverInvocation(line);
    if (!call) continue;
    const load = COMMANDS[call.command];
    expect(load, `${where}: unknown command "${call.command}" in: ${line}`).to.be.a("function");
    const spec = await load!();
    expect(() => parseCommandArgs(spec, call.args), `${where}: ${line}`).to.not.throw();
  }
}
