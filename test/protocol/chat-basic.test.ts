import t from 'tap';
import { barrier, LineClient, login, register, startServer } from '../fixtures/harness.js';

t.test('legacy one-to-one chat, online and offline, in order', async (t) => {
  const srv = await startServer(t);
  const a = await LineClient.connect(t, srv.port);
  const b = await LineClient.connect(t, srv.port);
  const ida = await register(a, 'alice');
  const idb = await register(b, 'bob');
  t.equal((await login(a, ida)).errno, 0);
  for (let i = 1; i <= 3; i++) a.send({ msgid: 6, id: ida, toid: idb, msg: `offline ${i}` }, '\0');
  // a legacy send has no ack: a barrier round trip says the sends were handled
  await barrier(a);
  const ack = await login(b, idb);
  t.equal(ack.errno, 0);
  const offline = (ack.offlinemsg as string[]).map((s) => JSON.parse(s) as Record<string, unknown>);
  t.same(
    offline.map((m) => [m.msg, m.msgSeq, m.id, m.toid, m.msgid]),
    [1, 2, 3].map((i) => [`offline ${i}`, i, ida, idb, 6]),
  );
  a.send({ msgid: 6, id: ida, toid: idb, msg: 'live' });
  const live = await b.msg(6);
  t.equal(live.msg, 'live');
  t.equal(live.msgSeq, 4);
  t.equal(live.name, 'alice');
  t.equal(live.conv, `p:${ida}:${idb}`);
});
