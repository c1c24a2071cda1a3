/**
 * Password storage (issue 12, item 6): each hash records its scrypt cost (a PHC string), hashes
 * of the first release still verify, and a login moves a cheaper hash to the configured cost.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import t from 'tap';
import { createApp } from '../../lib/app.js';
import { defaultOptions } from '../../lib/config.js';
import { LineClient, login, register, ROOT, spawnNode, startServer, waitForAsync } from '../fixtures/harness.js';

const PHC = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** the first release's format: `scrypt$<salt hex>$<key hex>` at N=2^14, r=8, p=1 */
function firstReleaseHash(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('hex')}$${scryptSync(password, salt, 32, { N: 2 ** 14, r: 8, p: 1 }).toString('hex')}`;
}

t.test('a new hash is a PHC string with its cost, at the configured cost, and verifies by the scrypt definition', async (t) => {
  const app = await startServer(t, { scryptParams: defaultOptions.scryptParams });
  const c = await LineClient.connect(t, app.port);
  const id = await register(c, 'phc', 'open sesame', true);
  const stored = (await app.hub.store.getUser(id))!.passwordHash;
  const m = PHC.exec(stored);
  t.ok(m, `stored as $scrypt$ln=..,r=..,p=..$salt$key (${stored.slice(0, 30)}...)`);
  t.equal(`ln=${m![1]},r=${m![2]},p=${m![3]}`, defaultOptions.scryptParams, 'with the default cost');
  const [ln, r, p, salt, key] = [Number(m![1]), Number(m![2]), Number(m![3]), Buffer.from(m![4]!, 'base64'), Buffer.from(m![5]!, 'base64')];
  t.equal(salt.length, 16, '16 bytes of salt');
  const again = scryptSync('open sesame', salt, key.length, { N: 2 ** ln, r, p, maxmem: 256 * 1024 * 1024 });
  t.ok(again.equals(key), 'the key is scrypt(password, salt) with the recorded parameters');
  t.equal((await login(c, id, 'open sesame', true)).errno, 0, 'and it logs in');
});

t.test('a first-release hash still logs in, and the login rehashes it at the configured cost', async (t) => {
  const app = await startServer(t, { scryptParams: 'ln=12,r=8,p=2' });
  const old = firstReleaseHash('legacy-pw');
  const id = (await app.hub.store.createUser('from-v1', old))!;
  const c = await LineClient.connect(t, app.port);
  t.equal((await login(c, id, 'not-it', true)).errno, 1, 'a wrong password is refused');
  t.equal((await app.hub.store.getUser(id))!.passwordHash, old, 'and rehashes nothing');
  t.equal((await login(c, id, 'legacy-pw', true)).errno, 0, 'the right one logs in');
  // ln=12,r=8,p=2 is cheaper than ln=14,r=8,p=1: the old hash stays
  t.equal((await app.hub.store.getUser(id))!.passwordHash, old, 'a hash costlier than the configured cost is kept');
  await app.close();

  const dearer = await startServer(t, { db: app.opts.db, scryptParams: 'ln=14,r=8,p=2' });
  const d = await LineClient.connect(t, dearer.port);
  t.equal((await login(d, id, 'legacy-pw')).errno, 0, 'a legacy login with the old hash, on a server configured dearer');
  await waitForAsync(async () => (await dearer.hub.store.getUser(id))!.passwordHash !== old, 10_000, () => 'the rehash');
  const now = (await dearer.hub.store.getUser(id))!.passwordHash;
  t.match(now, /^\$scrypt\$ln=14,r=8,p=2\$/, 'rehashed at the configured cost');
  d.close();
  const e = await LineClient.connect(t, dearer.port);
  t.equal((await login(e, id, 'legacy-pw', true)).errno, 0, 'the password still logs in with the new hash');
  t.equal((await login(await LineClient.connect(t, dearer.port), id, 'legacy-pw!', true)).errno, 1, 'and a wrong one still does not');
});

t.test('an unusable cost is refused at start with a clear message', async (t) => {
  t.throws(() => createApp({ scryptParams: 'N=16384' }), /scrypt parameters must look like ln=14,r=8,p=5/, 'createApp refuses it');
  for (const [value, why] of [
    ['N=16384,r=8,p=1', /must look like ln=14,r=8,p=5/],
    ['ln=30,r=8,p=1', /out of range/],
    ['ln=20,r=32,p=1', /more than 1 GiB/],
  ] as const) {
    const child = spawnNode([`${ROOT}/bin/chatserver`, '--port', '0', '--db', ':memory:', '--scrypt-params', value], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    t.not(code, 0, `--scrypt-params ${value}: exits`);
    t.match(err, why, `and says why (${err.trim().split('\n')[0]})`);
  }
});
