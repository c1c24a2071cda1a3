/**
 * The scrypt cost the `cheap-scrypt` preload substitutes, and a password hash made with it
 * (same `scrypt$<salt>$<key>` format as lib/models/password.ts), so seeded users can log in
 * to a server started with the preload.
 */
import { randomBytes, scryptSync, type ScryptOptions } from 'node:crypto';
import { defaultOptions } from '../lib/config.js';

export const CHEAP_SCRYPT: ScryptOptions = { N: 16, r: 1, p: 1 };

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

/**
 * a hash of `password` for a server started with the cheap-scrypt preload: the key is the cheap
 * one, the recorded cost the server's default, so a login verifies it (the preload computes the
 * cheap key whatever the cost says) and does not rehash it (a rehash at every login would be a
 * store write and a log line the real server does only once per user)
 */
export function cheapHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, 32, CHEAP_SCRYPT);
  return `$scrypt$${defaultOptions.scryptParams}$${b64(salt)}$${b64(key)}`;
}
