// Setting passwords and reset tokens. Reset tokens are random, sent only by email and stored as their
// SHA-256 with an epoch-seconds TTL; the last 5 password hashes are kept in PasswordHistoryTable.
import { createHash, randomBytes } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "./db";
import { config } from "./config";
import { ddb, type Item, isConditionFailure, table } from "./db";
import { HttpError } from "./http";
import { hashPassword, isBcryptHash, verifyPassword } from "./passwords";

export const PASSWORD_HISTORY_DEPTH = 5;
const HISTORY_TTL_SECONDS = 2 * 365 * 24 * 3600;
export const RESET_TTL_SECONDS = 3600;
/** Welcome and admin-initiated links give the person a day to act. */
export const SET_PASSWORD_TTL_SECONDS = 24 * 3600;

const sha256 = (value: string): string => createHash("sha256").update(value).digest("hex");

export async function createResetToken(person: Item, ttlSeconds: number, purpose: "reset" | "welcome" | "admin"): Promise<{ token: string; link: string; expiresAt: number }> {
  const token = randomBytes(32).toString("base64url");
  const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
  await ddb().send(
    new PutCommand({
      TableName: table("PasswordResetTokensTable"),
      Item: { resetToken: sha256(token), email: String(person.email), personId: String(person.id), purpose, createdAt: new Date().toISOString(), expiresAt },
      ConditionExpression: "attribute_not_exists(resetToken)",
    }),
  );
  return { token, link: `${config().frontendUrl}/reset-password?token=${encodeURIComponent(token)}`, expiresAt };
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{20,128}$/;
export const tokenInvalid = (): HttpError => new HttpError(400, "TOKEN_INVALID", "The reset token is invalid or has expired");

/** The stored token when it exists and has not expired (DynamoDB TTL deletes lazily, so check too). */
export async function findResetToken(token: string): Promise<Item | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const out = await ddb().send(new GetCommand({ TableName: table("PasswordResetTokensTable"), Key: { resetToken: sha256(token) }, ConsistentRead: true }));
  const item = out.Item as Item | undefined;
  return item && typeof item.expiresAt === "number" && item.expiresAt > Math.floor(Date.now() / 1000) ? item : undefined;
}

/** Use a token up (a conditional delete: only one request can); undefined when it was not usable. */
export async function consumeResetToken(token: string): Promise<Item | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  try {
    const out = await ddb().send(
      new DeleteCommand({
        TableName: table("PasswordResetTokensTable"),
        Key: { resetToken: sha256(token) },
        ConditionExpression: "attribute_exists(resetToken) AND expiresAt > :now",
        ExpressionAttributeValues: { ":now": Math.floor(Date.now() / 1000) },
        ReturnValues: "ALL_OLD",
      }),
    );
    return out.Attributes as Item | undefined;
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

/** 400 PASSWORD_REUSED when the password is the current one or one of the last five before it. */
export async function assertNotReused(person: Item, password: string): Promise<void> {
  const out = await ddb().send(
    new QueryCommand({
      TableName: table("PasswordHistoryTable"),
      KeyConditionExpression: "userId = :u",
      ExpressionAttributeValues: { ":u": String(person.id) },
      ScanIndexForward: false,
      Limit: PASSWORD_HISTORY_DEPTH,
    }),
  );
  const hashes = new Set<string>();
  for (const h of [person.passwordHash, person.password, ...(out.Items ?? []).map((i) => i.passwordHash)]) if (isBcryptHash(h)) hashes.add(h);
  for (const h of hashes) {
    if (await verifyPassword(password, h)) {
      throw new HttpError(400, "PASSWORD_REUSED", "The new password must differ from the current and the last 5 passwords", [
        { field: "newPassword", code: "password_reused", message: "Choose a password you have not used recently" },
      ]);
    }
  }
}

/**
 * Store a new password hash (never altering the password first), clear lockout, and move the
 * previous hash into the history (so the last 5 passwords stay refusable).
 */
export async function setPassword(person: Item, password: string): Promise<void> {
  const personId = String(person.id);
  const previous = isBcryptHash(person.passwordHash) ? person.passwordHash : isBcryptHash(person.password) ? person.password : undefined;
  const hash = await hashPassword(password);
  const now = new Date().toISOString();
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: table("PeopleTable"),
        Key: { id: personId },
        UpdateExpression:
          "SET passwordHash = :h, lastPasswordChange = :now, updatedAt = :now, requirePasswordChange = :false, failedLoginAttempts = :zero REMOVE password, accountLockedUntil, failedLoginWindowStart",
        ConditionExpression: "attribute_exists(id)",
        ExpressionAttributeValues: { ":h": hash, ":now": now, ":false": false, ":zero": 0 },
      }),
    );
  } catch (err) {
    if (isConditionFailure(err)) throw new HttpError(404, "NOT_FOUND", "Person not found");
    throw err;
  }
  if (previous) {
    await ddb().send(
      new PutCommand({
        TableName: table("PasswordHistoryTable"),
        Item: { userId: personId, createdAt: now, passwordHash: previous, ttl: Math.floor(Date.now() / 1000) + HISTORY_TTL_SECONDS },
      }),
    );
  }
}
