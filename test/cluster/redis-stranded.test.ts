/**
 * A message committed while Redis is down never reaches the bus. Once Redis is back the
 * recipient's process reads what it missed from the log by itself: the online recipient on the
 * other process (v2 and legacy) gets it within 2 s, although nothing else is sent.
 * (A private redis-server; the shared one is never touched.)
 */
import t from 'tap';
import { clusterEnv, PrivateRedis } from '../fixtures/cluster.js';
import { waitFor, type Json, type LineClient } from '../fixtures/harness.js';
import { barrier, newCmid, rawLogin, registerUser } from '../ordering/util.js';

t.setTimeout(90_000);

const pushed = (c: LineClient, text: string) => c.frames.some((f: Json) => f.msgid === 6 && f.msg === text);

t.test('the last message before a Redis outage reaches the other process once Redis is back', async (t) => {
  const redis = await PrivateRedis.start(t);
  const env = await clusterEnv(t, { redisUrl: redis.url });
  if (!env) return;
  const [na, nb] = await Promise.all([env.node(), env.node()]);
  const [s, r, l] = await Promise.all([registerUser(t, na!.port, 'sam'), registerUser(t, nb!.port, 'rae'), registerUser(t, nb!.port, 'lee')]);
  const sender = (await rawLogin(t, na!.port, s, true)).c;
  const v2 = (await rawLogin(t, nb!.port, r, true)).c;
  const legacy = (await rawLogin(t, nb!.port, l)).c;

  const chat = async (to: number, msg: string) => {
    const cmid = newCmid('s');
    sender.send({ msgid: 6, v: 2, toid: to, msg, cmid });
    const ack = await sender.next((f) => f.cmid === cmid, 20_000);
    t.equal(ack.msgid, 12, `"${msg}" is acked`);
  };
  await chat(r, 'before');
  await chat(l, 'before');
  await waitFor(() => pushed(v2, 'before') && pushed(legacy, 'before'), 20_000, () => 'the pushes before the outage');

  await redis.kill();
  await chat(r, 'stranded');
  await chat(l, 'stranded');

  await redis.start();
  const back = Date.now();
  await waitFor(() => pushed(v2, 'stranded') && pushed(legacy, 'stranded'), 20_000, () => 'the stranded messages');
  const took = Date.now() - back;
  t.ok(took < 2000, `both recipients have it ${took} ms after Redis answers again (within 2 s)`);
  t.same(
    v2.frames.filter((f) => f.msgid === 6).map((f) => [f.msgSeq, f.msg]),
    [
      [1, 'before'],
      [2, 'stranded'],
    ],
    'v2: each once, in order',
  );
  t.same(
    legacy.frames.filter((f) => f.msgid === 6).map((f) => [f.msgSeq, f.msg]),
    [
      [1, 'before'],
      [2, 'stranded'],
    ],
    'legacy: each once, in order',
  );
  await barrier(legacy);
});
