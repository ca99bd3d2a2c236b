// Person items: lookups (GetItem by id, EmailIndex by email, never a scan) and the safe view.
import { GetCommand, QueryCommand } from "./db";
import { ddb, type Item, table } from "./db";

/** The only person fields a response may carry (the contract's safe view). */
export const SAFE_PERSON_FIELDS = [
  "id",
  "firstName",
  "lastName",
  "email",
  "phone",
  "dateOfBirth",
  "address",
  "isAdmin",
  "isActive",
  "requirePasswordChange",
  "createdAt",
  "updatedAt",
  "version",
] as const;

export function safePerson(item: Item): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const f of SAFE_PERSON_FIELDS) if (item[f] !== undefined) view[f] = item[f];
  // Items written by the registry-api app may lack these; report what they mean.
  view.isAdmin = item.isAdmin === true;
  view.isActive = item.isActive !== false;
  view.requirePasswordChange = item.requirePasswordChange === true;
  view.version = itemVersion(item);
  return view;
}

/** Items written before optimistic concurrency have no `version`: they count as version 1. */
export const itemVersion = (item: Item): number => (typeof item.version === "number" ? item.version : 1);

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

export async function getPerson(id: string): Promise<Item | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: table("PeopleTable"), Key: { id }, ConsistentRead: true }));
  return out.Item as Item | undefined;
}

/** The person with this email (compared lower-cased), read consistently by id after the index lookup. */
export async function findPersonByEmail(email: string): Promise<Item | undefined> {
  const normalised = normaliseEmail(email);
  // Older items may hold the address as typed; look that up too when it differs.
  for (const candidate of normalised === email ? [normalised] : [normalised, email]) {
    const out = await ddb().send(
      new QueryCommand({
        TableName: table("PeopleTable"),
        IndexName: "EmailIndex",
        KeyConditionExpression: "email = :email",
        ExpressionAttributeValues: { ":email": candidate },
        ProjectionExpression: "id",
        Limit: 5,
      }),
    );
    const id = out.Items?.[0]?.id;
    if (typeof id === "string") return getPerson(id);
  }
  return undefined;
}

export const isActivePerson = (item: Item): boolean => item.isActive !== false;
