/**
 * Password hashes run on worker threads of the lowest CPU priority (lib/models/scrypt-pool.ts):
 * each thread lowers its own nice value, the keys equal crypto.scrypt's, the pool starts no more
 * threads than its size, and a server's password login goes through its pool.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { scryptSync } from 'node:crypto';
import t from 'tap';
import { hashPassword, scryptCost, verifyPassword } from '../../lib/models/password.js';
import { ScryptPool } from '../../lib/models/scrypt-pool.js';
import { LineClient, login, startServer } from '../fixtures/harness.js';

t.setTimeout(60_000);

const OPTS = { N: 1024, r: 8, p: 1 };

/** nice values of this process's threads, by thread id (field 19 of /proc/self/task/<tid>/stat) */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

t.test('keys equal crypto.scrypt, threads run at the given nice value, at most `size` of them', async (t) => {
  const before = threadNices();
  const pool = new ScryptPool(2, 19);
  t.teardown(() => pool.close());
  const salt = Buffer.from('0123456789abcdef');
  const keys = await Promise.all(['a', 'b', 'c', 'd'].map((pw) => pool.derive(pw, salt, 32, OPTS)));
  t.same(
    keys.map((k) => k.toString('hex')),
    ['a', 'b', 'c', 'd'].map((pw) => scryptSync(pw, salt, 32, OPTS).toString('hex')),
    'the same keys as crypto.scryptSync',
  );
  t.same(pool.priorities, [19, 19], 'two threads for two at a time, each reports nice 19');
  const added = [...threadNices()].filter(([tid]) => !before.has(tid));
  t.ok(added.filter(([, nice]) => nice === 19).length >= 2, `the kernel shows two threads at nice 19 (new threads: ${JSON.stringify(added)})`);
  t.equal(threadNices().get(process.pid), before.get(process.pid), 'the main thread keeps its priority');

  // a bad parameter fails that hash only
  await t.rejects(pool.derive('x', salt, 32, { N: 1000, r: 8, p: 1 }), /N|parameter|invalid/i, 'N not a power of two: rejected');
  t.equal((await pool.derive('a', salt, 32, OPTS)).toString('hex'), keys[0]!.toString('hex'), 'the pool still hashes afterwards');

  await pool.close();
  await t.rejects(pool.derive('a', salt, 32, OPTS), /closed/, 'closed: refused');
});

t.test('hashPassword and verifyPassword through a pool', async (t) => {
  const pool = new ScryptPool(1, 10);
  t.teardown(() => pool.close());
  const run = pool.derive.bind(pool);
  const cost = scryptCost('ln=10,r=8,p=1');
  const stored = await hashPassword('secret', cost, run);
  t.same(await verifyPassword('secret', stored, cost, run), { ok: true, rehash: false });
  t.same(await verifyPassword('wrong', stored, cost, run), { ok: false, rehash: false });
  t.same(await verifyPassword('secret', stored, cost), { ok: true, rehash: false }, 'the same hash checks on libuv threads');
  t.same(pool.priorities, [10], 'one thread, at the nice value asked');
});

t.test("a server's password login hashes on its pool, at --hash-nice", async (t) => {
  const srv = await startServer(t, { scryptParams: 'ln=10,r=8,p=1', hashNice: 15 });
  const amy = (await srv.hub.store.createUser('amy', await hashPassword('pw', scryptCost('ln=10,r=8,p=1'))))!;
  t.same(srv.hub.scryptPool.priorities, [], 'no thread before the first hash');
  const c = await LineClient.connect(t, srv.port);
  const reply = await login(c, amy, 'pw', true);
  t.equal(reply.errno, 0, 'logged in with the password');
  t.same(srv.hub.scryptPool.priorities, [15], 'the check ran on one pool thread at nice 15');
});
