// bcrypt hashing (bcryptjs: pure JS, reads and writes the $2a$/$2b$/$2y$ hashes Python's bcrypt makes).
// Passwords are hashed exactly as typed: no trimming, escaping or normalising.
import bcrypt from "bcryptjs";
import { config } from "./config";

const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
export const isBcryptHash = (value: unknown): value is string => typeof value === "string" && BCRYPT_HASH.test(value);

export const hashPassword = (password: string): Promise<string> => bcrypt.hash(password, config().bcryptCost);

let dummyHash: Promise<string> | undefined;

/**
 * Compare a password with a stored hash. With no usable hash it still runs one bcrypt comparison
 * (against a dummy hash of the configured cost), so unknown accounts answer in about the same time.
 */
export async function verifyPassword(password: string, hash: unknown): Promise<boolean> {
  if (!isBcryptHash(hash)) {
    dummyHash ??= bcrypt.hash("dummy-password-for-timing", config().bcryptCost);
    await bcrypt.compare(password, await dummyHash);
    return false;
  }
  // bcrypt itself only uses the first 72 bytes of a password (for every implementation, Python's too).
  return bcrypt.compare(password, hash);
}
