/**
 * Password hashing with scrypt from node:crypto, a random salt per user, stored as a PHC string
 * that records its cost: `$scrypt$ln=14,r=8,p=5$<salt>$<key>` (salt and key in unpadded
 * base64, as the PHC string format says). Hashes of the first release, `scrypt$<salt hex>$<key
 * hex>`, were made with ln=14, r=8, p=1 and still verify; a login rehashes them (and any hash
 * cheaper than the configured cost) with the configured cost.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** log2 of N, the CPU/memory cost */
  ln: number;
  /** block size */
  r: number;
  /** parallelism: multiplies the CPU cost, not the memory */
  p: number;
}

const KEYLEN = 32;
const SALT_BYTES = 16;
/** the first release's hashes: `scrypt$hex$hex` */
const FIRST_RELEASE: ScryptParams = { ln: 14, r: 8, p: 1 };

/** memory one derivation needs: 128 * N * r bytes (node refuses above `maxmem`) */
function memoryOf(c: ScryptParams): number {
  return 128 * 2 ** c.ln * c.r;
}

/** work of one derivation, in units of N*r*p: what decides whether a hash is cheaper */
function workOf(c: ScryptParams): number {
  return 2 ** c.ln * c.r * c.p;
}

/** `ln=14,r=8,p=5` -> params; throws a readable error for anything else */
export function parseScryptParams(text: string): ScryptParams {
  const m = /^ln=(\d+),r=(\d+),p=(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`scrypt parameters must look like ln=14,r=8,p=5 (not ${JSON.stringify(text)})`);
  const c = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (c.ln < 1 || c.ln > 24 || c.r < 1 || c.r > 32 || c.p < 1 || c.p > 16) {
    throw new Error(`scrypt parameters out of range: ln 1..24, r 1..32, p 1..16 (got ${formatScryptParams(c)})`);
  }
  if (memoryOf(c) > 1024 ** 3) throw new Error(`scrypt parameters ${formatScryptParams(c)} need more than 1 GiB per login`);
  return c;
}

const parsedCosts = new Map<string, ScryptParams>();

/** parseScryptParams, remembered: the handlers read the option's text on every login */
export function scryptCost(text: string): ScryptParams {
  let c = parsedCosts.get(text);
  if (!c) parsedCosts.set(text, (c = parseScryptParams(text)));
  return c;
}

export function formatScryptParams(c: ScryptParams): string {
  return `ln=${c.ln},r=${c.r},p=${c.p}`;
}

/** where a derivation runs: the server passes its ScryptPool's (lib/models/scrypt-pool.ts) */
export type Scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) => Promise<Buffer>;

/** crypto.scrypt on libuv's thread pool: for tools, tests and seeding, not the server's logins */
export const libuvScrypt: Scrypt = (password, salt, keylen, opts) =>
  new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });

function derive(password: string, salt: Buffer, c: ScryptParams, run: Scrypt): Promise<Buffer> {
  return run(password.normalize('NFC'), salt, KEYLEN, { N: 2 ** c.ln, r: c.r, p: c.p, maxmem: memoryOf(c) + 1024 * 1024 });
}

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string, cost: ScryptParams, run: Scrypt = libuvScrypt): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost, run);
  return `$scrypt$${formatScryptParams(cost)}$${b64(salt)}$${b64(key)}`;
}

interface Parsed {
  cost: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): Parsed | null {
  const phc = /^\$scrypt\$(ln=\d+,r=\d+,p=\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(stored);
  if (phc) {
    try {
      return { cost: parseScryptParams(phc[1]!), salt: Buffer.from(phc[2]!, 'base64'), key: Buffer.from(phc[3]!, 'base64') };
    } catch {
      return null;
    }
  }
  const first = /^scrypt\$([0-9a-f]+)\$([0-9a-f]+)$/.exec(stored);
  if (first) return { cost: FIRST_RELEASE, salt: Buffer.from(first[1]!, 'hex'), key: Buffer.from(first[2]!, 'hex') };
  return null;
}

export interface Verdict {
  ok: boolean;
  /** the password was right and its hash is cheaper than `cost`: store a new one */
  rehash: boolean;
}

/**
 * Constant-work check at the configured cost. With `stored` null (no such user) or unreadable
 * it still derives a key at `cost`, so a stranger cannot tell a missing id from a wrong
 * password by the reply time.
 */
export async function verifyPassword(password: string, stored: string | null, cost: ScryptParams, run: Scrypt = libuvScrypt): Promise<Verdict> {
  const parsed = stored === null ? null : parseHash(stored);
  if (!parsed) {
    await derive(password, Buffer.alloc(SALT_BYTES), cost, run);
    return { ok: false, rehash: false };
  }
  const key = await derive(password, parsed.salt, parsed.cost, run);
  const ok = key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  return { ok, rehash: ok && workOf(parsed.cost) < workOf(cost) };
}
