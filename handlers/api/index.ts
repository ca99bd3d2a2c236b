// The api function (the "enhanced" handler): every contract route whose `fn` is "api".
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { createHandler, onFirstUse, routeKey } from "../lib/pipeline";
import { health } from "./health";

// Route modules are evaluated on their first request (onFirstUse), not at cold start.
const admin = onFirstUse(() => require("./admin") as typeof import("./admin"));
const password = onFirstUse(() => require("./password") as typeof import("./password"));
const people = onFirstUse(() => require("./people") as typeof import("./people"));
const projects = onFirstUse(() => require("./projects") as typeof import("./projects"));
const publicPages = onFirstUse(() => require("./public") as typeof import("./public"));
const subscriptions = onFirstUse(() => require("./subscriptions") as typeof import("./subscriptions"));

const serve = createHandler("api", {
  [routeKey("GET", "/health")]: health,
  [routeKey("GET", "/auth/csrf-token")]: password((m) => m.csrfToken),
  [routeKey("PUT", "/auth/password")]: password((m) => m.changePassword),
  [routeKey("POST", "/auth/password-reset")]: password((m) => m.requestReset),
  [routeKey("GET", "/auth/password-reset")]: password((m) => m.checkReset),
  [routeKey("POST", "/auth/password-reset/confirm")]: password((m) => m.confirmReset),
  [routeKey("GET", "/people")]: people((m) => m.listPeople),
  [routeKey("POST", "/people")]: people((m) => m.createPerson),
  [routeKey("GET", "/people/{id}")]: people((m) => m.getPersonRoute),
  [routeKey("PUT", "/people/{id}")]: people((m) => m.updatePerson),
  [routeKey("DELETE", "/people/{id}")]: people((m) => m.deletePerson),
  [routeKey("GET", "/people/{id}/subscriptions")]: people((m) => m.listPersonSubscriptions),
  [routeKey("GET", "/projects")]: projects((m) => m.listProjects),
  [routeKey("POST", "/projects")]: projects((m) => m.createProject),
  [routeKey("GET", "/projects/{id}")]: projects((m) => m.getProjectRoute),
  [routeKey("PUT", "/projects/{id}")]: projects((m) => m.updateProject),
  [routeKey("DELETE", "/projects/{id}")]: projects((m) => m.deleteProject),
  [routeKey("GET", "/projects/{id}/subscribers")]: projects((m) => m.listSubscribers),
  [routeKey("POST", "/projects/{id}/subscribe/{personId}")]: subscriptions((m) => m.subscribeRoute),
  [routeKey("DELETE", "/projects/{id}/unsubscribe/{personId}")]: subscriptions((m) => m.unsubscribeRoute),
  [routeKey("GET", "/subscriptions")]: subscriptions((m) => m.listSubscriptions),
  [routeKey("POST", "/subscriptions")]: subscriptions((m) => m.createSubscription),
  [routeKey("PUT", "/subscriptions/{id}")]: subscriptions((m) => m.updateSubscription),
  [routeKey("DELETE", "/subscriptions/{id}")]: subscriptions((m) => m.deleteSubscription),
  [routeKey("GET", "/admin/dashboard")]: admin((m) => m.dashboard),
  [routeKey("POST", "/admin/password-reset")]: admin((m) => m.adminPasswordReset),
  [routeKey("POST", "/v2/people/check-email")]: publicPages((m) => m.checkEmail),
  [routeKey("POST", "/v2/subscriptions/check")]: publicPages((m) => m.checkSubscription),
  [routeKey("POST", "/v2/public/subscribe")]: publicPages((m) => m.publicSubscribe),
});

export async function handler(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
  return serve(event, context);
}
