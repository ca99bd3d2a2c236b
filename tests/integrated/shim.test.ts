// Runs the Python tests of the integrated shim (tests/integrated/test_*.py) with the machine's python3.
// Mangum cannot be installed here (PyPI is unreachable), so they use a stand-in mangum module and small
// stand-in ASGI apps; see the docstring of test_integrated_api_handler.py.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect } from "chai";

const HERE = __dirname;
const havepython = spawnSync("python3", ["--version"]).status === 0;

describe("integrated shim (python3 unittest)", function () {
  this.timeout(60_000);

  it("serves the synced app via Mangum with lifespan off, imports once, answers 503 when the import fails", function () {
    if (!havepython) this.skip(); // python3 is not installed on this machine
    const run = spawnSync("python3", ["-m", "unittest", "discover", "-s", HERE, "-p", "test_*.py", "-v"], {
      cwd: path.resolve(HERE, "../.."),
      encoding: "utf8",
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).to.equal(0);
    // Every test ran (none skipped silently: a skip makes the last line "OK (skipped=…)").
    expect(output).to.match(/Ran \d+ tests/);
    expect(output).to.match(/\nOK\s*$/);
  });
});
