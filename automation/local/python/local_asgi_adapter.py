"""The local worker's own Lambda-event -> ASGI adapter: a stand-in for Mangum, used ONLY when `mangum`
cannot be imported on this machine (the local target registers it under the name `mangum`).

It handles what the API Gateway REST (v1) proxy integration sends and expects back: method, path,
query (multi-value), headers (multi-value), base64 bodies; the result carries statusCode, headers,
multiValueHeaders (for repeated headers such as Set-Cookie), body and isBase64Encoded. Lifespan events
are not run (the shim asks for lifespan="off"). It is never packaged for Lambda.
"""

import asyncio
import base64
from urllib.parse import urlencode

TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/problem+json", "image/svg+xml")


class Mangum:
    def __init__(self, app, lifespan="auto", api_gateway_base_path="/", **_ignored):
        self.app = app
        self.lifespan = lifespan
        self.api_gateway_base_path = api_gateway_base_path

    def __call__(self, event, context):
        return asyncio.run(self._handle(event))

    async def _handle(self, event):
        headers = {}
        for name, values in (event.get("multiValueHeaders") or {}).items():
            headers[name.lower()] = list(values)
        for name, value in (event.get("headers") or {}).items():
            headers.setdefault(name.lower(), [value])
        query = event.get("multiValueQueryStringParameters") or {k: [v] for k, v in (event.get("queryStringParameters") or {}).items()}
        body = event.get("body") or ""
        body_bytes = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
        host = (headers.get("host") or ["localhost"])[0]
        forwarded_port = int((headers.get("x-forwarded-port") or ["80"])[0])
        client_ip = (event.get("requestContext") or {}).get("identity", {}).get("sourceIp") or "127.0.0.1"
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": event.get("httpMethod", "GET"),
            "scheme": (headers.get("x-forwarded-proto") or ["https"])[0],
            "path": event.get("path") or "/",
            "raw_path": None,
            "root_path": "",
            "query_string": urlencode([(k, v) for k, vs in query.items() for v in vs]).encode("latin-1"),
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, vs in headers.items() for v in vs],
            "client": (client_ip, 0),
            "server": (host.split(":")[0], forwarded_port),
            "aws.event": event,
        }
        sent = {"status": 500, "headers": [], "body": bytearray()}
        received = False

        async def receive():
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": body_bytes, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                sent["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                sent["body"].extend(message.get("body", b""))

        await self.app(scope, receive, send)
        multi = {}
        for k, v in sent["headers"]:
            multi.setdefault(k.decode("latin-1").lower(), []).append(v.decode("latin-1"))
        content_type = (multi.get("content-type") or [""])[0]
        text = content_type.startswith(TEXT_TYPES) or not sent["body"]
        return {
            "statusCode": sent["status"],
            "headers": {k: vs[-1] for k, vs in multi.items() if len(vs) == 1},
            "multiValueHeaders": {k: vs for k, vs in multi.items() if len(vs) > 1},
            "body": bytes(sent["body"]).decode("utf-8") if text else base64.b64encode(bytes(sent["body"])).decode("ascii"),
            "isBase64Encoded": not text,
        }
