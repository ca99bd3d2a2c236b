// /people routes. Registration is public (CSRF-protected) and never takes a password: the welcome
// email carries a set-password link. Updates are partial with an optimistic `version` check.
import { randomUUID } from "node:crypto";
import { audit } from "../lib/audit";
import { assertCurrentPassword, createResetToken, revokeResetTokens, SET_PASSWORD_TTL_SECONDS } from "../lib/credentials";
import { ddb, DeleteCommand, isConditionFailure, type Item, PutCommand, queryAll, QueryCommand, scanPage, table, updateWithVersion } from "../lib/db";
import { renderEmail, sendEmail } from "../lib/email";
import { HttpError, json, listReply, noContent, notFound, type Reply } from "../lib/http";
import { addressItem, findPersonByEmail, getPerson, itemVersion, normaliseEmail, peopleWithEmailAnyCase, personItemDefaults, safePerson } from "../lib/people";
import { type RequestContext, requirePrincipal, requireSelfOrAdmin } from "../lib/pipeline";
import { endSessionsOf } from "../lib/sessions";
import { emailField, isoDate, maxText, nonEmpty, pageQuery, passwordInput, phoneField } from "../lib/validation";
import * as z from "../lib/zod";
import { removeSubscription, subscriptionView } from "./subscriptions";

// `zipCode` is accepted as another name for `postalCode` (registry-api 3b58af3's model used it).
const Address = z.strictObject({
  street: z.optional(maxText(200)),
  city: z.optional(maxText(100)),
  state: z.optional(maxText(100)),
  country: z.optional(maxText(100)),
  postalCode: z.optional(maxText(20)),
  zipCode: z.optional(maxText(20)),
});
// "" means unknown: the person view reports unknown values that way, so a client may send them back.
const dateOfBirth = z.union([z.literal(""), isoDate.check(z.refine((s) => s <= new Date().toISOString().slice(0, 10), "Must not be in the future"))]);

const CreatePerson = z.strictObject({
  firstName: nonEmpty(100),
  lastName: nonEmpty(100),
  email: emailField,
  phone: z.optional(phoneField),
  dateOfBirth: z.optional(dateOfBirth),
  address: z.optional(Address),
});

const profileUpdate = {
  firstName: z.optional(nonEmpty(100)),
  lastName: z.optional(nonEmpty(100)),
  email: z.optional(emailField),
  // null clears an optional field.
  phone: z.optional(z.nullable(phoneField)),
  dateOfBirth: z.optional(z.nullable(dateOfBirth)),
  address: z.optional(z.nullable(Address)),
  // Optional: when given it must match (409 CONFLICT); without it the last writer wins.
  version: z.optional(z.number().check(z.int(), z.gte(1))),
  // Required to change `email` (the caller's own password, admins included): never stored.
  currentPassword: z.optional(passwordInput),
};
const SelfUpdate = z.strictObject(profileUpdate);
const AdminUpdate = z.strictObject({ ...profileUpdate, isAdmin: z.optional(z.boolean()), isActive: z.optional(z.boolean()) });

const emailExists = (): HttpError => new HttpError(409, "EMAIL_EXISTS", "A person with this email already exists");

export async function listPeople(ctx: RequestContext): Promise<Reply> {
  const { limit, nextToken } = pageQuery(ctx.query);
  const page = await scanPage("PeopleTable", limit, nextToken);
  return listReply(page.items.map(safePerson), { nextToken: page.nextToken });
}

/** Other people holding this email (the index is the lookup; never a scan). */
async function holdersOf(email: string): Promise<Item[]> {
  const out = await ddb().send(
    new QueryCommand({ TableName: table("PeopleTable"), IndexName: "EmailIndex", KeyConditionExpression: "email = :e", ExpressionAttributeValues: { ":e": email }, ProjectionExpression: "id, createdAt" }),
  );
  return (out.Items ?? []) as Item[];
}

export async function createPerson(ctx: RequestContext): Promise<Reply> {
  const body = ctx.body(CreatePerson);
  const person = await insertPerson(ctx, body);
  return json(201, safePerson(person));
}

/** The profile fields of a new person. */
export interface NewPerson {
  firstName: string;
  lastName: string;
  email: string;
  phone?: string;
  dateOfBirth?: string;
  address?: Record<string, string | undefined>;
}

/**
 * Store a new person (no password: the welcome email carries a set-password link) with every field the
 * registry-api app's models require; 409 EMAIL_EXISTS when the email is taken. Shared by registration
 * and the public subscribe flow.
 */
export async function insertPerson(ctx: RequestContext, body: NewPerson): Promise<Item> {
  const email = normaliseEmail(body.email);
  // Compared ignoring case with every stored address, including mixed-case ones the registry-api wrote.
  if ((await peopleWithEmailAnyCase(email)).length > 0) throw emailExists();
  const now = new Date().toISOString();
  const person: Item = {
    id: randomUUID(),
    ...personItemDefaults(),
    firstName: body.firstName,
    lastName: body.lastName,
    email,
    ...(body.phone !== undefined ? { phone: body.phone } : {}),
    ...(body.dateOfBirth !== undefined ? { dateOfBirth: body.dateOfBirth } : {}),
    address: addressItem(body.address),
    failedLoginAttempts: 0,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  await ddb().send(new PutCommand({ TableName: table("PeopleTable"), Item: person, ConditionExpression: "attribute_not_exists(id)" }));
  // Two registrations racing past the check above: the later one (by createdAt, then id) backs out.
  const holders = await holdersOf(email);
  if (holders.some((h) => h.id !== person.id && `${h.createdAt}|${h.id}` < `${now}|${person.id}`)) {
    await ddb().send(new DeleteCommand({ TableName: table("PeopleTable"), Key: { id: person.id } }));
    throw emailExists();
  }
  const { link } = await createResetToken(person, SET_PASSWORD_TTL_SECONDS, "welcome");
  await sendEmail({ to: email, template: "welcome", ...renderEmail("welcome", { firstName: body.firstName, link }) }, ctx.log);
  await audit(
    { action: "PERSON_CREATED", personId: String(person.id), success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { by: ctx.principal?.id ?? "self-registration" } },
    ctx.log,
  );
  return person;
}

export async function getPersonRoute(ctx: RequestContext): Promise<Reply> {
  const p = requireSelfOrAdmin(ctx, ctx.params.id);
  // The caller's own item was just read (consistently) to authenticate them.
  const person = p.id === ctx.params.id ? p.person : await getPerson(ctx.params.id);
  if (!person) throw notFound("Person");
  return json(200, safePerson(person));
}

export async function updatePerson(ctx: RequestContext): Promise<Reply> {
  const p = requireSelfOrAdmin(ctx, ctx.params.id);
  const body = ctx.body(p.isAdmin ? AdminUpdate : SelfUpdate) as z.infer<typeof AdminUpdate>;
  const { version, currentPassword, ...changes } = body;
  const fields = Object.keys(changes).filter((k) => (changes as Record<string, unknown>)[k] !== undefined);
  if (fields.length === 0) throw new HttpError(400, "VALIDATION_ERROR", "Nothing to update", [{ field: "body", code: "empty_update", message: "Give at least one field to change" }]);

  const current = await getPerson(ctx.params.id);
  if (!current) throw notFound("Person");
  // Always-present fields: null (clear) stores the "unknown" value; an address is stored whole.
  if (changes.phone === null) changes.phone = "";
  if (changes.dateOfBirth === null) changes.dateOfBirth = "";
  if (changes.address !== undefined) changes.address = addressItem(changes.address);
  const previousEmail = String(current.email ?? "");
  if (changes.email !== undefined) {
    changes.email = normaliseEmail(changes.email);
    if (changes.email === previousEmail) delete changes.email;
  }
  const emailChange = changes.email !== undefined;
  if (emailChange) {
    // A stolen token alone must not be enough to move the account (and its resets) to another mailbox.
    await assertCurrentPassword(p.person, currentPassword);
    if ((await peopleWithEmailAnyCase(changes.email as string)).some((h) => h.id !== current.id)) throw emailExists();
  }
  const updated = await updateWithVersion("PeopleTable", ctx.params.id, changes, version);
  if (!updated) {
    const now = await getPerson(ctx.params.id);
    if (!now) throw notFound("Person");
    throw new HttpError(409, "CONFLICT", `The person was changed by someone else (current version ${itemVersion(now)})`);
  }
  if (changes.isActive === false) await endSessionsOf(ctx.params.id);
  else if (emailChange) {
    // The old mailbox hears about it, its reset links die, and every other session ends.
    await endSessionsOf(ctx.params.id, p.id === ctx.params.id ? p.sid : undefined);
    await revokeResetTokens(updated, previousEmail);
    if (previousEmail) {
      await sendEmail({ to: previousEmail, template: "email_changed", ...renderEmail("email_changed", { firstName: String(updated.firstName ?? "") }) }, ctx.log);
    }
  }
  await audit({ action: "PERSON_UPDATED", personId: ctx.params.id, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { fields, by: p.id } }, ctx.log);
  return json(200, safePerson(updated));
}

export async function deletePerson(ctx: RequestContext): Promise<Reply> {
  const p = requirePrincipal(ctx);
  const id = ctx.params.id;
  try {
    await ddb().send(new DeleteCommand({ TableName: table("PeopleTable"), Key: { id }, ConditionExpression: "attribute_exists(id)" }));
  } catch (err) {
    if (isConditionFailure(err)) throw notFound("Person");
    throw err;
  }
  const subscriptions = await personSubscriptions(id);
  for (const s of subscriptions) await removeSubscription(s);
  await endSessionsOf(id);
  await audit({ action: "PERSON_DELETED", personId: id, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { by: p.id, subscriptionsDeleted: subscriptions.length } }, ctx.log);
  return noContent();
}

export const personSubscriptions = (personId: string): Promise<Item[]> =>
  queryAll({ TableName: table("SubscriptionsTable"), IndexName: "PersonIndex", KeyConditionExpression: "personId = :p", ExpressionAttributeValues: { ":p": personId } });

export async function listPersonSubscriptions(ctx: RequestContext): Promise<Reply> {
  requireSelfOrAdmin(ctx, ctx.params.id);
  if (!(await getPerson(ctx.params.id))) throw notFound("Person");
  const subscriptions = await personSubscriptions(ctx.params.id);
  return listReply(subscriptions.map(subscriptionView), { complete: true });
}
