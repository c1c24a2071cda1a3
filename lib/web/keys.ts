/**
 * The browser client's device key for end-to-end encryption, per user, in this browser's
 * localStorage (the page's origin only): the X25519 key pair and device id (lib/client/e2e.ts)
 * and the conversations it seals. Made when the user first ticks "encrypted"; clearing the
 * site's data makes the next one a new device, which cannot read what was sealed before.
 */
import type { SavedIdentity } from '../client/e2e.js';

export interface WebKeys {
  identity: SavedIdentity;
  sealed: string[];
}

const key = (userId: number) => `clusterchat.e2e.${userId}`;

export function loadKeys(userId: number): WebKeys | null {
  const raw = localStorage.getItem(key(userId));
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<WebKeys>;
    return v.identity && Array.isArray(v.sealed) ? (v as WebKeys) : null;
  } catch {
    return null;
  }
}

export function saveKeys(userId: number, keys: WebKeys): void {
  localStorage.setItem(key(userId), JSON.stringify(keys));
}
