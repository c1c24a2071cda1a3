/**
 * v2 session tokens as resume credentials. A token is 256 random bits (43 characters of
 * base64url); the store keeps only its SHA-256, bound to one user and one device. A password
 * login starts a device with its first token; a resume presents the current one and gets the
 * next (rotation: the presented token is retired at once, so a copy of it is useless after
 * the owner's next resume). A token expires `ttlMs` after it was issued.
 */
import { createHash } from 'node:crypto';
import { randomId } from './random-ids.js';
import type { Store } from '../store/types.js';

const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export interface Issued {
  /** goes to the client, never to the store */
  token: string;
  device: string;
}

/** SHA-256 of a token, hex: what the store holds */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newToken(): string {
  return randomId(32);
}

/** a password login's new device: the id its chain of tokens goes by */
export function newDevice(): string {
  return randomId(16);
}

/** the first token of a new device */
export async function issueToken(store: Store, userId: number, device: string, now: number, ttlMs: number): Promise<string> {
  const token = newToken();
  await store.addSessionToken({ hash: tokenHash(token), userId, device, created: now, expires: now + ttlMs });
  return token;
}

/** a resume: `presented` is retired for a new token of its device; null when it is no live token of this user */
export async function rotateToken(store: Store, userId: number, presented: string, now: number, ttlMs: number): Promise<Issued | null> {
  if (!TOKEN_FORMAT.test(presented)) return null;
  const token = newToken();
  const device = await store.rotateSessionToken(userId, tokenHash(presented), tokenHash(token), now, now + ttlMs);
  return device === null ? null : { token, device };
}

/** a resume that failed after its rotation (no room for the session): `presented` works again */
export async function unrotateToken(store: Store, userId: number, issued: Issued, presented: string, now: number, ttlMs: number): Promise<void> {
  await store.rotateSessionToken(userId, tokenHash(issued.token), tokenHash(presented), now, now + ttlMs);
}
