// GET /health: a cheap consistent read of PeopleTable proves the function can reach its data.
import { SERVICE_NAME } from "../contract";
import { config } from "../lib/config";
import { ddb, GetCommand, table } from "../lib/db";
import { json, type Reply } from "../lib/http";
import type { RequestContext } from "../lib/pipeline";

export async function health(ctx: RequestContext): Promise<Reply> {
  const cfg = config();
  const base = { service: SERVICE_NAME, version: cfg.serviceVersion, handler: cfg.handlerKind, timestamp: new Date().toISOString() };
  const started = Date.now();
  try {
    await ddb().send(new GetCommand({ TableName: table("PeopleTable"), Key: { id: "health-check" }, ProjectionExpression: "id" }));
  } catch (err) {
    ctx.log.error("health check: database unreachable", { error: (err as Error).message });
    return json(503, { status: "unhealthy", ...base, checks: { database: "error" } });
  }
  return json(200, { status: "healthy", ...base, checks: { database: "ok" }, latencyMs: Date.now() - started });
}
