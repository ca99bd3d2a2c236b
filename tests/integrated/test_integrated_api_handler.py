"""Tests of handlers/integrated/integrated_api_handler.py with the machine's python3.

Mangum itself cannot be installed here (PyPI is unreachable from the build machines), so a stand-in
`mangum` module (fixtures/standin_mangum) and small stand-in ASGI apps (fixtures/app_*) are used. Each
test lays out a package the way `prepare` does — main.py, src/ and the shim side by side — in a temp
dir and loads the shim fresh from there, as a Lambda cold start would.

Run: python3 -m unittest discover -s tests/integrated -p 'test_*.py'
"""

import builtins
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHIM = os.path.join(REPO, "handlers", "integrated", "integrated_api_handler.py")
FIXTURES = os.path.join(HERE, "fixtures")


def api_event(method="GET", path="/health", body=None):
    return {
        "resource": "/{proxy+}", "path": path, "httpMethod": method,
        "headers": {"Accept": "application/json"}, "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")}, "stageVariables": None,
        "requestContext": {"requestId": "test-request", "stage": "prod", "httpMethod": method, "path": "/prod" + path},
        "body": body, "isBase64Encoded": False,
    }


class ShimTestCase(unittest.TestCase):
    def setUp(self):
        self.saved_path = list(sys.path)
        self.saved_modules = set(sys.modules)
        self.package = tempfile.mkdtemp(prefix="integrated-pkg-")
        builtins.__dict__.pop("_standin_main_imports", None)

    def tearDown(self):
        sys.path[:] = self.saved_path
        for name in set(sys.modules) - self.saved_modules:
            del sys.modules[name]
        shutil.rmtree(self.package, ignore_errors=True)
        builtins.__dict__.pop("_standin_main_imports", None)

    def lay_out(self, app, with_mangum=True):
        """Build the package as `prepare` does: app code + shim (+ the dependency) in one folder."""
        shutil.copytree(os.path.join(FIXTURES, app), self.package, dirs_exist_ok=True)
        shutil.copy(SHIM, self.package)
        if with_mangum:
            shutil.copytree(os.path.join(FIXTURES, "standin_mangum", "mangum"), os.path.join(self.package, "mangum"))

    def cold_start(self):
        spec = importlib.util.spec_from_file_location("integrated_api_handler", os.path.join(self.package, "integrated_api_handler.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["integrated_api_handler"] = module
        spec.loader.exec_module(module)
        return module


class WorkingAppTest(ShimTestCase):
    def test_serves_the_synced_app_through_mangum_with_lifespan_off(self):
        self.lay_out("app_ok")
        shim = self.cold_start()
        response = shim.handler(api_event(path="/people"), None)
        self.assertEqual(response["statusCode"], 200)
        self.assertEqual(json.loads(response["body"]), {"people": [{"id": "p-1", "firstName": "Ada"}]})
        mangum = sys.modules["mangum"]
        self.assertEqual([m.lifespan for m in mangum.instances], ["off"])

    def test_puts_src_on_the_import_path(self):
        self.lay_out("app_ok")
        self.cold_start()
        self.assertIn(os.path.join(os.path.realpath(self.package), "src"), [os.path.realpath(p) for p in sys.path])
        self.assertTrue(sys.modules["people.store"].__file__.startswith(os.path.join(self.package, "src")))

    def test_imports_the_app_once_across_invocations(self):
        self.lay_out("app_ok")
        shim = self.cold_start()
        for path in ("/health", "/people", "/nowhere"):
            shim.handler(api_event(path=path), None)
        self.assertEqual(builtins.__dict__["_standin_main_imports"], 1)
        self.assertEqual(shim.handler(api_event(path="/nowhere"), None)["statusCode"], 404)


class BrokenAppTest(ShimTestCase):
    def assert_unavailable(self, response):
        self.assertEqual(response["statusCode"], 503)
        self.assertEqual(response["headers"]["Content-Type"], "application/json")
        self.assertEqual(json.loads(response["body"]), {"error": "The API application is unavailable", "code": "INTEGRATED_APP_UNAVAILABLE"})

    def test_failing_import_answers_503_and_logs_the_traceback_not_the_client(self):
        self.lay_out("app_broken")
        with self.assertLogs("integrated_api_handler", level="ERROR") as logs:
            shim = self.cold_start()
            response = shim.handler(api_event(path="/people"), None)
        self.assert_unavailable(response)
        log_text = "\n".join(logs.output)
        self.assertIn("database_driver_that_is_not_installed", log_text)
        self.assertIn("Traceback", log_text)
        self.assertNotIn("Traceback", response["body"])
        self.assertNotIn("database_driver", response["body"])

    def test_missing_mangum_is_reported_the_same_way(self):
        self.lay_out("app_ok", with_mangum=False)
        sys.modules.pop("mangum", None)
        # Hide any mangum the interpreter might have, so the import really fails.
        sys.modules["mangum"] = None
        try:
            with self.assertLogs("integrated_api_handler", level="ERROR") as logs:
                shim = self.cold_start()
            self.assert_unavailable(shim.handler(api_event(), None))
            self.assertIn("mangum", "\n".join(logs.output))
        finally:
            sys.modules.pop("mangum", None)

    def test_app_that_exits_during_import_does_not_kill_the_runtime(self):
        self.lay_out("app_ok")
        with open(os.path.join(self.package, "main.py"), "w") as f:
            f.write("raise SystemExit('settings missing')\n")
        with self.assertLogs("integrated_api_handler", level="ERROR"):
            shim = self.cold_start()
        self.assert_unavailable(shim.handler(api_event(), None))


if __name__ == "__main__":
    unittest.main()
