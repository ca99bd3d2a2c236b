// `npm run bench`: every benchmark module prints its figures (ratios against a baseline measured in
// the same run). Figures are printed, never asserted: these machines are shared and noisy.
// Pick modules with arguments: `npm run bench -- handlers`.
const BENCHES: Record<string, () => { run(): Promise<void> }> = {
  handlers: () => require("./handlers"),
  driver: () => require("./driver"),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
    const load = BENCHES[name];
    if (!load) throw new Error(`unknown benchmark "${name}" (have: ${Object.keys(BENCHES).join(", ")})`);
    process.stdout.write(`\n## ${name}\n`);
    await load().run();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
