// The local Python worker behind its Lambda Runtime API, with the machine's python3 and tiny handlers
// (no dependencies): events in and results out as Lambda's runtime hands them, an import failure and a
// Python that cannot be started both end the start with the reason (and leave nothing waiting).
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { expect } from "chai";
import { startPythonFunction } from "../../automation/local/python-worker";

const PYTHON = "python3";
const havePython = spawnSync(PYTHON, ["--version"]).status === 0;

const context = (id: string): Context =>
  ({ awsRequestId: id, invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:local-test", getRemainingTimeInMillis: () => 5_000 }) as unknown as Context;

describe("local Python worker (Runtime API)", function () {
  this.timeout(30_000);
  let taskRoot: string;
  before(function () {
    if (!havePython) this.skip(); // python3 is not installed on this machine
    taskRoot = fs.mkdtempSync(path.join(os.tmpdir(), "python-worker-"));
    fs.writeFileSync(path.join(taskRoot, "echo.py"), [
      "import json, os",
      "def handler(event, context):",
      "    body = {'path': event['path'], 'function': context.function_name, 'request': context.aws_request_id,",
      "            'deadline_ahead': context.get_remaining_time_in_millis() > 0, 'greeting': os.environ.get('GREETING')}",
      "    return {'statusCode': 200, 'headers': {'Content-Type': 'application/json'}, 'body': json.dumps(body)}",
      "",
    ].join("\n"));
    fs.writeFileSync(path.join(taskRoot, "broken.py"), "raise RuntimeError('no config')\n");
  });
  after(() => taskRoot && fs.rmSync(taskRoot, { recursive: true, force: true }));

  it("hands each event to the handler with a Lambda context and returns its result", async () => {
    const fn = await startPythonFunction({ taskRoot, handler: "echo.handler", functionName: "local-test", python: PYTHON, env: { GREETING: "hola" } });
    try {
      const results = await Promise.all(["/a", "/b"].map((p, i) => fn.handler({ path: p } as APIGatewayProxyEvent, context(`req-${i}`))));
      expect(results.map((r) => JSON.parse(r.body))).to.deep.equal([
        { path: "/a", function: "local-test", request: "req-0", deadline_ahead: true, greeting: "hola" },
        { path: "/b", function: "local-test", request: "req-1", deadline_ahead: true, greeting: "hola" },
      ]);
    } finally {
      await fn.stop();
    }
  });

  it("an import failure ends the start with the error the handler module raised", async () => {
    const err = await startPythonFunction({ taskRoot, handler: "broken.handler", functionName: "local-test", python: PYTHON, env: {} }).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/local-test could not start: RuntimeError: no config/);
  });

  it("a Python that cannot be started ends the start with the reason instead of waiting for it", async () => {
    const missing = path.join(taskRoot, "no-such-python");
    const err = await startPythonFunction({ taskRoot, handler: "echo.handler", functionName: "local-test", python: missing, env: {} }).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.include(`cannot start ${missing}`);
  });
});
