// Access tokens: HS256 JWTs with exactly the claims the registry-api app also reads (no `aud`).
import type * as Jose from "./jose";
import { config } from "./config";

// jose is evaluated on the first token signed or verified, not at cold start: anonymous requests
// (health, the public pages, a login that fails) never need it.
let jose: typeof Jose | undefined;
const lib = (): typeof Jose => (jose ??= require("./jose") as typeof Jose);

export interface TokenClaims {
  sub: string;
  email: string;
  firstName: string;
  lastName: string;
  isAdmin: boolean;
  sid: string;
  iat: number;
  exp: number;
}

export interface IssuedToken {
  token: string;
  claims: TokenClaims;
}

/** The claims a token carries about its person, from the stored person item. */
export function tokenSubject(person: Record<string, unknown>): { id: string; email: string; firstName: string; lastName: string; isAdmin: boolean } {
  return {
    id: String(person.id),
    email: String(person.email ?? ""),
    firstName: String(person.firstName ?? ""),
    lastName: String(person.lastName ?? ""),
    isAdmin: person.isAdmin === true,
  };
}

/** `notAfter` (epoch seconds) caps the expiry: a token never outlives its session's absolute lifetime. */
export async function issueToken(
  person: { id: string; email: string; firstName: string; lastName: string; isAdmin: boolean },
  sid: string,
  now = Date.now(),
  notAfter = Number.POSITIVE_INFINITY,
): Promise<IssuedToken> {
  const cfg = config();
  const iat = Math.floor(now / 1000);
  const claims: TokenClaims = {
    sub: person.id,
    email: person.email,
    firstName: person.firstName,
    lastName: person.lastName,
    isAdmin: person.isAdmin,
    sid,
    iat,
    exp: Math.min(iat + cfg.jwtExpirationHours * 3600, notAfter),
  };
  const token = await new (lib().SignJWT)({ ...claims }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(cfg.jwtSecret);
  return { token, claims };
}

/** Verify signature (HS256 only), expiry and claim types; undefined when the token is not acceptable. */
export async function verifyToken(token: string): Promise<TokenClaims | undefined> {
  try {
    const { payload } = await lib().jwtVerify(token, config().jwtSecret, { algorithms: ["HS256"], requiredClaims: ["sub", "sid", "exp", "iat"] });
    const p = payload as Record<string, unknown>;
    if (typeof p.sub !== "string" || typeof p.sid !== "string" || typeof p.exp !== "number" || typeof p.iat !== "number") return undefined;
    return {
      sub: p.sub,
      sid: p.sid,
      email: typeof p.email === "string" ? p.email : "",
      firstName: typeof p.firstName === "string" ? p.firstName : "",
      lastName: typeof p.lastName === "string" ? p.lastName : "",
      isAdmin: p.isAdmin === true,
      iat: p.iat,
      exp: p.exp,
    };
  } catch {
    return undefined;
  }
}

export const bearerToken = (authorization: string | undefined): string | undefined => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return m?.[1];
};
