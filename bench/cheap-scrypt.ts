/**
 * Benchmark-only preload (`node --import dist/bench/cheap-scrypt.js bin/chatserver ...`):
 * replaces crypto.scrypt and crypto.scryptSync with a near-free cost (N=16, r=1) for the whole
 * server process (its password threads load this preload too: lib/models/scrypt-pool.ts).
 *
 * Why: the server verifies every LOGIN with scrypt N=16384, r=8 (~70 ms of CPU each, about
 * 14 logins/s on the 2-core benchmark machine), so logging in the 10,000 idle connections of
 * scenario 5 would take over 10 minutes and the 1,000 members of scenario 3 over a minute.
 * Those scenarios measure memory per connection and fan-out, not hashing, so their servers get
 * this preload and their users are seeded with `cheapHash`. Scenario 5 measures the real login
 * rate separately on a server without it. Nothing on the message path uses scrypt.
 */
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { CHEAP_SCRYPT } from './cheap-params.js';

type Callback = (err: Error | null, key: Buffer) => void;
const original = crypto.scrypt;
const originalSync = crypto.scryptSync;

function cheapScrypt(password: crypto.BinaryLike, salt: crypto.BinaryLike, keylen: number, a: crypto.ScryptOptions | Callback, b?: Callback): void {
  const cb = (typeof a === 'function' ? a : b)!;
  original(password, salt, keylen, CHEAP_SCRYPT, cb);
}

function cheapScryptSync(password: crypto.BinaryLike, salt: crypto.BinaryLike, keylen: number): Buffer {
  return originalSync(password, salt, keylen, CHEAP_SCRYPT);
}

(crypto as { scrypt: unknown }).scrypt = cheapScrypt;
(crypto as { scryptSync: unknown }).scryptSync = cheapScryptSync;
syncBuiltinESMExports();
