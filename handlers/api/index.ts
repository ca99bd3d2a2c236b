// The api function (the "enhanced" handler): every contract route whose `fn` is "api".
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { createHandler, routeKey } from "../lib/pipeline";
import { adminPasswordReset, dashboard } from "./admin";
import { health } from "./health";
import { changePassword, checkReset, confirmReset, csrfToken, requestReset } from "./password";
import { createPerson, deletePerson, getPersonRoute, listPeople, listPersonSubscriptions, updatePerson } from "./people";
import { createProject, deleteProject, getProjectRoute, listProjects, listSubscribers, updateProject } from "./projects";
import { checkEmail, checkSubscription, publicSubscribe } from "./public";
import { createSubscription, deleteSubscription, listSubscriptions, subscribeRoute, unsubscribeRoute, updateSubscription } from "./subscriptions";

const serve = createHandler("api", {
  [routeKey("GET", "/health")]: health,
  [routeKey("GET", "/auth/csrf-token")]: csrfToken,
  [routeKey("PUT", "/auth/password")]: changePassword,
  [routeKey("POST", "/auth/password-reset")]: requestReset,
  [routeKey("GET", "/auth/password-reset")]: checkReset,
  [routeKey("POST", "/auth/password-reset/confirm")]: confirmReset,
  [routeKey("GET", "/people")]: listPeople,
  [routeKey("POST", "/people")]: createPerson,
  [routeKey("GET", "/people/{id}")]: getPersonRoute,
  [routeKey("PUT", "/people/{id}")]: updatePerson,
  [routeKey("DELETE", "/people/{id}")]: deletePerson,
  [routeKey("GET", "/people/{id}/subscriptions")]: listPersonSubscriptions,
  [routeKey("GET", "/projects")]: listProjects,
  [routeKey("POST", "/projects")]: createProject,
  [routeKey("GET", "/projects/{id}")]: getProjectRoute,
  [routeKey("PUT", "/projects/{id}")]: updateProject,
  [routeKey("DELETE", "/projects/{id}")]: deleteProject,
  [routeKey("GET", "/projects/{id}/subscribers")]: listSubscribers,
  [routeKey("POST", "/projects/{id}/subscribe/{personId}")]: subscribeRoute,
  [routeKey("DELETE", "/projects/{id}/unsubscribe/{personId}")]: unsubscribeRoute,
  [routeKey("GET", "/subscriptions")]: listSubscriptions,
  [routeKey("POST", "/subscriptions")]: createSubscription,
  [routeKey("PUT", "/subscriptions/{id}")]: updateSubscription,
  [routeKey("DELETE", "/subscriptions/{id}")]: deleteSubscription,
  [routeKey("GET", "/admin/dashboard")]: dashboard,
  [routeKey("POST", "/admin/password-reset")]: adminPasswordReset,
  [routeKey("POST", "/v2/people/check-email")]: checkEmail,
  [routeKey("POST", "/v2/subscriptions/check")]: checkSubscription,
  [routeKey("POST", "/v2/public/subscribe")]: publicSubscribe,
});

export async function handler(event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> {
  return serve(event, context);
}
