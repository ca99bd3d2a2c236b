// Sessions (SessionTrackingTable): a token is only good while its `sid` is active, so logout,
// password changes and resets really end sessions. Field names are shared with the registry-api app.
import { ddb, GetCommand, isConditionFailure, type Item, PutCommand, queryAll, table, UpdateCommand } from "./db";

/** Record a session whose id is already in a signed token; `expSeconds` is the token's exp (the TTL). */
export async function createSessionWithId(sessionId: string, userId: string, expSeconds: number, client: { ip: string; userAgent: string }): Promise<string> {
  const now = new Date().toISOString();
  await ddb().send(
    new PutCommand({
      TableName: table("SessionTrackingTable"),
      Item: { sessionId, userId, createdAt: now, lastActivity: now, isActive: true, ipAddress: client.ip, userAgent: client.userAgent, ttl: expSeconds },
      ConditionExpression: "attribute_not_exists(sessionId)",
    }),
  );
  return sessionId;
}

export async function getSession(sessionId: string): Promise<Item | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: table("SessionTrackingTable"), Key: { sessionId }, ConsistentRead: true }));
  return out.Item as Item | undefined;
}

/** However often it is refreshed, a session ends this long after its login; then the person logs in again. */
export const SESSION_MAX_LIFETIME_SECONDS = 7 * 24 * 3600;

/** Epoch seconds when a session ends for good (its createdAt plus the absolute lifetime). */
export function sessionHardEnd(session: Item): number {
  const created = Date.parse(String(session.createdAt ?? ""));
  return Number.isNaN(created) ? 0 : Math.floor(created / 1000) + SESSION_MAX_LIFETIME_SECONDS;
}

export function isLiveSession(session: Item | undefined, userId: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  return (
    !!session &&
    session.isActive === true &&
    session.userId === userId &&
    (typeof session.ttl !== "number" || session.ttl > nowSeconds) &&
    sessionHardEnd(session) > nowSeconds
  );
}

/** End one session; false when it was not active. */
export async function endSession(sessionId: string): Promise<boolean> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: table("SessionTrackingTable"),
        Key: { sessionId },
        UpdateExpression: "SET isActive = :false, endedAt = :now, lastActivity = :now",
        ConditionExpression: "attribute_exists(sessionId) AND isActive = :true",
        ExpressionAttributeValues: { ":false": false, ":true": true, ":now": new Date().toISOString() },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

/** Extend a live session to a new expiry (refresh keeps the same session). */
export async function extendSession(sessionId: string, userId: string, expSeconds: number): Promise<boolean> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: table("SessionTrackingTable"),
        Key: { sessionId },
        UpdateExpression: "SET #ttl = :ttl, lastActivity = :now",
        ConditionExpression: "isActive = :true AND userId = :user",
        ExpressionAttributeNames: { "#ttl": "ttl" },
        ExpressionAttributeValues: { ":ttl": expSeconds, ":now": new Date().toISOString(), ":true": true, ":user": userId },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

/** End every active session of a person except `keep` (UserIndex query, no scan). Returns how many ended. */
export async function endSessionsOf(userId: string, keep?: string): Promise<number> {
  const sessions = await queryAll({
    TableName: table("SessionTrackingTable"),
    IndexName: "UserIndex",
    KeyConditionExpression: "userId = :u",
    ExpressionAttributeValues: { ":u": userId },
  });
  const ended = await Promise.all(sessions.filter((s) => s.isActive === true && s.sessionId !== keep).map((s) => endSession(String(s.sessionId))));
  return ended.filter(Boolean).length;
}
