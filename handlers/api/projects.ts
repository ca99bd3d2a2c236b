// /projects routes. Listing and reading are public; writes are admin-only with a `version` check.
import { randomUUID } from "node:crypto";
import { audit } from "../lib/audit";
import { BatchGetCommand, ddb, DeleteCommand, isConditionFailure, type Item, PutCommand, queryAll, scanPage, table, updateWithVersion } from "../lib/db";
import { HttpError, json, listReply, noContent, notFound, type Reply } from "../lib/http";
import { itemVersion, safePerson, timestamp } from "../lib/people";
import { type RequestContext, requirePrincipal } from "../lib/pipeline";
import { isoDateOrDateTime, maxText, nonEmpty, pageQuery } from "../lib/validation";
import * as z from "../lib/zod";
import { getProject, subscriptionView } from "./subscriptions";

export const PROJECT_STATUSES = ["active", "inactive", "completed", "cancelled"] as const;

const projectFields = {
  name: nonEmpty(200),
  description: maxText(5000),
  status: z.enum(PROJECT_STATUSES),
  maxParticipants: z.number().check(z.int(), z.gte(0), z.lte(1_000_000)),
  startDate: isoDateOrDateTime,
  endDate: isoDateOrDateTime,
  // The real clients' model fields (web frontend, registry-api HEAD).
  registrationEndDate: isoDateOrDateTime,
  isEnabled: z.boolean(),
  category: maxText(100),
  location: maxText(200),
  requirements: maxText(5000),
};
const CreateProject = z.strictObject({
  name: projectFields.name,
  description: z.optional(projectFields.description),
  status: z.optional(projectFields.status),
  maxParticipants: z.optional(projectFields.maxParticipants),
  startDate: z.optional(projectFields.startDate),
  endDate: z.optional(projectFields.endDate),
  registrationEndDate: z.optional(projectFields.registrationEndDate),
  isEnabled: z.optional(projectFields.isEnabled),
  category: z.optional(projectFields.category),
  location: z.optional(projectFields.location),
  requirements: z.optional(projectFields.requirements),
  // The frontend's form sends one; the server always records the caller instead.
  createdBy: z.optional(maxText(200)),
});
const UpdateProject = z.strictObject({
  name: z.optional(projectFields.name),
  description: z.optional(z.nullable(projectFields.description)),
  status: z.optional(projectFields.status),
  maxParticipants: z.optional(projectFields.maxParticipants),
  startDate: z.optional(z.nullable(projectFields.startDate)),
  endDate: z.optional(z.nullable(projectFields.endDate)),
  registrationEndDate: z.optional(z.nullable(projectFields.registrationEndDate)),
  isEnabled: z.optional(projectFields.isEnabled),
  category: z.optional(z.nullable(projectFields.category)),
  location: z.optional(z.nullable(projectFields.location)),
  requirements: z.optional(z.nullable(projectFields.requirements)),
  // Optional: when given it must match (409 CONFLICT); without it the last writer wins.
  version: z.optional(z.number().check(z.int(), z.gte(1))),
});

/** Optional model fields stored as given. */
const OPTIONAL_FIELDS = ["description", "startDate", "endDate", "registrationEndDate", "category", "location", "requirements"] as const;

function assertDateOrder(start: unknown, end: unknown): void {
  if (typeof start === "string" && typeof end === "string" && Date.parse(start) > Date.parse(end)) {
    throw new HttpError(400, "VALIDATION_ERROR", "Request body is invalid", [{ field: "endDate", code: "date_order", message: "endDate must not be before startDate" }]);
  }
}

/** What a project shows to anyone (the list and read routes are public): the model's fields, never the raw item. */
const PUBLIC_PROJECT_FIELDS = [
  "id", "name", "status", "maxParticipants", "startDate", "endDate", "registrationEndDate", "category", "location", "requirements", "createdBy",
] as const;

/** A project as clients read it; projects written by the registry-api app lack version, counter and flag. */
export const projectView = (item: Item): Item => {
  const view: Item = {};
  for (const field of PUBLIC_PROJECT_FIELDS) if (item[field] !== undefined && item[field] !== null) view[field] = item[field];
  return {
    ...view,
    description: typeof item.description === "string" ? item.description : "",
    isEnabled: item.isEnabled !== false,
    createdAt: timestamp(item.createdAt),
    updatedAt: timestamp(item.updatedAt),
    version: itemVersion(item),
    ...(typeof item.subscriberCount === "number" ? { subscriberCount: item.subscriberCount } : {}),
  };
};

export async function listProjects(ctx: RequestContext): Promise<Reply> {
  const { limit, nextToken } = pageQuery(ctx.query);
  const page = await scanPage("ProjectsTable", limit, nextToken);
  return listReply(page.items.map(projectView), { nextToken: page.nextToken });
}

export async function createProject(ctx: RequestContext): Promise<Reply> {
  const p = requirePrincipal(ctx);
  const body = ctx.body(CreateProject);
  assertDateOrder(body.startDate, body.endDate);
  const now = new Date().toISOString();
  const project: Item = {
    id: randomUUID(),
    name: body.name,
    status: body.status ?? "active",
    maxParticipants: body.maxParticipants ?? 0,
    isEnabled: body.isEnabled ?? true,
    subscriberCount: 0,
    createdBy: p.id,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  for (const f of OPTIONAL_FIELDS) if (body[f] !== undefined) project[f] = body[f];
  await ddb().send(new PutCommand({ TableName: table("ProjectsTable"), Item: project, ConditionExpression: "attribute_not_exists(id)" }));
  await audit({ action: "PROJECT_CREATED", personId: p.id, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { projectId: project.id } }, ctx.log);
  return json(201, projectView(project));
}

export async function getProjectRoute(ctx: RequestContext): Promise<Reply> {
  const project = await getProject(ctx.params.id);
  if (!project) throw notFound("Project");
  return json(200, projectView(project));
}

export async function updateProject(ctx: RequestContext): Promise<Reply> {
  const p = requirePrincipal(ctx);
  const { version, ...changes } = ctx.body(UpdateProject);
  const fields = Object.keys(changes).filter((k) => (changes as Record<string, unknown>)[k] !== undefined);
  if (fields.length === 0) throw new HttpError(400, "VALIDATION_ERROR", "Nothing to update", [{ field: "body", code: "empty_update", message: "Give at least one field to change" }]);
  const current = await getProject(ctx.params.id);
  if (!current) throw notFound("Project");
  const merged = { ...current, ...changes };
  assertDateOrder(merged.startDate, merged.endDate);

  // No upsert: a project deleted meanwhile is a 404.
  const updated = await updateWithVersion("ProjectsTable", ctx.params.id, changes, version);
  if (!updated) {
    const now = await getProject(ctx.params.id);
    if (!now) throw notFound("Project");
    throw new HttpError(409, "CONFLICT", `The project was changed by someone else (current version ${itemVersion(now)})`);
  }
  await audit({ action: "PROJECT_UPDATED", personId: p.id, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { projectId: ctx.params.id, fields } }, ctx.log);
  return json(200, projectView(updated));
}

const projectSubscriptions = (projectId: string): Promise<Item[]> =>
  queryAll({ TableName: table("SubscriptionsTable"), IndexName: "ProjectIndex", KeyConditionExpression: "projectId = :p", ExpressionAttributeValues: { ":p": projectId } });

export async function deleteProject(ctx: RequestContext): Promise<Reply> {
  const p = requirePrincipal(ctx);
  const id = ctx.params.id;
  try {
    await ddb().send(new DeleteCommand({ TableName: table("ProjectsTable"), Key: { id }, ConditionExpression: "attribute_exists(id)" }));
  } catch (err) {
    if (isConditionFailure(err)) throw notFound("Project");
    throw err;
  }
  const subs = await projectSubscriptions(id);
  await Promise.all(subs.map((s) => ddb().send(new DeleteCommand({ TableName: table("SubscriptionsTable"), Key: { id: s.id } }))));
  await audit({ action: "PROJECT_DELETED", personId: p.id, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { projectId: id, subscriptionsDeleted: subs.length } }, ctx.log);
  return noContent();
}

export async function listSubscribers(ctx: RequestContext): Promise<Reply> {
  if (!(await getProject(ctx.params.id))) throw notFound("Project");
  const subs = await projectSubscriptions(ctx.params.id);
  const people = new Map<string, Item>();
  const ids = [...new Set(subs.map((s) => String(s.personId)))];
  for (let i = 0; i < ids.length; i += 100) {
    let keys: Record<string, unknown>[] | undefined = ids.slice(i, i + 100).map((id) => ({ id }));
    while (keys && keys.length) {
      const out = await ddb().send(new BatchGetCommand({ RequestItems: { [table("PeopleTable")]: { Keys: keys } } }));
      for (const item of (out.Responses?.[table("PeopleTable")] ?? []) as Item[]) people.set(String(item.id), item);
      keys = out.UnprocessedKeys?.[table("PeopleTable")]?.Keys as Record<string, unknown>[] | undefined;
    }
  }
  // One row per subscription: the person's safe view with the subscription's fields beside it.
  const subscribers = subs.map((s) => {
    const person = people.get(String(s.personId)) ?? { id: s.personId };
    const { status, notes, subscribedAt } = subscriptionView(s);
    return { ...safePerson(person), subscriptionId: s.id, status, subscriptionStatus: status, notes, subscribedAt };
  });
  return listReply(subscribers, { complete: true });
}
