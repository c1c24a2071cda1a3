/**
 * Real server processes sharing one MariaDB database and one Redis: chat, group chat and
 * offline messages across two and three processes, legacy and v2 side by side.
 */
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { clusterEnv, startNginx } from '../fixtures/cluster.js';
import { barrier, LineClient, login, register, waitFor, type Json } from '../fixtures/harness.js';

t.setTimeout(90_000);

t.test('three processes: one-to-one, group and offline, each exactly once and in order', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const [n1, n2, n3] = await Promise.all([env.node(), env.node(), env.node()]);
  const a = await LineClient.connect(t, n1!.port);
  const c = await LineClient.connect(t, n3!.port);
  const ida = await register(a, 'ann');
  const idc = await register(c, 'cat');
  const bcli = await ChatClient.connect({ host: '127.0.0.1', port: n2!.port });
  t.teardown(() => bcli.close());
  const idb = await bcli.register('ben', 'secret');
  const idd = await register(a, 'dan');
  t.equal((await login(a, ida)).errno, 0);
  t.equal((await login(c, idc)).errno, 0);
  const bEvents: ChatEvent[] = [];
  bcli.on('event', (e) => bEvents.push(e));
  await bcli.login(idb, 'secret');

  // one-to-one across processes, both flavours
  a.send({ msgid: 6, toid: idb, msg: 'ann to ben' });
  await waitFor(() => bEvents.length === 1, 20_000);
  t.match(bEvents[0], { from: { id: ida, name: 'ann' }, text: 'ann to ben', seq: 1 });
  await bcli.sendTo(idc, 'ben to cat');
  const got = await c.msg(6);
  t.match(got, { id: idb, name: 'ben', msg: 'ben to cat', msgSeq: 1, toid: idc });

  // a group with members on all three processes
  const gid = await bcli.createGroup('trio', 'three nodes');
  a.send({ msgid: 9, groupid: gid });
  c.send({ msgid: 9, groupid: gid });
  // legacy ADD_GROUP has no reply: a barrier round trip says each join was handled
  await Promise.all([barrier(a), barrier(c)]);
  const N = 20;
  for (let i = 0; i < N; i++) {
    a.send({ msgid: 10, groupid: gid, msg: `a${i}` });
    c.send({ msgid: 10, groupid: gid, msg: `c${i}` });
    await bcli.sendGroup(gid, `b${i}`);
  }
  const groupLines = async (cl: LineClient, n: number): Promise<Json[]> => {
    const out: Json[] = [];
    while (out.length < n) out.push(await cl.msg(10));
    return out;
  };
  const [atA, atC] = await Promise.all([groupLines(a, 2 * N), groupLines(c, 2 * N)]);
  await waitFor(() => bEvents.filter((e) => e.groupid === gid).length === 3 * N, 10_000);
  const seqsOf = (xs: Json[]) => xs.map((f) => f.msgSeq as number);
  const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);
  t.ok(ascending(seqsOf(atA)), 'legacy member on node 1 gets the group in seq order');
  t.ok(ascending(seqsOf(atC)), 'legacy member on node 3 gets the group in seq order');
  t.notOk(atA.some((f) => f.id === ida), 'no echo of own messages');
  const bSeqs = bEvents.filter((e) => e.groupid === gid).map((e) => e.seq);
  t.same(bSeqs, Array.from({ length: 3 * N }, (_, i) => i + 1), 'v2 member sees 1..3N exactly once');
  t.same(
    atA.filter((f) => f.id === idc).map((f) => f.msg),
    Array.from({ length: N }, (_, i) => `c${i}`),
    "each sender's messages keep their order",
  );
  // a second copy of any of them would have come before one more group line
  await bcli.sendGroup(gid, 'marker');
  await a.next((f) => f.msgid === 10 && f.msg === 'marker');
  t.equal(a.frames.filter((f) => f.msgid === 10).length, 0, 'nothing twice');

  // offline: dan gets what was sent from two processes when he logs in on the third
  // a legacy send has no ack: a barrier round trip on the same connection says it was handled
  a.send({ msgid: 6, toid: idd, msg: 'from node 1' });
  await barrier(a);
  await bcli.sendTo(idd, 'from node 2');
  a.send({ msgid: 6, toid: idd, msg: 'again node 1' });
  await barrier(a);
  const d = await LineClient.connect(t, n3!.port);
  const ack = await login(d, idd);
  const offline = (ack.offlinemsg as string[]).map((s) => JSON.parse(s) as Json);
  t.same(
    offline.map((m) => m.msg),
    ['from node 1', 'from node 2', 'again node 1'],
  );
});

t.test('through nginx: clients land on different processes and still chat', async (t) => {
  const env = await clusterEnv(t, { nginx: true });
  if (!env) return;
  const nodes = await Promise.all([env.node(), env.node()]);
  const lb = await startNginx(
    t,
    nodes.map((n) => n.port),
  );
  const clients = await Promise.all([0, 1, 2, 3].map(() => LineClient.connect(t, lb.port)));
  const ids: number[] = [];
  for (let i = 0; i < clients.length; i++) ids.push(await register(clients[i]!, `via-nginx-${i}`));
  for (let i = 0; i < clients.length; i++) t.equal((await login(clients[i]!, ids[i]!)).errno, 0);
  for (let i = 0; i < clients.length; i++) {
    const to = (i + 1) % clients.length;
    clients[i]!.send({ msgid: 6, toid: ids[to], msg: `hop ${i}` });
  }
  for (let i = 0; i < clients.length; i++) {
    const from = (i + clients.length - 1) % clients.length;
    const m = await clients[i]!.msg(6);
    t.match(m, { id: ids[from], msg: `hop ${from}` });
  }
  const logs = nodes.map((n) => n.logs());
  t.ok(
    logs.every((l) => l.includes('logged in')),
    'least_conn spread the logins over both processes',
  );
});
