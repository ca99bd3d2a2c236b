// Subscriptions. One subscription per (person, project), enforced atomically: its id is derived from
// the pair, so a second create fails its condition. Capacity is an atomic counter on the project
// (`subscriberCount` < maxParticipants) written in the same transaction, so 20 parallel requests for
// 5 places give exactly 5.
import { createHash } from "node:crypto";
import { DeleteCommand, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from "../lib/db";
import { audit } from "../lib/audit";
import { cancellationCodes, ddb, type Item, isConditionFailure, scanPage, table } from "../lib/db";
import { HttpError, json, noContent, notFound, type Reply } from "../lib/http";
import { getPerson } from "../lib/people";
import { type RequestContext, requireSelfOrAdmin } from "../lib/pipeline";
import { pageQuery, uuidV4 } from "../lib/validation";
import * as z from "zod/mini";

export const SUBSCRIPTION_STATUSES = ["active", "pending", "inactive", "cancelled", "completed"] as const;

const CreateSubscription = z.strictObject({
  personId: uuidV4,
  projectId: uuidV4,
  status: z.optional(z.enum(SUBSCRIPTION_STATUSES)),
  notes: z.optional(z.string().check(z.maxLength(2000))),
});

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

/** Projects written before the counter existed get it once, from their ProjectIndex entries. */
async function ensureSubscriberCount(project: Item): Promise<void> {
  if (typeof project.subscriberCount === "number") return;
  const out = await ddb().send(
    new QueryCommand({ TableName: table("SubscriptionsTable"), IndexName: "ProjectIndex", KeyConditionExpression: "projectId = :p", ExpressionAttributeValues: { ":p": project.id }, Select: "COUNT" }),
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

export async function subscribe(ctx: RequestContext, personId: string, projectId: string, extra: { status?: string; notes?: string } = {}): Promise<Item> {
  const [person, project] = await Promise.all([getPerson(personId), getProject(projectId)]);
  if (!person) throw notFound("Person");
  if (!project) throw notFound("Project");
  if (project.status !== "active") throw new HttpError(409, "PROJECT_NOT_ACTIVE", "The project is not open for subscriptions");
  const already = (): HttpError => new HttpError(409, "ALREADY_SUBSCRIBED", "The person is already subscribed to this project");
  // Subscriptions written by other clients have random ids: look for one of those first.
  const existing = await ddb().send(
    new QueryCommand({
      TableName: table("SubscriptionsTable"),
      IndexName: "PersonIndex",
      KeyConditionExpression: "personId = :p",
      FilterExpression: "projectId = :j",
      ExpressionAttributeValues: { ":p": personId, ":j": projectId },
    }),
  );
  if ((existing.Items ?? []).length > 0) throw already();
  await ensureSubscriberCount(project);

  const now = new Date().toISOString();
  const item: Item = {
    id: subscriptionId(personId, projectId),
    personId,
    projectId,
    status: extra.status ?? "active",
    ...(extra.notes !== undefined ? { notes: extra.notes } : {}),
    createdAt: now,
    updatedAt: now,
  };
  const transaction = new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: table("SubscriptionsTable"), Item: item, ConditionExpression: "attribute_not_exists(id)" } },
          {
            Update: {
              TableName: table("ProjectsTable"),
              Key: { id: projectId },
              UpdateExpression: "SET subscriberCount = subscriberCount + :one",
              ConditionExpression:
                "attribute_exists(id) AND #status = :active AND (attribute_not_exists(maxParticipants) OR maxParticipants = :zero OR subscriberCount < maxParticipants)",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: { ":one": 1, ":zero": 0, ":active": "active" },
            },
          },
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
  const subscription = await subscribe(ctx, ctx.params.personId, ctx.params.id);
  return json(201, { subscription });
}

export async function unsubscribeRoute(ctx: RequestContext): Promise<Reply> {
  const { id: projectId, personId } = ctx.params;
  requireSelfOrAdmin(ctx, personId);
  let sub = await getSubscription(subscriptionId(personId, projectId));
  if (!sub) {
    const legacy = await ddb().send(
      new QueryCommand({
        TableName: table("SubscriptionsTable"),
        IndexName: "PersonIndex",
        KeyConditionExpression: "personId = :p",
        FilterExpression: "projectId = :j",
        ExpressionAttributeValues: { ":p": personId, ":j": projectId },
      }),
    );
    sub = legacy.Items?.[0] as Item | undefined;
  }
  if (!sub) throw notFound("Subscription");
  return unsubscribeItem(ctx, sub);
}

export async function listSubscriptions(ctx: RequestContext): Promise<Reply> {
  const { limit, nextToken } = pageQuery(ctx.query);
  const page = await scanPage("SubscriptionsTable", limit, nextToken);
  return json(200, { subscriptions: page.items, count: page.items.length, ...(page.nextToken ? { nextToken: page.nextToken } : {}) });
}

export async function createSubscription(ctx: RequestContext): Promise<Reply> {
  const body = ctx.body(CreateSubscription);
  requireSelfOrAdmin(ctx, body.personId);
  const subscription = await subscribe(ctx, body.personId, body.projectId, { status: body.status, notes: body.notes });
  return json(201, { subscription });
}

export async function deleteSubscription(ctx: RequestContext): Promise<Reply> {
  const sub = await getSubscription(ctx.params.id);
  if (!sub) throw notFound("Subscription");
  requireSelfOrAdmin(ctx, String(sub.personId));
  return unsubscribeItem(ctx, sub);
}
