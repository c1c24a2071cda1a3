/**
 * Random ids and tokens (base64url) cut from a pool of CSPRNG bytes refilled 4 KiB at a time: a
 * resume needs three (session id, token, and a device on a password login), and each
 * randomBytes call costs about 8 µs of event loop; from the pool, one call serves about a
 * hundred. Bytes handed out are zeroed in the pool.
 */
import { randomBytes } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

export function randomId(bytes: number): string {
  if (used + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  const id = pool.toString('base64url', used, used + bytes);
  pool.fill(0, used, used + bytes);
  used += bytes;
  return id;
}
