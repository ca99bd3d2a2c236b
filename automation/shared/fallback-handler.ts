// Bundled for a function whose `handlers/<fn>/index.ts` does not exist yet: a real, minimal
// entry point so the stack always deploys something honest. GET /health answers; all else is 404.
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";

const json = (statusCode: number, body: unknown): APIGatewayProxyResult => ({
  statusCode,
  headers: { "Content-Type": "application/json; charset=utf-8", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store" },
  body: JSON.stringify(body),
});

export async function handler(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  if (event.httpMethod === "GET" && event.path === "/health") {
    return json(200, { status: "healthy", service: "people-register-api", handler: "fallback", timestamp: new Date().toISOString() });
  }
  return json(404, { error: `No route for ${event.httpMethod} ${event.path}`, code: "NOT_FOUND" });
}
