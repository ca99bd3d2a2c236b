"""The shim reads secrets from SSM Parameter Store into the environment before the synced app is imported.

A small HTTP server speaks SSM's JSON protocol (GetParameter) on 127.0.0.1; boto3 is pointed at it with
AWS_ENDPOINT_URL_SSM, so the real client, signing and parsing run.
"""

import builtins
import http.server
import json
import os
import threading
import unittest

from test_integrated_api_handler import ShimTestCase, api_event

try:
    import boto3  # noqa: F401

    HAVE_BOTO3 = True
except ImportError:  # pragma: no cover - the Lambda runtime has it; a bare machine may not
    HAVE_BOTO3 = False

JWT = "j" * 48
CSRF = "c" * 48


class FakeSsm(http.server.BaseHTTPRequestHandler):
    parameters = {"/stack/JWT_SECRET": JWT, "/stack/CSRF_SECRET": CSRF}
    requests = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeSsm.requests.append((self.headers.get("X-Amz-Target"), body))
        value = self.parameters.get(body.get("Name"))
        if value is None:
            status, payload = 400, {"__type": "ParameterNotFound", "message": "not found"}
        else:
            status, payload = 200, {"Parameter": {"Name": body["Name"], "Type": "SecureString", "Value": value, "Version": 1}}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@unittest.skipUnless(HAVE_BOTO3, "boto3 is not installed")
class SecretParametersTest(ShimTestCase):
    def setUp(self):
        super().setUp()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeSsm)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        FakeSsm.requests = []
        self.saved_env = dict(os.environ)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL_SSM": f"http://127.0.0.1:{self.server.server_address[1]}",
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        for name in ("JWT_SECRET", "CSRF_SECRET", "JWT_SECRET_PARAMETER", "CSRF_SECRET_PARAMETER"):
            os.environ.pop(name, None)

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.saved_env)
        self.server.shutdown()
        self.server.server_close()
        super().tearDown()

    def test_parameters_become_the_plain_variables_the_app_reads_before_it_is_imported(self):
        os.environ["JWT_SECRET_PARAMETER"] = "/stack/JWT_SECRET"
        os.environ["CSRF_SECRET_PARAMETER"] = "/stack/CSRF_SECRET"
        self.lay_out("app_ok")
        shim = self.cold_start()
        self.assertIsNone(shim.SECRETS_ERROR)
        self.assertEqual(os.environ["JWT_SECRET"], JWT)
        self.assertEqual(os.environ["CSRF_SECRET"], CSRF)
        self.assertEqual(shim.handler(api_event(path="/people"), None)["statusCode"], 200)
        self.assertEqual(sorted(b["Name"] for _, b in FakeSsm.requests), ["/stack/CSRF_SECRET", "/stack/JWT_SECRET"])
        self.assertTrue(all(b.get("WithDecryption") is True for _, b in FakeSsm.requests))
        self.assertTrue(all(t == "AmazonSSM.GetParameter" for t, _ in FakeSsm.requests))

    def test_an_unreadable_parameter_fails_closed_the_app_is_never_imported(self):
        os.environ["JWT_SECRET_PARAMETER"] = "/stack/MISSING"
        self.lay_out("app_ok")
        with self.assertLogs("integrated_api_handler", level="ERROR") as logs:
            shim = self.cold_start()
        response = shim.handler(api_event(path="/people"), None)
        self.assertEqual(response["statusCode"], 503)
        self.assertNotIn("_standin_main_imports", builtins.__dict__)
        self.assertNotIn("JWT_SECRET", os.environ)
        self.assertNotIn("/stack/MISSING", response["body"])
        self.assertTrue(any("secret parameters could not be read" in line for line in logs.output))

    def test_locally_nothing_is_read(self):
        os.environ["JWT_SECRET"] = JWT
        self.lay_out("app_ok")
        shim = self.cold_start()
        self.assertIsNone(shim.SECRETS_ERROR)
        self.assertEqual(FakeSsm.requests, [])
        self.assertEqual(shim.handler(api_event(path="/people"), None)["statusCode"], 200)


if __name__ == "__main__":
    unittest.main()
