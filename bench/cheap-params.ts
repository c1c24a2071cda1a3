/**
 * The scrypt cost the `cheap-scrypt` preload substitutes, and a password hash made with it
 * (same `scrypt$<salt>$<key>` format as lib/models/password.ts), so seeded users can log in
 * to a server started with the preload.
 */
import { randomBytes, scryptSync, type ScryptOptions } from 'node:crypto';

export const CHEAP_SCRYPT: ScryptOptions = { N: 16, r: 1, p: 1 };

/** a hash of `password` for a server started with the cheap-scrypt preload */
export function cheapHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, 32, CHEAP_SCRYPT);
  return `scrypt$${salt.toString('hex')}$${key.toString('hex')}`;
}
