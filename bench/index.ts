// `npm run bench`: every benchmark module prints its figures (ratios against a baseline measured in
// the same run). Figures are printed, never asserted: these machines are shared and noisy.
// Pick modules with arguments: `npm run bench -- handlers`; `--cold-only` runs only the handlers'
// bundle sizes and cold starts (a quick check while cutting cold-start time).
export interface BenchOptions {
  coldOnly?: boolean;
}

const BENCHES: Record<string, () => { run(opts: BenchOptions): Promise<void> }> = {
  handlers: () => require("./handlers"),
  driver: () => require("./driver"),
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opts: BenchOptions = { coldOnly: args.includes("--cold-only") };
  const unknown = args.filter((a) => a.startsWith("--") && a !== "--cold-only");
  if (unknown.length) throw new Error(`unknown option ${unknown.join(", ")} (have: --cold-only)`);
  const wanted = args.filter((a) => !a.startsWith("--"));
  for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
    const load = BENCHES[name];
    if (!load) throw new Error(`unknown benchmark "${name}" (have: ${Object.keys(BENCHES).join(", ")})`);
    process.stdout.write(`\n## ${name}\n`);
    await load().run(opts);
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
