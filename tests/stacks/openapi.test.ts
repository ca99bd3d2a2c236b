import { expect } from "chai";
import { GATEWAY_NOT_FOUND, ROUTES, gatewayRoutes, type GatewayRoute } from "../../handlers/contract";
import { GATEWAY_SECURITY_HEADERS, bodyHash, gatewayCorsHeaders, buildOpenApi, openApiBody, operationKey, pathParameters } from "../../stacks/openapi";

const URIS = { api: "arn:aws:apigateway:r:lambda:path/fn/api/invocations", auth: "arn:aws:apigateway:r:lambda:path/fn/auth/invocations" };

/** Every (method, path) the definition routes, with the function its integration calls. */
function routed(doc: Record<string, any>): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [key, op] of Object.entries<any>(item)) {
      const method = key === "x-amazon-apigateway-any-method" ? "ANY" : key.toUpperCase();
      const fn = Object.entries(URIS).find(([, uri]) => uri === op["x-amazon-apigateway-integration"].uri)?.[0];
      out.push(`${method} ${path} -> ${fn}`);
    }
  }
  return out.sort();
}
const expected = (routes: GatewayRoute[]) => routes.map((r) => `${r.method} ${r.path} -> ${r.fn}`).sort();

describe("stacks/openapi: the REST API definition", () => {
  it("routes exactly the contract's gateway routes, each to its function, and nothing else", () => {
    const doc = buildOpenApi({ title: "t", routes: gatewayRoutes({ greedy: false }), integrationUris: URIS });
    expect(routed(doc)).to.deep.equal(expected(gatewayRoutes({ greedy: false })));
    for (const r of ROUTES) expect(routed(doc)).to.include(`${r.method} ${r.path} -> ${r.fn}`);
    expect(Object.keys(doc.paths as object)).to.not.include("/{proxy+}");
  });

  it("adds the greedy route to the api function only when asked (integrated handler)", () => {
    const doc = buildOpenApi({ title: "t", routes: gatewayRoutes({ greedy: true }), integrationUris: URIS });
    expect(routed(doc)).to.include("ANY /{proxy+} -> api");
    expect(routed(doc)).to.deep.equal(expected(gatewayRoutes({ greedy: true })));
    expect((doc.paths as any)["/{proxy+}"]["x-amazon-apigateway-any-method"].parameters).to.deep.equal([
      { name: "proxy", in: "path", required: true, schema: { type: "string" } },
    ]);
  });

  it("uses Lambda proxy integrations (POST to the invoke ARN) and declares every path parameter", () => {
    const doc = buildOpenApi({ title: "t", routes: gatewayRoutes({ greedy: false }), integrationUris: URIS }) as any;
    const op = doc.paths["/projects/{id}/subscribe/{personId}"].post;
    expect(op["x-amazon-apigateway-integration"]).to.include({ type: "aws_proxy", httpMethod: "POST", uri: URIS.api });
    expect(op.parameters.map((p: any) => p.name)).to.deep.equal(["id", "personId"]);
    expect(doc.paths["/health"].get.parameters).to.equal(undefined);
    expect(pathParameters("/a/{x}/b/{y+}")).to.deep.equal(["x", "y"]);
    expect(operationKey("ANY")).to.equal("x-amazon-apigateway-any-method");
  });

  it("lets a browser read every gateway error: the single origin as a literal, several reflected from the request", () => {
    const types = ["MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"];
    const one = (buildOpenApi({ title: "t", routes: gatewayRoutes({ greedy: false }), integrationUris: URIS, corsOrigins: ["https://app.example.org"] }) as any)["x-amazon-apigateway-gateway-responses"];
    const several = (buildOpenApi({ title: "t", routes: gatewayRoutes({ greedy: false }), integrationUris: URIS, corsOrigins: ["https://app.example.org", "http://localhost:4321"] }) as any)["x-amazon-apigateway-gateway-responses"];
    for (const type of types) {
      expect(one[type].responseParameters["gatewayresponse.header.Access-Control-Allow-Origin"], type).to.equal("'https://app.example.org'");
      expect(several[type].responseParameters["gatewayresponse.header.Access-Control-Allow-Origin"], type).to.equal("method.request.header.Origin");
      // Never credentials with a reflected origin.
      expect(several[type].responseParameters, type).to.not.have.property("gatewayresponse.header.Access-Control-Allow-Credentials");
    }
    expect(gatewayCorsHeaders(["https://a.example"], "https://evil.example")["Access-Control-Allow-Origin"]).to.equal("https://a.example");
    expect(gatewayCorsHeaders([], "https://a.example")).to.deep.equal({});
  });

  it("answers unknown paths with the contract's 404 and every gateway error with security headers", () => {
    const doc = buildOpenApi({ title: "t", routes: gatewayRoutes({ greedy: false }), integrationUris: URIS }) as any;
    const responses = doc["x-amazon-apigateway-gateway-responses"];
    const notFound = responses.MISSING_AUTHENTICATION_TOKEN;
    expect(notFound.statusCode).to.equal(String(GATEWAY_NOT_FOUND.statusCode));
    expect(JSON.parse(notFound.responseTemplates["application/json"])).to.deep.equal(GATEWAY_NOT_FOUND.body);
    expect(JSON.parse(responses.THROTTLED.responseTemplates["application/json"]).code).to.equal("RATE_LIMITED");
    // The generic 4xx/5xx keep the status API Gateway chose (413, 502, …).
    expect(responses.DEFAULT_4XX.statusCode).to.equal(undefined);
    expect(responses.DEFAULT_5XX.responseTemplates["application/json"]).to.contain('"code":"INTERNAL"');
    for (const type of ["MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"]) {
      for (const [name, value] of Object.entries(GATEWAY_SECURITY_HEADERS)) {
        expect(responses[type].responseParameters[`gatewayresponse.header.${name}`], `${type} ${name}`).to.equal(`'${value}'`);
      }
    }
  });

  it("is deterministic, and its hash changes exactly when the definition changes", () => {
    const input = { title: "t", routes: gatewayRoutes({ greedy: false }), integrationUris: URIS };
    expect(bodyHash(openApiBody(input))).to.equal(bodyHash(openApiBody({ ...input, routes: [...input.routes].reverse() })));
    expect(bodyHash(openApiBody(input))).to.equal(bodyHash(openApiBody(input)));
    expect(bodyHash(openApiBody(input))).to.not.equal(bodyHash(openApiBody({ ...input, routes: gatewayRoutes({ greedy: true }) })));
    expect(bodyHash(openApiBody(input))).to.not.equal(bodyHash(openApiBody({ ...input, integrationUris: { ...URIS, auth: "other" } })));
  });

  it("refuses a route without an integration and a route defined twice", () => {
    const routes = gatewayRoutes({ greedy: false });
    expect(() => buildOpenApi({ title: "t", routes, integrationUris: { api: URIS.api } as any })).to.throw(/no integration URI for function auth/);
    expect(() => buildOpenApi({ title: "t", routes: [...routes, routes[0]], integrationUris: URIS })).to.throw(/defined twice/);
  });
});
