/**
 * Redis killed and restarted under two server processes (a private redis-server, never the
 * shared one): sending and same-process delivery keep working during the outage, and what was
 * sent across processes meanwhile reaches its recipients, in order, once Redis is back.
 */
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { clusterEnv, PrivateRedis } from '../fixtures/cluster.js';
import { Redis } from 'ioredis';
import { presenceBase } from '../../lib/bus/redis/presence.js';
import { LineClient, login, register, waitFor, waitForAsync, type Json } from '../fixtures/harness.js';
import { untilReady } from '../hardening/util.js';

t.setTimeout(90_000);

t.test('messages sent while Redis is down arrive after it is back', async (t) => {
  const redis = await PrivateRedis.start(t);
  const env = await clusterEnv(t, { redisUrl: redis.url });
  if (!env) return;
  const ttl = ['--session-ttl', '3000', '--metrics-port', '0'];
  const [n1, n2] = await Promise.all([env.node(ttl), env.node(ttl)]);
  const a = await LineClient.connect(t, n1!.port);
  const local = await LineClient.connect(t, n1!.port);
  const ida = await register(a, 'ann');
  const idl = await register(local, 'lou');
  const b = await ChatClient.connect({ host: '127.0.0.1', port: n2!.port });
  t.teardown(() => b.close());
  const idb = await b.register('ben', 'pw');
  t.equal((await login(a, ida)).errno, 0);
  t.equal((await login(local, idl)).errno, 0);
  const got: ChatEvent[] = [];
  b.on('event', (e) => got.push(e));
  await b.login(idb, 'pw');
  a.send({ msgid: 6, toid: idb, msg: 'before' });
  await waitFor(() => got.length === 1, 20_000);

  await redis.kill();
  const acked = await b.sendTo(ida, 'ben during');
  t.equal(acked.msgSeq, 2, 'a send is persisted and acked while Redis is down');
  for (let i = 1; i <= 3; i++) a.send({ msgid: 6, toid: idb, msg: `during ${i}` });
  a.send({ msgid: 6, toid: idl, msg: 'same process, no Redis needed' });
  t.match(await local.msg(6), { msg: 'same process, no Redis needed', id: ida });

  await redis.start();
  // Both processes are back once their bus is (/readyz: publisher and subscription) and they
  // have re-registered their sessions in the new, empty Redis; then the next messages open the
  // gaps. However long that takes on a busy machine, the wait ends when it is so.
  for (const n of [n1!, n2!]) await untilReady(n.metricsPort!);
  const presence = new Redis(redis.url);
  t.teardown(() => presence.disconnect());
  const registered = async () => (await Promise.all([ida, idl, idb].map((id) => presence.hlen(`${presenceBase(env.prefix)}user:${id}`)))).every((n) => n > 0);
  await waitForAsync(registered, 60_000, () => 'the sessions to be registered again');
  a.send({ msgid: 6, toid: idb, msg: 'after' });
  await waitFor(() => got.length >= 6, 20_000, () => JSON.stringify(got.map((e) => e.text)));
  t.same(
    got.map((e) => [e.seq, e.text]),
    [
      [1, 'before'],
      [2, 'ben during'],
      [3, 'during 1'],
      [4, 'during 2'],
      [5, 'during 3'],
      [6, 'after'],
    ],
    'in order, nothing lost, every seq once (the own message in its place)',
  );
  await b.sendTo(ida, 'ben after');
  const lines: Json[] = [];
  while (lines.length < 2) lines.push(await a.msg(6, 20_000));
  t.same(
    lines.map((f) => f.msg),
    ['ben during', 'ben after'],
    'the legacy side gets the missed one first',
  );
});
