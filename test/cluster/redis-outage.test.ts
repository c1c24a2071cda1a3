/**
 * Redis killed and restarted under two server processes (a private redis-server, never the
 * shared one): sending and same-process delivery keep working during the outage, and what was
 * sent across processes meanwhile reaches its recipients, in order, once Redis is back.
 */
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { clusterEnv, PrivateRedis } from '../fixtures/cluster.js';
import { delay, LineClient, login, register, waitFor, type Json } from '../fixtures/harness.js';

t.setTimeout(90_000);

t.test('messages sent while Redis is down arrive after it is back', async (t) => {
  const redis = await PrivateRedis.start(t);
  const env = await clusterEnv(t, { redisUrl: redis.url });
  if (!env) return;
  const ttl = ['--session-ttl', '3000'];
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
  await waitFor(() => got.length === 1, 5000);

  await redis.kill();
  const acked = await b.sendTo(ida, 'ben during');
  t.equal(acked.msgSeq, 2, 'a send is persisted and acked while Redis is down');
  for (let i = 1; i <= 3; i++) a.send({ msgid: 6, toid: idb, msg: `during ${i}` });
  a.send({ msgid: 6, toid: idl, msg: 'same process, no Redis needed' });
  t.match(await local.msg(6), { msg: 'same process, no Redis needed', id: ida });

  await redis.start();
  // the processes reconnect and re-register their sessions; then the next messages open the gaps
  const deadline = Date.now() + 15_000;
  let n = 0;
  while (!got.some((e) => e.text.startsWith('after')) && Date.now() < deadline) {
    a.send({ msgid: 6, toid: idb, msg: `after ${n++}` });
    await delay(500);
  }
  await waitFor(() => got.length >= 5, 5000, () => JSON.stringify(got.map((e) => e.text)));
  t.same(
    got.slice(0, 5).map((e) => [e.seq, e.text]),
    [
      [1, 'before'],
      [2, 'ben during'],
      [3, 'during 1'],
      [4, 'during 2'],
      [5, 'during 3'],
    ],
    'in order, nothing lost (the own message in its place)',
  );
  t.same(
    got.map((e) => e.seq),
    got.map((_, i) => i + 1),
    'every seq exactly once',
  );
  await b.sendTo(ida, 'ben after');
  const lines: Json[] = [];
  while (lines.length < 2) lines.push(await a.msg(6, 10_000));
  t.same(
    lines.map((f) => f.msg),
    ['ben during', 'ben after'],
    'the legacy side gets the missed one first',
  );
});
