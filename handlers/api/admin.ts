// Admin routes: dashboard totals with recent audit entries, and admin-initiated password resets.
import { AUDIT_ACTIONS, audit } from "../lib/audit";
import { createResetToken, SET_PASSWORD_TTL_SECONDS } from "../lib/credentials";
import { countAll, ddb, isConditionFailure, type Item, QueryCommand, table, UpdateCommand } from "../lib/db";
import { renderEmail, sendEmail } from "../lib/email";
import { json, notFound, type Reply } from "../lib/http";
import { getPerson } from "../lib/people";
import { type RequestContext, requirePrincipal } from "../lib/pipeline";
import { uuidV4 } from "../lib/validation";
import * as z from "../lib/zod";

const RECENT_AUDIT = 20;
const AdminReset = z.strictObject({ personId: uuidV4 });

export async function dashboard(_ctx: RequestContext): Promise<Reply> {
  const [people, projects, activeProjects, subscriptions, recent] = await Promise.all([
    countAll("PeopleTable"),
    countAll("ProjectsTable"),
    countAll("ProjectsTable", { FilterExpression: "#s = :active", ExpressionAttributeNames: { "#s": "status" }, ExpressionAttributeValues: { ":active": "active" } }),
    countAll("SubscriptionsTable"),
    // The newest entries of each action (ActionIndex, newest first), merged: no scan of the log.
    Promise.all(
      AUDIT_ACTIONS.map((action) =>
        ddb().send(
          new QueryCommand({
            TableName: table("AuditLogsTable"),
            IndexName: "ActionIndex",
            KeyConditionExpression: "#a = :a",
            ExpressionAttributeNames: { "#a": "action" },
            ExpressionAttributeValues: { ":a": action },
            ScanIndexForward: false,
            Limit: RECENT_AUDIT,
          }),
        ),
      ),
    ),
  ]);
  const recentAudit = recent
    .flatMap((r) => (r.Items ?? []) as Item[])
    .sort((a, b) => String(b.timestamp).localeCompare(String(a.timestamp)))
    .slice(0, RECENT_AUDIT);
  // The flat numbers are what the web frontend reads; `totals` stays for the other clients.
  return json(200, {
    totalPeople: people,
    totalProjects: projects,
    totalSubscriptions: subscriptions,
    activeProjects,
    timestamp: new Date().toISOString(),
    totals: { people, projects, activeProjects, subscriptions },
    recentAudit,
  });
}

export async function adminPasswordReset(ctx: RequestContext): Promise<Reply> {
  const admin = requirePrincipal(ctx);
  const { personId } = ctx.body(AdminReset);
  const id = personId;
  const person = await getPerson(id);
  if (!person) throw notFound("Person");
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: table("PeopleTable"),
        Key: { id },
        UpdateExpression: "SET requirePasswordChange = :true, updatedAt = :now",
        ConditionExpression: "attribute_exists(id)",
        ExpressionAttributeValues: { ":true": true, ":now": new Date().toISOString() },
      }),
    );
  } catch (err) {
    if (isConditionFailure(err)) throw notFound("Person");
    throw err;
  }
  const { link } = await createResetToken(person, SET_PASSWORD_TTL_SECONDS, "admin");
  const emailed = await sendEmail({ to: String(person.email), template: "password_reset", ...renderEmail("password_reset", { firstName: String(person.firstName ?? ""), link }) }, ctx.log);
  await audit({ action: "PASSWORD_RESET_REQUESTED", personId: id, success: true, ipAddress: ctx.ip, userAgent: ctx.userAgent, details: { by: admin.id } }, ctx.log);
  return json(200, { personId: id, emailed });
}
