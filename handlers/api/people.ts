// /people routes. Registration is public (CSRF-protected) and never takes a password: the welcome
// email carries a set-password link. Updates are partial with an optimistic `version` check.
import { randomUUID } from "node:crypto";
import { DeleteCommand, PutCommand, QueryCommand } from "../lib/db";
import { audit } from "../lib/audit";
import { createResetToken, SET_PASSWORD_TTL_SECONDS } from "../lib/credentials";
import { ddb, type Item, isConditionFailure, queryAll, scanPage, table, updateWithVersion } from "../lib/db";
import { renderEmail, sendEmail } from "../lib/email";
import { HttpError, json, noContent, notFound, type Reply } from "../lib/http";
import { findPersonByEmail, getPerson, itemVersion, normaliseEmail, safePerson } from "../lib/people";
import { type RequestContext, requirePrincipal, requireSelfOrAdmin } from "../lib/pipeline";
import { endSessionsOf } from "../lib/sessions";
import { emailField, isoDate, nonEmpty, pageQuery } from "../lib/validation";
import * as z from "zod/mini";
import { removeSubscription } from "./subscriptions";

const text = (max: number) => z.string().check(z.maxLength(max));
const Address = z.strictObject({
  street: z.optional(text(200)),
  city: z.optional(text(100)),
  state: z.optional(text(100)),
  country: z.optional(text(100)),
  postalCode: z.optional(text(20)),
});
const dateOfBirth = isoDate.check(z.refine((s) => s <= new Date().toISOString().slice(0, 10), "Must not be in the future"));
const phone = z.string().check(z.minLength(1), z.maxLength(40));

const CreatePerson = z.strictObject({
  firstName: nonEmpty(100),
  lastName: nonEmpty(100),
  email: emailField,
  phone: z.optional(phone),
  dateOfBirth: z.optional(dateOfBirth),
  address: z.optional(Address),
});

const profileUpdate = {
  firstName: z.optional(nonEmpty(100)),
  lastName: z.optional(nonEmpty(100)),
  email: z.optional(emailField),
  // null clears an optional field.
  phone: z.optional(z.nullable(phone)),
  dateOfBirth: z.optional(z.nullable(dateOfBirth)),
  address: z.optional(z.nullable(Address)),
  version: z.number().check(z.int(), z.gte(1)),
};
const SelfUpdate = z.strictObject(profileUpdate);
const AdminUpdate = z.strictObject({ ...profileUpdate, isAdmin: z.optional(z.boolean()), isActive: z.optional(z.boolean()) });

const emailExists = (): HttpError => new HttpError(409, "EMAIL_EXISTS", "A person with this email already exists");

export async function listPeople(ctx: RequestContext): Promise<Reply> {
  const { limit, nextToken } = pageQuery(ctx.query);
  const page = await scanPage("PeopleTable", limit, nextToken);
  const people = page.items.map(safePerson);
  return json(200, { people, count: people.length, ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
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
  const email = normaliseEmail(body.email);
  if (await findPersonByEmail(email)) throw emailExists();
  const now = new Date().toISOString();
  const person: Item = {
    id: randomUUID(),
    firstName: body.firstName,
    lastName: body.lastName,
    email,
    ...(body.phone !== undefined ? { phone: body.phone } : {}),
    ...(body.dateOfBirth !== undefined ? { dateOfBirth: body.dateOfBirth } : {}),
    ...(body.address !== undefined ? { address: body.address } : {}),
    isAdmin: false,
    isActive: true,
    requirePasswordChange: false,
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
  return json(201, { person: safePerson(person) });
}

export async function getPersonRoute(ctx: RequestContext): Promise<Reply> {
  const p = requireSelfOrAdmin(ctx, ctx.params.id);
  // The caller's own item was just read (consistently) to authenticate them.
  const person = p.id === ctx.params.id ? p.person : await getPerson(ctx.params.id);
  if (!person) throw notFound("Person");
  return json(200, { person: safePerson(person) });
}

export async function updatePerson(ctx: RequestContext): Promise<Reply> {
  const p = requireSelfOrAdmin(ctx, ctx.params.id);
  const body = ctx.body(p.isAdmin ? AdminUpdate : SelfUpdate) as z.infer<typeof AdminUpdate>;
  const { version, ...changes } = body;
  const fields = Object.keys(changes).filter((k) => (changes as Record<string, unknown>)[k] !== undefined);
  if (fields.length === 0) throw new HttpError(400, "VALIDATION_ERROR", "Nothing to update", [{ field: "body", code: "empty_update", message: "Give at least one field to change" }]);

  const current = await getPerson(ctx.params.id);
  if (!current) throw notFound("Person");
  if (changes.email !== undefined) {
    changes.email = normaliseEmail(changes.email);
    if (changes.email !== current.email && (await holdersOf(changes.email)).some((h) => h.id !== current.id)) throw emailExists();
  }
  const updated = await updateWithVersion("PeopleTable", ctx.params.id, changes, version);
  if (!updated) {
    const now = await getPerson(ctx.params.id);
    if (!now) throw notFound("Person");
    throw new HttpError(409, "CONFLICT", `The person was changed by someone else (current version ${itemVersion(now)})`);
  }
  if (changes.isActive === false) await endSessionsOf(ctx.params.id);
  await audit({ action: "PERSON_UPDATED", personId: ctx.params.id, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { fields, by: p.id } }, ctx.log);
  return json(200, { person: safePerson(updated) });
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
  return json(200, { subscriptions, count: subscriptions.length });
}
