// The web frontend's public subscribe page: check an email, check a subscription, ask to join a project.
// These calls carry no token and no CSRF header (the page sends none), so what protects them is the
// contract's rate limits (per IP, and per email for subscribe) and strict validation.
import { HttpError, json, type Reply } from "../lib/http";
import { findPersonByEmail } from "../lib/people";
import type { RequestContext } from "../lib/pipeline";
import { emailField, nonEmpty, phoneField, uuidV4 } from "../lib/validation";
import * as z from "../lib/zod";
import { insertPerson } from "./people";
import { findSubscription, getProject, notesField, subscribe, subscriptionView } from "./subscriptions";

const CheckEmail = z.strictObject({ email: emailField });
const CheckSubscription = z.strictObject({ email: emailField, projectId: uuidV4 });
const PublicSubscribe = z.strictObject({
  // The page sends `name` ("First Last"); `firstName` + `lastName` are accepted as well.
  person: z.strictObject({
    name: z.optional(nonEmpty(200)),
    firstName: z.optional(nonEmpty(100)),
    lastName: z.optional(nonEmpty(100)),
    email: emailField,
    phone: z.optional(phoneField),
  }),
  projectId: uuidV4,
  notes: z.optional(notesField),
});

/** First and last name from the subscribe form: either `name` or both parts, never a mix. */
function namesOf(person: z.infer<typeof PublicSubscribe>["person"]): { firstName: string; lastName: string } {
  const invalid = (message: string) => new HttpError(400, "VALIDATION_ERROR", "Request body is invalid", [{ field: "person.name", code: "invalid_name", message }]);
  if (person.name !== undefined) {
    if (person.firstName !== undefined || person.lastName !== undefined) throw invalid("Give name, or firstName and lastName, not both");
    const [first, ...rest] = person.name.trim().split(/\s+/);
    return { firstName: first.slice(0, 100), lastName: rest.join(" ").slice(0, 100) };
  }
  if (person.firstName === undefined || person.lastName === undefined) throw invalid("Give name, or firstName and lastName");
  return { firstName: person.firstName, lastName: person.lastName };
}

export async function checkEmail(ctx: RequestContext): Promise<Reply> {
  const { email } = ctx.body(CheckEmail);
  return json(200, { exists: (await findPersonByEmail(email)) !== undefined });
}

export async function checkSubscription(ctx: RequestContext): Promise<Reply> {
  const { email, projectId } = ctx.body(CheckSubscription);
  const person = await findPersonByEmail(email);
  const sub = person ? await findSubscription(String(person.id), projectId) : undefined;
  return json(200, { subscribed: sub !== undefined, subscription_status: sub ? subscriptionView(sub).status : null });
}

/**
 * A pending subscription for this email (the person is created, without a password, when new; an existing
 * person is not modified). The project must exist, be enabled, active and still open for registration.
 */
export async function publicSubscribe(ctx: RequestContext): Promise<Reply> {
  const body = ctx.body(PublicSubscribe);
  const names = namesOf(body.person);
  const project = await getProject(body.projectId);
  if (!project) throw new HttpError(404, "PROJECT_NOT_FOUND", "Project not found");
  if (project.isEnabled === false) throw new HttpError(409, "PROJECT_DISABLED", "The project does not take subscriptions");
  if (project.status !== "active") throw new HttpError(409, "PROJECT_NOT_ACTIVE", "The project is not open for subscriptions");
  if (registrationClosed(project.registrationEndDate)) throw new HttpError(409, "REGISTRATION_CLOSED", "Registration for this project has closed");

  let person = await findPersonByEmail(body.person.email);
  const personCreated = person === undefined;
  if (person && (await findSubscription(String(person.id), body.projectId))) {
    throw new HttpError(409, "ALREADY_SUBSCRIBED", "The person is already subscribed to this project");
  }
  person ??= await insertPerson(ctx, { ...names, email: body.person.email, ...(body.person.phone !== undefined ? { phone: body.person.phone } : {}) });
  const subscription = await subscribe(ctx, String(person.id), body.projectId, { status: "pending", notes: body.notes, project });
  return json(201, {
    message: "Subscription received: an administrator will review it",
    subscription: subscriptionView(subscription),
    person_created: personCreated,
  });
}

/** Registration is closed once `registrationEndDate` (a date: through its whole day, UTC) has passed. */
function registrationClosed(value: unknown, now = new Date()): boolean {
  if (typeof value !== "string" || value === "") return false;
  const end = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T23:59:59.999Z`) : Date.parse(value);
  return !Number.isNaN(end) && end < now.getTime();
}
