// Person items: lookups (GetItem by id, EmailIndex by email, never a scan) and the safe view.
import { ddb, GetCommand, type Item, QueryCommand, scanAll, table } from "./db";

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

/** The address keys both clients use (the web frontend and registry-api HEAD). */
export const ADDRESS_FIELDS = ["street", "city", "state", "country", "postalCode"] as const;
export type Address = Record<(typeof ADDRESS_FIELDS)[number], string>;

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/**
 * An address as the clients read it: every key a string ("" when unknown). Older or foreign records
 * are read too: `zipCode` (registry-api 3b58af3's model alias) and `zip_code` (what 3b58af3 wrote).
 */
export function addressView(value: unknown): Address {
  const a = value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  return {
    street: str(a.street),
    city: str(a.city),
    state: str(a.state),
    country: str(a.country),
    postalCode: str(a.postalCode) || str(a.zipCode) || str(a.zip_code),
  };
}

/**
 * The address as stored: the five keys, plus `zipCode` with the same value, because registry-api
 * 3b58af3 reads the postal code under that name (HEAD reads `postalCode` and ignores the extra key).
 */
export const addressItem = (value: unknown): Address & { zipCode: string } => {
  const a = addressView(value);
  return { ...a, zipCode: a.postalCode };
};

/**
 * The fields every person item carries, so the registry-api app (both revisions) can read the record:
 * its models require phone, dateOfBirth and address on every item, and HEAD also the flags.
 */
export function personItemDefaults(): Item {
  return { phone: "", dateOfBirth: "", address: addressItem({}), isAdmin: false, isActive: true, requirePasswordChange: false, emailVerified: false };
}

export function safePerson(item: Item): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  for (const f of SAFE_PERSON_FIELDS) if (item[f] !== undefined) view[f] = item[f];
  // The web frontend renders these without a guard; items written by the registry-api app (or before
  // these fields existed) may lack them or use other names: report what they mean.
  view.firstName = str(item.firstName);
  view.lastName = str(item.lastName);
  view.email = str(item.email);
  view.phone = str(item.phone);
  view.dateOfBirth = str(item.dateOfBirth);
  view.address = addressView(item.address);
  view.isAdmin = item.isAdmin === true;
  view.isActive = item.isActive !== false;
  view.requirePasswordChange = item.requirePasswordChange === true;
  view.createdAt = timestamp(item.createdAt);
  view.updatedAt = timestamp(item.updatedAt);
  view.version = itemVersion(item);
  return view;
}

/**
 * A stored timestamp in the contract's form (ISO 8601 UTC with `Z`). The registry-api app writes naive
 * ISO strings (UTC, no zone): those get their `Z`. Anything unreadable is passed on as it is.
 */
export function timestamp(value: unknown): string {
  if (typeof value !== "string") return "";
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) {
    const parsed = new Date(`${value}Z`);
    if (!Number.isNaN(parsed.getTime())) return parsed.toISOString();
  }
  return value;
}

/** Items written before optimistic concurrency have no `version`: they count as version 1. */
export const itemVersion = (item: Item): number => (typeof item.version === "number" ? item.version : 1);

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

export async function getPerson(id: string): Promise<Item | undefined> {
  const out = await ddb().send(new GetCommand({ TableName: table("PeopleTable"), Key: { id }, ConsistentRead: true }));
  return out.Item as Item | undefined;
}

/** The person with this email, read consistently by id after the index lookup. */
export async function findPersonByEmail(email: string): Promise<Item | undefined> {
  const normalised = normaliseEmail(email);
  // Older items may hold the address as typed: an exact match wins over the lower-cased form, so a
  // look-alike registered in lower case can never take over a mixed-case owner's login or resets.
  for (const candidate of normalised === email ? [normalised] : [email, normalised]) {
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

/**
 * Every person whose email equals this one ignoring case (id, email, createdAt). The TypeScript
 * handlers store emails lower-cased, but the registry-api app stores them as typed, and no index can
 * find "Alice@x.com" from "alice@x.com": so this reads the whole table's ids and emails (a projected,
 * consistent, paged scan). Only registration and email changes call it; both are rate-limited.
 */
export async function peopleWithEmailAnyCase(email: string): Promise<Item[]> {
  const wanted = normaliseEmail(email);
  const all = await scanAll({ TableName: table("PeopleTable"), ProjectionExpression: "id, email, createdAt", ConsistentRead: true });
  return all.filter((item) => typeof item.email === "string" && normaliseEmail(item.email) === wanted);
}
