// Setting passwords and reset tokens. Reset tokens are random, sent only by email and stored as their
// SHA-256 with an epoch-seconds TTL; the last 5 password hashes are kept in PasswordHistoryTable.
// At most one link is outstanding per person: a newer link, a password change or an email change
// revokes the older ones, so a link read from an old mailbox is worthless afterwards.
import { createHash, randomBytes } from "node:crypto";
import { config } from "./config";
import { ddb, DeleteCommand, GetCommand, isConditionFailure, type Item, PutCommand, queryAll, QueryCommand, table, UpdateCommand } from "./db";
import { HttpError } from "./http";
import { accountLocked, claimLoginAttempt, personSubject, recordSuccessfulLogin } from "./lockout";
import { hashPassword, isBcryptHash, verifyPassword } from "./passwords";

export const PASSWORD_HISTORY_DEPTH = 5;
const HISTORY_TTL_SECONDS = 2 * 365 * 24 * 3600;
export const RESET_TTL_SECONDS = 3600;
/** Welcome and admin-initiated links give the person a day to act. */
export const SET_PASSWORD_TTL_SECONDS = 24 * 3600;

const sha256 = (value: string): string => createHash("sha256").update(value).digest("hex");

/**
 * Delete every outstanding reset token of this person (looked up by the addresses they were sent to:
 * the person's email, and `alsoEmail` after an email change). Returns how many were revoked.
 */
export async function revokeResetTokens(person: Item, alsoEmail?: string): Promise<number> {
  const personId = String(person.id);
  const emails = [...new Set([String(person.email ?? ""), alsoEmail ?? ""].filter((e) => e !== ""))];
  const items = (
    await Promise.all(
      emails.map((email) =>
        queryAll({ TableName: table("PasswordResetTokensTable"), IndexName: "EmailIndex", KeyConditionExpression: "email = :e", ExpressionAttributeValues: { ":e": email } }),
      ),
    )
  ).flat();
  // Tokens carry personId; one without it belongs to whoever holds the address.
  const mine = items.filter((i) => i.personId === undefined || i.personId === personId);
  await Promise.all(mine.map((i) => ddb().send(new DeleteCommand({ TableName: table("PasswordResetTokensTable"), Key: { resetToken: i.resetToken } }))));
  return mine.length;
}

export async function createResetToken(person: Item, ttlSeconds: number, purpose: "reset" | "welcome" | "admin"): Promise<{ token: string; link: string; expiresAt: number }> {
  await revokeResetTokens(person);
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

/**
 * Re-authentication before a sensitive change (password, email): the caller's current password,
 * counted like a login attempt, so a stolen token cannot be used to guess it (5 wrong lock the
 * account). 400 when absent, 401 INVALID_CREDENTIALS when wrong, 423 while locked.
 */
export async function assertCurrentPassword(person: Item, password: string | undefined, field = "currentPassword"): Promise<void> {
  if (!password) {
    throw new HttpError(400, "VALIDATION_ERROR", "The current password is required for this change", [{ field, code: "required", message: "Give your current password" }]);
  }
  const subject = personSubject(String(person.id));
  const claim = await claimLoginAttempt(subject);
  if (claim.kind === "locked") throw accountLocked(claim.until);
  const stored = isBcryptHash(person.passwordHash) ? person.passwordHash : person.password;
  if (!(await verifyPassword(password, stored))) throw new HttpError(401, "INVALID_CREDENTIALS", "The current password is not correct");
  await recordSuccessfulLogin(subject, claim, { set: {}, remove: [] });
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
  await revokeResetTokens(person);
  if (previous) {
    await ddb().send(
      new PutCommand({
        TableName: table("PasswordHistoryTable"),
        Item: { userId: personId, createdAt: now, passwordHash: previous, ttl: Math.floor(Date.now() / 1000) + HISTORY_TTL_SECONDS },
      }),
    );
  }
}
