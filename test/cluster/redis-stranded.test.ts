/**
 * A message committed while Redis is down never reaches the bus. Once Redis is back the
 * recipient's process reads what it missed from the log by itself: the online recipient on the
 * other process (v2 and legacy) gets it within 2 s, although nothing else is sent.
 * A publish lost without an outage is found by the periodic resync.
 * (A private redis-server; the shared one is never touched.)
 */
import { Redis } from 'ioredis';
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

t.test('a publish lost without any outage is pushed by the periodic resync', async (t) => {
  const redis = await PrivateRedis.start(t);
  const env = await clusterEnv(t, { redisUrl: redis.url });
  if (!env) return;
  const every = ['--resync-interval', '300'];
  const [na, nb] = await Promise.all([env.node(every), env.node(every)]);
  const [s, r] = await Promise.all([registerUser(t, na!.port, 'sid'), registerUser(t, nb!.port, 'ria')]);
  const sender = (await rawLogin(t, na!.port, s, true)).c;
  const recipient = (await rawLogin(t, nb!.port, r, true)).c;
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());

  // every connection stays up, but PUBLISH is refused: the push is lost on the way, silently
  await admin.call('ACL', 'SETUSER', 'default', '-publish');
  const cmid = newCmid('lost');
  sender.send({ msgid: 6, v: 2, toid: r, msg: 'lost on the bus', cmid });
  t.equal((await sender.next((f) => f.cmid === cmid, 20_000)).msgid, 12, 'acked: it is in the log');
  await admin.call('ACL', 'SETUSER', 'default', '+publish');

  await waitFor(() => pushed(recipient, 'lost on the bus'), 20_000, () => 'the lost push');
  t.same(
    recipient.frames.filter((f) => f.msgid === 6).map((f) => [f.msgSeq, f.msg]),
    [[1, 'lost on the bus']],
    'pushed once, although nothing else was sent',
  );
});
