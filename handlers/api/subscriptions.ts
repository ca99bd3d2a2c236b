// Subscriptions. One subscription per (person, project), enforced atomically: its id is derived from
// the pair, so a second create fails its condition. Capacity is an atomic counter on the project
// (`subscriberCount` < maxParticipants) written in the same transaction, so 20 parallel requests for
// 5 places give exactly 5. Only active subscriptions hold a place: a pending one (the public subscribe
// flow) takes its place when an admin activates it, with the same atomic check.
import { createHash } from "node:crypto";
import { audit } from "../lib/audit";
import { cancellationCodes, ddb, DeleteCommand, GetCommand, isConditionFailure, type Item, queryAll, QueryCommand, scanPage, table, TransactWriteCommand, UpdateCommand } from "../lib/db";
import { HttpError, json, listReply, noContent, notFound, rawBody, type Reply } from "../lib/http";
import { getPerson, timestamp } from "../lib/people";
import { type RequestContext, requirePrincipal, requireSelfOrAdmin } from "../lib/pipeline";
import { maxText, pageQuery, uuidV4 } from "../lib/validation";
import * as z from "../lib/zod";

export const SUBSCRIPTION_STATUSES = ["active", "pending", "inactive", "cancelled", "completed"] as const;

/** A subscription's notes (the admin forms and the public subscribe page). */
export const notesField = maxText(2000);
// `subscribedBy` is sent by the web frontend; the server records the caller instead.
const subscribedBy = maxText(200);
const CreateSubscription = z.strictObject({
  personId: uuidV4,
  projectId: uuidV4,
  status: z.optional(z.enum(SUBSCRIPTION_STATUSES)),
  notes: z.optional(notesField),
  subscribedBy: z.optional(subscribedBy),
});
const SubscribeBody = z.strictObject({ notes: z.optional(notesField), subscribedBy: z.optional(subscribedBy) });
const UpdateSubscription = z.strictObject({ status: z.optional(z.enum(SUBSCRIPTION_STATUSES)), notes: z.optional(notesField) });

/** Whether a subscription holds one of the project's places (records without a status are active ones). */
const holdsPlace = (sub: Item): boolean => sub.status === undefined || sub.status === "active";

/** A subscription as clients read it (the web frontend reads `subscribedAt`). */
export function subscriptionView(item: Item): Item {
  const status = typeof item.status === "string" ? item.status : "active";
  return { ...item, status, notes: typeof item.notes === "string" ? item.notes : "", createdAt: timestamp(item.createdAt), updatedAt: timestamp(item.updatedAt), subscribedAt: timestamp(item.createdAt) };
}

/** The subscription id for a (person, project) pair: UUID-v4-shaped, derived from the pair. */
export function subscriptionId(personId: string, projectId: string): string {
  const h = createHash("sha256").update(`subscription|${personId.toLowerCase()}|${projectId.toLowerCase()}`).digest("hex");
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function getProject(id: string): Promise<Item | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: table("ProjectsTable"), Key: { id }, ConsistentRead: true }));
  return out.Item as Item | undefined;
}

async function getSubscription(id: string): Promise<Item | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: table("SubscriptionsTable"), Key: { id }, ConsistentRead: true }));
  return out.Item as Item | undefined;
}

/**
 * The subscription of this person to this project, whatever wrote it: ours have an id derived from the
 * pair, other clients' (the registry-api) random ones, so look it up through PersonIndex. Every page is
 * read: a filter applies after a page is cut, so one page could miss it.
 */
export async function findSubscription(personId: string, projectId: string): Promise<Item | undefined> {
  const found = await queryAll({
    TableName: table("SubscriptionsTable"),
    IndexName: "PersonIndex",
    KeyConditionExpression: "personId = :p",
    FilterExpression: "projectId = :j",
    ExpressionAttributeValues: { ":p": personId, ":j": projectId },
  });
  return found[0];
}

/** Projects written before the counter existed get it once, from their ProjectIndex entries. */
async function ensureSubscriberCount(project: Item): Promise<void> {
  if (typeof project.subscriberCount === "number") return;
  const out = await ddb().send(
    new QueryCommand({
      TableName: table("SubscriptionsTable"),
      IndexName: "ProjectIndex",
      KeyConditionExpression: "projectId = :p",
      FilterExpression: "attribute_not_exists(#s) OR #s = :active",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: { ":p": project.id, ":active": "active" },
      Select: "COUNT",
    }),
  );
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: table("ProjectsTable"),
        Key: { id: project.id },
        UpdateExpression: "SET subscriberCount = :c",
        ConditionExpression: "attribute_exists(id) AND attribute_not_exists(subscriberCount)",
        ExpressionAttributeValues: { ":c": out.Count ?? 0 },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** The project has a free place (0 or no maxParticipants means unlimited). */
const HAS_ROOM = "(attribute_not_exists(maxParticipants) OR maxParticipants = :zero OR subscriberCount < maxParticipants)";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Send a transaction, retrying while it only lost a race with another transaction on the same items
 * (TransactionConflict): those did not fail a condition, they just came second.
 */
export async function sendTransaction(command: TransactWriteCommand, attempts = 12): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await ddb().send(command);
      return;
    } catch (err) {
      const codes = cancellationCodes(err);
      const conflictOnly = codes?.includes("TransactionConflict") && !codes.includes("ConditionalCheckFailed");
      const throttled = (err as { name?: string }).name === "TransactionConflictException";
      if (i >= attempts || !(conflictOnly || throttled)) throw err;
      await sleep(Math.floor(Math.random() * 20 * i) + 5);
    }
  }
}

export async function subscribe(
  ctx: RequestContext,
  personId: string,
  projectId: string,
  extra: { status?: string; notes?: string; project?: Item } = {},
): Promise<Item> {
  const [person, project] = await Promise.all([getPerson(personId), extra.project ?? getProject(projectId)]);
  if (!person) throw notFound("Person");
  if (!project) throw notFound("Project");
  if (project.status !== "active") throw new HttpError(409, "PROJECT_NOT_ACTIVE", "The project is not open for subscriptions");
  const already = (): HttpError => new HttpError(409, "ALREADY_SUBSCRIBED", "The person is already subscribed to this project");
  // Subscriptions written by other clients have random ids: look for one of those first.
  if (await findSubscription(personId, projectId)) throw already();
  await ensureSubscriberCount(project);

  const now = new Date().toISOString();
  const item: Item = {
    id: subscriptionId(personId, projectId),
    personId,
    projectId,
    status: extra.status ?? "active",
    notes: extra.notes ?? "",
    subscribedBy: ctx.principal?.id ?? personId,
    createdAt: now,
    updatedAt: now,
  };
  // The project item is checked (exists, active) either way; only a place-holding subscription counts.
  const projectCheck = holdsPlace(item)
    ? {
        Update: {
          TableName: table("ProjectsTable"),
          Key: { id: projectId },
          UpdateExpression: "SET subscriberCount = subscriberCount + :one",
          ConditionExpression: `attribute_exists(id) AND #status = :active AND ${HAS_ROOM}`,
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":one": 1, ":zero": 0, ":active": "active" },
        },
      }
    : {
        ConditionCheck: {
          TableName: table("ProjectsTable"),
          Key: { id: projectId },
          ConditionExpression: "attribute_exists(id) AND #status = :active",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":active": "active" },
        },
      };
  const transaction = new TransactWriteCommand({
    TransactItems: [
      { Put: { TableName: table("SubscriptionsTable"), Item: item, ConditionExpression: "attribute_not_exists(id)" } },
      projectCheck,
      { ConditionCheck: { TableName: table("PeopleTable"), Key: { id: personId }, ConditionExpression: "attribute_exists(id)" } },
    ],
  });
  try {
    await sendTransaction(transaction);
  } catch (err) {
    const codes = cancellationCodes(err);
    if (!codes) throw err;
    if (codes[0] === "ConditionalCheckFailed") throw already();
    if (codes[2] === "ConditionalCheckFailed") throw notFound("Person");
    if (codes[1] === "ConditionalCheckFailed") {
      const now = await getProject(projectId);
      if (!now) throw notFound("Project");
      if (now.status !== "active") throw new HttpError(409, "PROJECT_NOT_ACTIVE", "The project is not open for subscriptions");
      throw new HttpError(409, "PROJECT_FULL", "The project has no places left");
    }
    // Conflicts between concurrent transactions on the same project: the caller may retry.
    throw new HttpError(409, "CONFLICT", "The project is busy; try again");
  }
  await audit({ action: "SUBSCRIPTION_CREATED", personId, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { projectId, subscriptionId: item.id, by: ctx.principal?.id } }, ctx.log);
  return item;
}

/** Delete a subscription and give its place back; false when it was already gone. */
export async function removeSubscription(sub: Item): Promise<boolean> {
  if (!holdsPlace(sub)) return deleteOnly(sub);
  try {
    await sendTransaction(
      new TransactWriteCommand({
        TransactItems: [
          { Delete: { TableName: table("SubscriptionsTable"), Key: { id: sub.id }, ConditionExpression: "attribute_exists(id)" } },
          {
            Update: {
              TableName: table("ProjectsTable"),
              Key: { id: sub.projectId },
              UpdateExpression: "SET subscriberCount = subscriberCount - :one",
              ConditionExpression: "attribute_exists(id) AND subscriberCount > :zero",
              ExpressionAttributeValues: { ":one": 1, ":zero": 0 },
            },
          },
        ],
      }),
    );
    return true;
  } catch (err) {
    const codes = cancellationCodes(err);
    if (!codes) throw err;
    if (codes[0] === "ConditionalCheckFailed") return false;
    if (codes[1] !== "ConditionalCheckFailed") throw err;
  }
  // The project is gone or keeps no counter: just delete the subscription.
  return deleteOnly(sub);
}

async function deleteOnly(sub: Item): Promise<boolean> {
  try {
    await ddb().send(new DeleteCommand({ TableName: table("SubscriptionsTable"), Key: { id: sub.id }, ConditionExpression: "attribute_exists(id)" }));
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

async function unsubscribeItem(ctx: RequestContext, sub: Item): Promise<Reply> {
  if (!(await removeSubscription(sub))) throw notFound("Subscription");
  await audit(
    { action: "SUBSCRIPTION_DELETED", personId: String(sub.personId), success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { projectId: sub.projectId, subscriptionId: sub.id, by: ctx.principal?.id } },
    ctx.log,
  );
  return noContent();
}

// --- routes ------------------------------------------------------------------------------------

export async function subscribeRoute(ctx: RequestContext): Promise<Reply> {
  requireSelfOrAdmin(ctx, ctx.params.personId);
  // The web frontend sends `{}` or `{notes, subscribedBy}`; a missing body is fine too.
  const raw = rawBody(ctx.event);
  const body = raw === undefined || raw.trim() === "" ? {} : ctx.body(SubscribeBody);
  const subscription = await subscribe(ctx, ctx.params.personId, ctx.params.id, { notes: body.notes });
  return json(201, subscriptionView(subscription));
}

export async function unsubscribeRoute(ctx: RequestContext): Promise<Reply> {
  const { id: projectId, personId } = ctx.params;
  requireSelfOrAdmin(ctx, personId);
  const sub = (await getSubscription(subscriptionId(personId, projectId))) ?? (await findSubscription(personId, projectId));
  if (!sub) throw notFound("Subscription");
  return unsubscribeItem(ctx, sub);
}

export async function listSubscriptions(ctx: RequestContext): Promise<Reply> {
  const { limit, nextToken } = pageQuery(ctx.query);
  const page = await scanPage("SubscriptionsTable", limit, nextToken);
  return listReply(page.items.map(subscriptionView), { nextToken: page.nextToken });
}

export async function createSubscription(ctx: RequestContext): Promise<Reply> {
  const body = ctx.body(CreateSubscription);
  requireSelfOrAdmin(ctx, body.personId);
  const subscription = await subscribe(ctx, body.personId, body.projectId, { status: body.status, notes: body.notes });
  return json(201, subscriptionView(subscription));
}

/**
 * Admin: change a subscription's status or notes. Taking a place (e.g. activating a pending one) checks
 * capacity atomically (409 PROJECT_FULL); giving one up returns it. The status it had is a condition,
 * so two admins acting at once cannot both move the counter.
 */
export async function updateSubscription(ctx: RequestContext): Promise<Reply> {
  const body = ctx.body(UpdateSubscription);
  if (body.status === undefined && body.notes === undefined) {
    throw new HttpError(400, "VALIDATION_ERROR", "Nothing to update", [{ field: "body", code: "empty_update", message: "Give status or notes" }]);
  }
  const current = await getSubscription(ctx.params.id);
  if (!current) throw notFound("Subscription");
  const next: Item = { ...current, ...(body.status !== undefined ? { status: body.status } : {}), ...(body.notes !== undefined ? { notes: body.notes } : {}) };
  const delta = Number(holdsPlace(next)) - Number(holdsPlace(current));
  const now = new Date().toISOString();
  const subscriptionUpdate = {
    TableName: table("SubscriptionsTable"),
    Key: { id: current.id },
    UpdateExpression: "SET #s = :next, notes = :notes, updatedAt = :now",
    ConditionExpression: current.status === undefined ? "attribute_exists(id) AND attribute_not_exists(#s)" : "attribute_exists(id) AND #s = :was",
    ExpressionAttributeNames: { "#s": "status" },
    ExpressionAttributeValues: { ":next": next.status ?? "active", ":notes": typeof next.notes === "string" ? next.notes : "", ":now": now, ...(current.status === undefined ? {} : { ":was": current.status }) },
  };
  const changed = (): HttpError => new HttpError(409, "CONFLICT", "The subscription was changed by someone else; reload it");
  // The subscription alone, when no place moves (or its project keeps no counter to give one back to).
  const updateOnly = async (): Promise<void> => {
    try {
      await ddb().send(new UpdateCommand(subscriptionUpdate));
    } catch (err) {
      if (isConditionFailure(err)) throw changed();
      throw err;
    }
  };
  if (delta === 0) {
    await updateOnly();
  } else {
    const project = await getProject(String(current.projectId));
    if (project) await ensureSubscriberCount(project);
    const counter =
      delta > 0
        ? { UpdateExpression: "SET subscriberCount = subscriberCount + :one", ConditionExpression: `attribute_exists(id) AND ${HAS_ROOM}`, ExpressionAttributeValues: { ":one": 1, ":zero": 0 } }
        : { UpdateExpression: "SET subscriberCount = subscriberCount - :one", ConditionExpression: "attribute_exists(id) AND subscriberCount > :zero", ExpressionAttributeValues: { ":one": 1, ":zero": 0 } };
    try {
      await sendTransaction(
        new TransactWriteCommand({
          TransactItems: [{ Update: subscriptionUpdate }, { Update: { TableName: table("ProjectsTable"), Key: { id: current.projectId }, ...counter } }],
        }),
      );
    } catch (err) {
      const codes = cancellationCodes(err);
      if (!codes) throw err;
      if (codes[0] === "ConditionalCheckFailed") throw changed();
      if (codes[1] !== "ConditionalCheckFailed") throw new HttpError(409, "CONFLICT", "The project is busy; try again");
      if (delta > 0) {
        if (!project) throw notFound("Project");
        throw new HttpError(409, "PROJECT_FULL", "The project has no places left");
      }
      // Giving a place back to a project that is gone (or keeps no counter): only the subscription changes.
      await updateOnly();
    }
  }
  const admin = requirePrincipal(ctx);
  await audit(
    { action: "SUBSCRIPTION_UPDATED", personId: String(current.personId), success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { projectId: current.projectId, subscriptionId: current.id, status: next.status, by: admin.id } },
    ctx.log,
  );
  return json(200, subscriptionView({ ...next, status: next.status ?? "active", updatedAt: now }));
}

export async function deleteSubscription(ctx: RequestContext): Promise<Reply> {
  const sub = await getSubscription(ctx.params.id);
  if (!sub) throw notFound("Subscription");
  requireSelfOrAdmin(ctx, String(sub.personId));
  return unsubscribeItem(ctx, sub);
}
