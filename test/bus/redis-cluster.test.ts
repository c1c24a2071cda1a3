/**
 * The bus and presence contracts on a Redis Cluster of the test's own (three masters, three
 * replicas: test/fixtures/redis-cluster.ts), then kill -9 of a master under a running bus and
 * presence: the replica takes over, the subscription follows it and says so (onResume), and
 * presence keeps its sessions.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { RedisBus, RedisPresence, type BusLog } from '../../lib/bus/redis/index.js';
import { closeConnection, createConnection } from '../../lib/bus/redis/connection.js';
import { presenceBase } from '../../lib/bus/redis/presence.js';
import { silentLog } from '../../lib/bus/redis/log.js';
import { defaultOptions } from '../../lib/config.js';
import { AuthLimits } from '../../lib/core/auth-limits.js';
import { busContract, Inbox, presenceContract } from '../fixtures/bus-contract.js';
import { refusedPort, waitFor } from '../fixtures/harness.js';
import { PrivateRedisCluster } from '../fixtures/redis-cluster.js';

t.setTimeout(300_000);

const cluster = await PrivateRedisCluster.start(t);
if (cluster) {
  const url = cluster.url;
  const prefix = 'ctest:';
  let n = 0;
  busContract(t, 'redis cluster', async () => {
    const a = new RedisBus({ url, prefix, nodeId: `a${n++}` });
    const b = new RedisBus({ url, prefix, nodeId: `b${n++}` });
    return {
      a,
      b,
      async cleanup() {
        await Promise.all([a.close(), b.close()]);
      },
    };
  });

  presenceContract(t, 'redis cluster', async (nodeId, nodeTtlMs) => new RedisPresence({ url, prefix, nodeId, nodeTtlMs }), {
    crash(p) {
      if (!(p instanceof RedisPresence)) throw new Error('not a RedisPresence');
      p.crashForTest();
    },
  });

  t.test('redis cluster: start rejects when no node answers, and holds nothing open', async (t) => {
    const nowhere = `redis+cluster://127.0.0.1:${await refusedPort()},127.0.0.1:${await refusedPort()}`;
    const bus = new RedisBus({ url: nowhere, prefix, nodeId: 'nowhere' });
    await t.rejects(bus.start(() => {}));
    t.notOk(bus.healthy);
    t.doesNotThrow(() => bus.publish('x', 1));
    await bus.close();
    const p = new RedisPresence({ url: nowhere, prefix, nodeId: 'nowhere' });
    await t.rejects(p.start());
    await p.close();
  });

  t.test('redis cluster: node channels spread over the masters, presence keys share one slot', async (t) => {
    const masters = new Set<number>();
    for (let i = 0; i < 30; i++) masters.add(await cluster.masterOf(t, `${prefix}node:n${i}`));
    t.equal(masters.size, 3, 'thirty node channels land on all three masters');
    const base = presenceBase(prefix);
    const presenceMasters = new Set<number>();
    for (const key of [`${base}user:1`, `${base}user:99999`, `${base}alive:x`, `${base}nodesessions:y`]) presenceMasters.add(await cluster.masterOf(t, key));
    t.equal(presenceMasters.size, 1, 'every presence key on one master (one slot: each script touches one)');
  });

  t.test('redis cluster: the login budgets are shared through the cluster (rate-limiter-flexible on ioredis Cluster)', async (t) => {
    const opts = { ...defaultOptions, loginAttemptsPerAccountAddress: 3 };
    const clients = [0, 1].map((i) => createConnection({ url, name: `limits-${i}`, log: silentLog }));
    t.teardown(() => Promise.all(clients.map(closeConnection)));
    await Promise.all(clients.map((c) => c.connect()));
    const [one, two] = clients.map((redis) => new AuthLimits(opts, { kind: 'redis', redis, prefix }));
    const verdicts = [];
    for (const limits of [one!, two!, one!, two!]) verdicts.push((await limits.admitLogin(7, '192.0.2.1')).ok);
    t.same(verdicts, [true, true, true, false], 'two processes share one budget of three');
    t.equal(await clients[0]!.exists(`${prefix}limit:login:pair:7@192.0.2.1`), 1, 'the count is one key in the cluster');
  });

  t.test('redis cluster: kill -9 of the master of a node\'s channel; the replica takes over', async (t) => {
    const lines: string[] = [];
    const rec = (obj: object, msg: string) => void lines.push(`${msg} ${JSON.stringify(obj, (k, v: unknown) => (k === 'err' ? String(v) : v))}`);
    const log: BusLog = { info: rec, warn: rec, error: rec };
    const presenceMaster = await cluster.masterOf(t, `${presenceBase(prefix)}user:1`);
    // b's channel on the master that also holds presence, so that one kill hits both
    let bId = '';
    for (let i = 0; bId === ''; i++) if ((await cluster.masterOf(t, `${prefix}node:failover-b${i}`)) === presenceMaster) bId = `failover-b${i}`;
    const a = new RedisBus({ url, prefix, nodeId: 'failover-a' });
    const b = new RedisBus({ url, prefix, nodeId: bId, log });
    const p = new RedisPresence({ url, prefix, nodeId: bId, nodeTtlMs: 3000, log });
    const q = new RedisPresence({ url, prefix, nodeId: 'failover-a', nodeTtlMs: 3000 });
    t.teardown(() => Promise.all([a.close(), b.close(), p.close(), q.close()]));
    const inA = new Inbox();
    const inB = new Inbox();
    let resumed = 0;
    await a.start(inA.push);
    await b.start(inB.push, () => resumed++);
    await Promise.all([p.start(), q.start()]);
    t.same(await p.register(7, { sessionId: 's7', nodeId: bId, legacy: true }, { exclusive: true, maxSessions: 5 }), { ok: true });
    a.publish(bId, 'before');
    await inB.until((items) => items.includes('before'), 'the payload before the kill');

    await cluster.kill(presenceMaster);
    await waitFor(() => !b.healthy, 30_000, () => 'b to notice that its master is gone');
    t.pass('b is unhealthy while its channel has no master');
    await cluster.settled();
    await waitFor(() => b.healthy && resumed === 1, 60_000, () => `b healthy again and resumed once (resumed ${resumed})`);
    t.ok(lines.some((l) => l.includes('bus subscription lost')) && lines.some((l) => l.includes('bus subscription restored')), 'the loss and the restoration are logged');

    // a's publisher may still be finding the new master: send until one gets through
    let probes = 0;
    for (; probes < 120 && !inB.items.includes('after'); probes++) {
      a.publish(bId, 'after');
      await sleep(500);
    }
    t.ok(inB.items.includes('after'), `delivered after the failover (${probes} probes)`);
    const seqs = () => inB.items.filter((x) => typeof x === 'object' && x !== null && 'seq' in x);
    for (let i = 0; i < 200; i++) a.publish(bId, { seq: i });
    await inB.until(() => seqs().length >= 200, '200 ordered payloads');
    t.same(seqs(), Array.from({ length: 200 }, (_, seq) => ({ seq })), 'in order on the new master');

    // the replica may lack the last writes of the dead master: the node writes its sessions back
    const seen = async () => ((await q.sessionsOf([7]).catch(() => new Map<number, unknown>())).has(7));
    for (let i = 0; i < 120 && !(await seen()); i++) await sleep(250);
    t.same((await q.sessionsOf([7])).get(7), [{ sessionId: 's7', nodeId: bId, legacy: true }], 'presence keeps the session across the failover');
    t.same(
      await q.register(7, { sessionId: 'other', nodeId: 'failover-a', legacy: true }, { exclusive: true, maxSessions: 5 }),
      { ok: false, reason: 'busy' },
      'and enforces exclusivity with it',
    );
    t.same(await q.register(8, { sessionId: 's8', nodeId: 'failover-a', legacy: false }, { exclusive: false, maxSessions: 5 }), { ok: true }, 'new registrations work');
  });
}
