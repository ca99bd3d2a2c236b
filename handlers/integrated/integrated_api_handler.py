"""Lambda entry point for a synced registry-api (FastAPI) app: `integrated_api_handler.handler`.

The package prepared by the driver holds the synced `main.py` and `src/` next to this file. At cold
start the app's `src/` goes on the import path, `app` is imported from `main` once and wrapped with
Mangum (lifespan off: Lambda has no shutdown hook to run it). When the import fails the function
answers 503 with a JSON error and logs the cause; it never pretends to be another handler and never
sends a traceback to the client.
"""

import json
import logging
import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
SRC_DIR = os.path.join(PACKAGE_DIR, "src")

logger = logging.getLogger("integrated_api_handler")
if not logging.getLogger().handlers:
    # Outside Lambda (tests, local runs) make sure the cause is visible somewhere.
    logging.basicConfig(level=logging.INFO)

UNAVAILABLE_BODY = json.dumps(
    {"error": "The API application is unavailable", "code": "INTEGRATED_APP_UNAVAILABLE"}
)


def _load_app():
    """Import the ASGI app once. Returns (asgi_handler, None) or (None, reason)."""
    for directory in (SRC_DIR, PACKAGE_DIR):
        if directory not in sys.path:
            sys.path.insert(0, directory)
    try:
        from mangum import Mangum  # noqa: PLC0415 - imported here so a missing dependency is reported, not fatal
        from main import app  # noqa: PLC0415 - the synced registry-api entry point
    except BaseException as exc:  # noqa: BLE001 - SystemExit from an app's import must not kill the runtime either
        if isinstance(exc, KeyboardInterrupt):
            raise
        logger.exception("integrated app import failed: %s: %s", type(exc).__name__, exc)
        return None, f"{type(exc).__name__}: {exc}"
    return Mangum(app, lifespan="off"), None


_asgi_handler, IMPORT_ERROR = _load_app()


def handler(event, context):
    if _asgi_handler is None:
        logger.error("answering 503: the integrated app could not be imported at cold start (%s)", IMPORT_ERROR)
        return {
            "statusCode": 503,
            "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
            "multiValueHeaders": {},
            "isBase64Encoded": False,
            "body": UNAVAILABLE_BODY,
        }
    return _asgi_handler(event, context)
