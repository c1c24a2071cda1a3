import { Redis } from 'ioredis';
import t from 'tap';
import { RedisBus, RedisPresence } from '../../lib/bus/redis/index.js';
import { presenceBase } from '../../lib/bus/redis/presence.js';
import { busContract, presenceContract } from '../fixtures/bus-contract.js';
import { needServices, REDIS_URL, uniqueSuffix } from '../fixtures/services.js';

if (await needServices(t, 'redis')) {
  const prefix = `test:${uniqueSuffix()}:`;
  const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await admin.connect();
  t.teardown(async () => {
    // SCAN + DEL under this run's prefix only: the Redis is shared, never FLUSH it
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
    await admin.quit();
  });

  let n = 0;
  busContract(t, 'redis', async () => {
    const a = new RedisBus({ url: REDIS_URL, prefix, nodeId: `a${n++}` });
    const b = new RedisBus({ url: REDIS_URL, prefix, nodeId: `b${n++}` });
    return {
      a,
      b,
      async cleanup() {
        await Promise.all([a.close(), b.close()]);
      },
    };
  });

  presenceContract(t, 'redis', async (nodeId, nodeTtlMs) => new RedisPresence({ url: REDIS_URL, prefix, nodeId, nodeTtlMs }), {
    crash(p) {
      if (!(p instanceof RedisPresence)) throw new Error('not a RedisPresence');
      p.crashForTest();
    },
  });

  t.test('redis bus: two deployments with different prefixes do not hear each other', async (t) => {
    const other = `${prefix}other:`;
    const a = new RedisBus({ url: REDIS_URL, prefix, nodeId: 'same' });
    const b = new RedisBus({ url: REDIS_URL, prefix: other, nodeId: 'same' });
    t.teardown(() => Promise.all([a.close(), b.close()]));
    const got: Array<[string, unknown]> = [];
    await a.start((p) => got.push(['a', p]));
    await b.start((p) => got.push(['b', p]));
    a.publish('same', 'to a');
    b.publish('same', 'to b');
    const deadline = Date.now() + 5000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    t.same(got.sort(), [['a', 'to a'], ['b', 'to b']]);
  });

  t.test('redis bus: start rejects when Redis is unreachable, and holds nothing open', async (t) => {
    const bus = new RedisBus({ url: 'redis://127.0.0.1:1', prefix, nodeId: 'nowhere' });
    await t.rejects(bus.start(() => {}));
    t.notOk(bus.healthy);
    t.doesNotThrow(() => bus.publish('x', 1));
    await bus.close();
  });

  t.test('redis presence: start rejects when Redis is unreachable', async (t) => {
    const p = new RedisPresence({ url: 'redis://127.0.0.1:1', prefix, nodeId: 'nowhere' });
    await t.rejects(p.start());
    await p.close();
  });

  t.test('redis presence: key layout, ttl, prefix and cleanup on close', async (t) => {
    const base = presenceBase(prefix);
    t.equal(base, `${prefix}{presence}`, 'the prefix, then the hash tag every presence key shares');
    const p = new RedisPresence({ url: REDIS_URL, prefix, nodeId: 'layout', nodeTtlMs: 5000 });
    t.teardown(() => p.close());
    await p.start();
    await p.register(42, { sessionId: 'sx', nodeId: 'layout', legacy: true }, { exclusive: true, maxSessions: 5 });
    const ttl = await admin.pttl(`${base}alive:layout`);
    t.ok(ttl > 0 && ttl <= 5000, `alive key has a ttl (${ttl} ms)`);
    t.same(await admin.hgetall(`${base}user:42`), { sx: JSON.stringify({ nodeId: 'layout', legacy: true }) });
    t.same(await admin.smembers(`${base}nodesessions:layout`), ['42:sx']);
    t.ok((await admin.pttl(`${base}nodesessions:layout`)) > 0, 'the node set expires with the node');
    await p.close();
    t.equal(await admin.exists(`${base}alive:layout`, `${base}user:42`, `${base}nodesessions:layout`), 0);
  });

  t.test('redis presence: sessionsOf batches many users', async (t) => {
    const p = new RedisPresence({ url: REDIS_URL, prefix, nodeId: 'many' });
    t.teardown(() => p.close());
    await p.start();
    const users = Array.from({ length: 1200 }, (_, i) => 5_000_000 + i);
    await Promise.all(users.map((u) => p.register(u, { sessionId: `s${u}`, nodeId: 'many', legacy: false }, { exclusive: false, maxSessions: 5 })));
    const got = await p.sessionsOf([...users, 1]);
    t.equal(got.size, 1200);
    t.same(got.get(5_000_777), [{ sessionId: 's5000777', nodeId: 'many', legacy: false }]);
  });

  t.test('redis presence: a node whose liveness lapsed writes its sessions back', async (t) => {
    const a = new RedisPresence({ url: REDIS_URL, prefix, nodeId: 'lapse', nodeTtlMs: 600, refreshMs: 100 });
    const b = new RedisPresence({ url: REDIS_URL, prefix, nodeId: 'observer' });
    t.teardown(() => Promise.all([a.close(), b.close()]));
    await a.start();
    await b.start();
    await a.register(7, { sessionId: 'keep', nodeId: 'lapse', legacy: false }, { exclusive: false, maxSessions: 5 });
    // what a Redis restart or a long stall does: the alive key goes, and others drop the sessions
    await admin.del(`${presenceBase(prefix)}alive:lapse`);
    t.same((await b.sessionsOf([7])).size, 0, 'others drop the sessions of a node that looks dead');
    const deadline = Date.now() + 2000;
    while (!(await b.sessionsOf([7])).has(7) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    t.same((await b.sessionsOf([7])).get(7), [{ sessionId: 'keep', nodeId: 'lapse', legacy: false }], 'restored by the next refresh');
  });
}
