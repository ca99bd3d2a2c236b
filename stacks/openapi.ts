// The REST API's definition (OpenAPI 3 with API Gateway extensions), generated from the contract's
// gateway routes. Pure: no Pulumi, integration URIs come in as strings, so it is unit-tested directly
// and its hash decides when the API is redeployed.
import { createHash } from "node:crypto";
import { GATEWAY_NOT_FOUND, type FunctionName, type GatewayRoute } from "../handlers/contract";

/** Headers every gateway-generated error carries, like the functions' own responses. */
export const GATEWAY_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "application/json; charset=utf-8",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
  "Referrer-Policy": "strict-origin-when-cross-origin",
  "Cache-Control": "no-store",
};

export interface OpenApiInput {
  title: string;
  /** The allowed CORS origins: gateway-generated answers carry Access-Control-Allow-Origin for them. */
  corsOrigins?: readonly string[];
  routes: readonly GatewayRoute[];
  /** Lambda invoke ARN (the `invokeArn` of each function) per function name. */
  integrationUris: Readonly<Record<FunctionName, string>>;
}

type Operation = Record<string, unknown>;

/** The OpenAPI key API Gateway uses for a method ("ANY" has its own extension key). */
export function operationKey(method: GatewayRoute["method"]): string {
  return method === "ANY" ? "x-amazon-apigateway-any-method" : method.toLowerCase();
}

/** Path parameter names of a template: `/people/{id}` -> ["id"], `/{proxy+}` -> ["proxy"]. */
export function pathParameters(template: string): string[] {
  return [...template.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1]);
}

/**
 * The Access-Control-Allow-Origin of an answer the gateway itself makes (404, 429, 413, 5xx, 504), so a
 * browser can read it: the one allowed origin as a literal; with several, the request's Origin
 * reflected (a gateway response cannot choose among them; these bodies carry no data, and no
 * Allow-Credentials is sent with a reflected origin). Shared by the stack and the local emulator.
 */
export function gatewayCorsHeaders(origins: readonly string[], requestOrigin: string | undefined): Record<string, string> {
  if (origins.length === 1) return { "Access-Control-Allow-Origin": origins[0], "Access-Control-Allow-Credentials": "true", Vary: "Origin" };
  if (origins.length > 1 && requestOrigin) return { "Access-Control-Allow-Origin": requestOrigin, Vary: "Origin" };
  return {};
}

/** The same headers as gateway response parameters (literals quoted; the reflected origin from the request). */
function gatewayCorsParameters(origins: readonly string[]): Record<string, string> {
  if (origins.length === 1) {
    return Object.fromEntries(Object.entries(gatewayCorsHeaders(origins, undefined)).map(([k, v]) => [`gatewayresponse.header.${k}`, `'${v}'`]));
  }
  if (origins.length > 1) return { "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin", "gatewayresponse.header.Vary": "'Origin'" };
  return {};
}

/** `statusCode` undefined keeps the status API Gateway chose (413, 415, 502, 504, …). */
function gatewayResponse(statusCode: number | undefined, body: string, origins: readonly string[] = []): Record<string, unknown> {
  const responseParameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(GATEWAY_SECURITY_HEADERS)) {
    responseParameters[`gatewayresponse.header.${name}`] = `'${value}'`;
  }
  Object.assign(responseParameters, gatewayCorsParameters(origins));
  return {
    ...(statusCode === undefined ? {} : { statusCode: String(statusCode) }),
    responseParameters,
    responseTemplates: { "application/json": body },
  };
}

/**
 * What the gateway itself answers (no function involved), in the contract's error shape:
 * an unknown path is a 404 NOT_FOUND (API Gateway calls it MISSING_AUTHENTICATION_TOKEN),
 * stage throttling is a 429 RATE_LIMITED, every other gateway error keeps its status.
 */
export function gatewayResponses(corsOrigins: readonly string[] = []): Record<string, unknown> {
  const json = (value: object) => JSON.stringify(value);
  return {
    MISSING_AUTHENTICATION_TOKEN: gatewayResponse(GATEWAY_NOT_FOUND.statusCode, json(GATEWAY_NOT_FOUND.body), corsOrigins),
    THROTTLED: gatewayResponse(429, json({ error: "Too many requests", code: "RATE_LIMITED" }), corsOrigins),
    // $context.error.messageString is already a quoted JSON string.
    DEFAULT_4XX: gatewayResponse(undefined, '{"error":$context.error.messageString,"code":"$context.error.responseType"}', corsOrigins),
    DEFAULT_5XX: gatewayResponse(undefined, '{"error":"Internal error","code":"INTERNAL","requestId":"$context.requestId"}', corsOrigins),
  };
}

/** The whole API definition. Every route gets a Lambda proxy integration to its function. */
export function buildOpenApi(input: OpenApiInput): Record<string, unknown> {
  const paths: Record<string, Record<string, Operation>> = {};
  for (const route of input.routes) {
    const uri = input.integrationUris[route.fn];
    if (!uri) throw new Error(`no integration URI for function ${route.fn}`);
    const key = operationKey(route.method);
    const item = (paths[route.path] ??= {});
    if (item[key]) throw new Error(`route ${route.method} ${route.path} is defined twice`);
    const params = pathParameters(route.path);
    item[key] = {
      ...(params.length > 0
        ? { parameters: params.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })) }
        : {}),
      // OpenAPI 3 requires at least one response; with a proxy integration the function decides the status.
      responses: { "200": { description: "The function's response (Lambda proxy integration: any status)" } },
      "x-amazon-apigateway-integration": {
        type: "aws_proxy",
        // Lambda proxy integrations always call Lambda with POST, whatever the client's method.
        httpMethod: "POST",
        uri,
        passthroughBehavior: "when_no_match",
      },
    };
  }
  // Sorted paths and methods: the same routes in any order give the same body (and no redeploy).
  const sorted = <T>(obj: Record<string, T>) => Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
  const sortedPaths = Object.fromEntries(Object.keys(paths).sort().map((p) => [p, sorted(paths[p])]));
  return {
    openapi: "3.0.1",
    info: { title: input.title, version: "1.0" },
    paths: sortedPaths,
    "x-amazon-apigateway-gateway-responses": gatewayResponses(input.corsOrigins ?? []),
  };
}

/** The stage variable naming the Lambda alias each stage invokes (`live` on the main stage, `candidate` on the candidate stage). */
export const ALIAS_STAGE_VARIABLE = "lambdaAlias";

/** A function's invoke ARN made to call the alias the stage variable names: `…:function:NAME:${stageVariables.lambdaAlias}/invocations`. */
export function aliasIntegrationUri(invokeArn: string): string {
  if (!invokeArn.endsWith("/invocations")) throw new Error(`not a Lambda invoke ARN: ${invokeArn}`);
  return `${invokeArn.slice(0, -"/invocations".length)}:\${stageVariables.${ALIAS_STAGE_VARIABLE}}/invocations`;
}

/** Stable serialization of the definition (what RestApi.body gets). */
export function openApiBody(input: OpenApiInput): string {
  return JSON.stringify(buildOpenApi(input));
}

/** Redeployment trigger: changes exactly when the definition changes. */
export function bodyHash(body: string): string {
  return createHash("sha256").update(body).digest("hex");
}
