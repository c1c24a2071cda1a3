/**
 * Outage recovery against a private redis-server (never the shared one): SIGKILL and restart it
 * on the same port, then CLIENT KILL the subscribers; the bus must come back by itself.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import t from 'tap';
import { RedisBus, RedisPresence, type BusLog } from '../../lib/bus/redis/index.js';
import { Inbox } from '../fixtures/bus-contract.js';
import { PrivateRedis } from '../fixtures/cluster.js';

t.setTimeout(60_000);

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function recordingLog(): BusLog & { lines: string[] } {
  const lines: string[] = [];
  const rec = (obj: object, msg: string) => {
    lines.push(`${msg} ${JSON.stringify(obj, (k, v: unknown) => (k === 'err' ? String(v) : v))}`);
  };
  return { lines, info: rec, warn: rec, error: rec };
}

t.test('redis bus and presence survive a Redis restart and killed subscribers', async (t) => {
  const server = await PrivateRedis.start(t);

  const prefix = 'restart:';
  const log = recordingLog();
  const a = new RedisBus({ url: server.url, prefix, nodeId: 'a', log });
  const b = new RedisBus({ url: server.url, prefix, nodeId: 'b' });
  const plog = recordingLog();
  const p = new RedisPresence({ url: server.url, prefix, nodeId: 'a', nodeTtlMs: 1000, log: plog });
  const q = new RedisPresence({ url: server.url, prefix, nodeId: 'b', nodeTtlMs: 1000 });
  t.teardown(() => Promise.all([a.close(), b.close(), p.close(), q.close()]));
  const inA = new Inbox();
  const inB = new Inbox();
  await a.start(inA.push);
  await b.start(inB.push);
  await p.start();
  await q.start();
  t.same(await p.register(1, { sessionId: 's1', nodeId: 'a', legacy: true }, { exclusive: true, maxSessions: 5 }), { ok: true });

  a.publish('b', 'before');
  b.publish('a', 'before');
  await Promise.all([inA.count(1), inB.count(1)]);

  await server.kill();
  await until('both buses to notice the outage', () => !a.healthy && !b.healthy);
  t.pass('unhealthy while Redis is down');
  for (let i = 0; i < 100; i++) a.publish('b', { during: i });
  t.pass('publish does not throw while Redis is down');
  await t.rejects(q.sessionsOf([1]), 'presence queries fail fast while Redis is down');
  await until('a presence refresh to fail during the outage', () => plog.lines.some((l) => l.includes('presence refresh failed')));

  await server.start();
  await until('both buses to be healthy again', () => a.healthy && b.healthy);
  t.pass('healthy again after the restart');
  a.publish('b', 'after restart');
  b.publish('a', 'after restart');
  await Promise.all([
    inB.until((items) => items.includes('after restart'), 'a -> b after restart'),
    inA.until((items) => items.includes('after restart'), 'b -> a after restart'),
  ]);
  t.notOk(inB.items.some((x) => typeof x === 'object' && x !== null && 'during' in x), 'nothing published during the outage was queued');
  t.ok(log.lines.some((l) => l.includes('payloads were dropped') && l.includes('"dropped":100')), 'the drop count is logged');
  t.equal(log.lines.filter((l) => l.includes('connection lost')).length, 2, 'one "lost" line per connection, not per retry');
  t.equal(log.lines.filter((l) => l.includes('connection restored')).length, 2);

  // q's own connection may still be reconnecting (its queries reject meanwhile)
  const seenByQ = async () => (await q.sessionsOf([1]).catch(() => new Map<number, unknown>())).has(1);
  await until('the restarted Redis (empty) to learn node a\'s session again', seenByQ);
  t.same((await q.sessionsOf([1])).get(1), [{ sessionId: 's1', nodeId: 'a', legacy: true }]);
  t.same(
    await q.register(1, { sessionId: 's2', nodeId: 'b', legacy: true }, { exclusive: true, maxSessions: 5 }),
    { ok: false, reason: 'busy' },
    'and enforces exclusivity with it',
  );
  for (const msg of ['presence refresh failed', 'presence refresh works again', 'presence liveness was lost']) {
    t.ok(plog.lines.some((l) => l.includes(msg)), `presence logged: ${msg}`);
  }

  const admin = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  t.teardown(() => admin.disconnect());
  await admin.connect();
  const killed = await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
  t.ok(Number(killed) >= 2, `killed the subscriber connections (${String(killed)})`);
  let n = 0;
  // healthy may still read true before the close event arrives, so probe until one gets through
  await until('a -> b delivery after CLIENT KILL', () => {
    a.publish('b', { probe: n++ });
    return inB.items.some((x) => typeof x === 'object' && x !== null && 'probe' in x);
  });
  await until('b -> a delivery after CLIENT KILL', () => {
    b.publish('a', { probe: n++ });
    return inA.items.some((x) => typeof x === 'object' && x !== null && 'probe' in x);
  });
  await until('both healthy after CLIENT KILL', () => a.healthy && b.healthy);
  t.pass('recovered from killed subscriber connections');

  const seqs = () => inB.items.filter((x) => typeof x === 'object' && x !== null && 'seq' in x);
  for (let i = 0; i < 200; i++) a.publish('b', { seq: i });
  await inB.until(() => seqs().length >= 200, '200 ordered payloads');
  t.same(seqs(), Array.from({ length: 200 }, (_, seq) => ({ seq })), 'ordered delivery after recovery');
});
