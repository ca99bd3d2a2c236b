"""Local Lambda worker: runs one Python function for the local target the way Lambda's runtime does.

It is a client of the Lambda Runtime API (served by the local target, address in AWS_LAMBDA_RUNTIME_API):
import the handler named by _HANDLER from LAMBDA_TASK_ROOT once (an import failure is posted to
/runtime/init/error), then loop: GET /runtime/invocation/next, call the handler with the event and a
context, POST the result to /runtime/invocation/<id>/response (or the error to .../error).

When `mangum` cannot be imported (it is not in every package index), the worker's own
Lambda-event -> ASGI adapter (local_asgi_adapter.py) is registered under that name first, so the
shim and the app import unchanged. The worker says which one runs on its first line of output.
"""

import importlib
import json
import os
import sys
import time
import traceback
import urllib.request

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = f"http://{API}/2018-06-01/runtime"


def _post(path, payload, headers=None):
    data = json.dumps(payload).encode("utf-8")
    req = urllib.request.Request(f"{BASE}{path}", data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req) as res:
        res.read()


def _error_payload(exc):
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__),
    }


class Context:
    def __init__(self, request_id, deadline_ms, function_arn):
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _adapter():
    try:
        import mangum  # noqa: F401
        return "mangum"
    except ImportError:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import local_asgi_adapter

        sys.modules["mangum"] = local_asgi_adapter
        return "local-asgi-adapter"


def main():
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)
    os.chdir(task_root)
    print(json.dumps({"worker": "ready-to-import", "adapter": _adapter(), "python": sys.version.split()[0]}), flush=True)
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except BaseException as exc:  # noqa: BLE001 - reported to the runtime API as Lambda does
        _post("/init/error", _error_payload(exc), {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"})
        raise SystemExit(1)
    while True:
        with urllib.request.urlopen(f"{BASE}/invocation/next") as res:
            request_id = res.headers["Lambda-Runtime-Aws-Request-Id"]
            deadline = int(res.headers.get("Lambda-Runtime-Deadline-Ms", "0"))
            arn = res.headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
            event = json.loads(res.read() or b"null")
        try:
            result = handler(event, Context(request_id, deadline, arn))
            _post(f"/invocation/{request_id}/response", result)
        except Exception as exc:  # noqa: BLE001 - a failed invocation, as Lambda reports it
            traceback.print_exc()
            _post(f"/invocation/{request_id}/error", _error_payload(exc), {"Lambda-Runtime-Function-Error-Type": "Unhandled"})


if __name__ == "__main__":
    main()
