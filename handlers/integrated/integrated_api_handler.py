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


# --- secrets from SSM Parameter Store -------------------------------------------------------------
# On AWS the function's environment holds only parameter names (JWT_SECRET_PARAMETER, ...), never a
# secret. The synced app reads plain variables (JWT_SECRET, ...), so before it is imported each
# <NAME>_PARAMETER is read (SecureString, decrypted) into <NAME> in this process's environment. Locally
# the values are set directly and nothing is read. When a parameter cannot be read the app is not
# imported at all (it could fall back to a default secret): the function answers 503 instead.
SECRET_PARAMETER_SUFFIX = "_PARAMETER"


def _resolve_secret_parameters(environ=None, client=None):
    """Fill <NAME> from the SSM parameter named by <NAME>_PARAMETER. Returns None, or why it failed."""
    environ = os.environ if environ is None else environ
    wanted = {
        name[: -len(SECRET_PARAMETER_SUFFIX)]: value
        for name, value in environ.items()
        if name.endswith(SECRET_PARAMETER_SUFFIX) and value
    }
    if not wanted:
        return None
    try:
        if client is None:
            import boto3  # noqa: PLC0415 - only when there is something to read

            client = boto3.client("ssm")
        for variable, parameter in sorted(wanted.items()):
            value = client.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
            if not value:
                raise ValueError(f"parameter for {variable} is empty")
            environ[variable] = value
    except Exception as exc:  # noqa: BLE001 - any failure means no secrets: fail closed
        # The exception type only: a message could quote a value.
        logger.error("secret parameters could not be read (%s); the app is not imported", type(exc).__name__)
        return f"secret parameters unavailable ({type(exc).__name__})"
    return None


SECRETS_ERROR = _resolve_secret_parameters()
_asgi_handler, IMPORT_ERROR = _load_app() if SECRETS_ERROR is None else (None, SECRETS_ERROR)


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
