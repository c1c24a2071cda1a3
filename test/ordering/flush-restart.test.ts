/**
 * The database is the source of truth for sequence numbers, presence lives in Redis: with a
 * redis-server of the test's own, FLUSHALL under running processes, then a restart of
 * everything (both server processes, one of them by kill -9, and Redis itself, flushed).
 * New messages continue above every earlier seq of each conversation, and logins, the
 * one-legacy-session rule and online states work after each step.
 */
import t from 'tap';
import { clusterEnv, PrivateRedis } from '../fixtures/cluster.js';
import { delay, type Json } from '../fixtures/harness.js';
import { barrier, mysqlLog, pairConv, pushesOf, rawLogin, registerUser, reqV2 } from './util.js';

t.setTimeout(60_000);

/** friends of a login ack, legacy (JSON strings) or v2 (objects), as [id, state]; only `of` when given */
function friendStates(ack: Json, of?: number[]): Array<[number, string]> {
  const list = (ack.friends ?? []) as unknown[];
  return list
    .map((f) => (typeof f === 'string' ? (JSON.parse(f) as Json) : (f as Json)))
    .map((f) => [f.id as number, f.state as string] as [number, string])
    .filter(([id]) => !of || of.includes(id))
    .sort((a, b) => a[0] - b[0]);
}

t.test('FLUSHALL under running processes, then a restart of everything: seqs continue, presence works', async (t) => {
  const redis = await PrivateRedis.start(t);
  const env = await clusterEnv(t, { redisUrl: redis.url });
  if (!env) return;
  const ttl = ['--session-ttl', '1500'];
  let nodes = await Promise.all([env.node(ttl), env.node(ttl)]);

  // ann: v2 on process 0; bob: legacy on process 1; cat: v2 on process 1
  const [ann, bob, cat, eve] = await Promise.all(['ann', 'bob', 'cat', 'eve'].map((n, i) => registerUser(t, nodes[i % 2]!.port, n)));
  let A = (await rawLogin(t, nodes[0]!.port, ann!, true)).c;
  let B = (await rawLogin(t, nodes[1]!.port, bob!)).c;
  let C = (await rawLogin(t, nodes[1]!.port, cat!, true)).c;
  t.equal((await reqV2(A, { msgid: 7, friendid: bob })).errno, 0);
  t.equal((await reqV2(A, { msgid: 7, friendid: cat })).errno, 0);
  // eve watches who is online
  const E = (await rawLogin(t, nodes[0]!.port, eve!, true)).c;
  for (const f of [ann, bob, cat]) t.equal((await reqV2(E, { msgid: 7, friendid: f })).errno, 0);
  E.close();
  const onlineSeenByEve = async (): Promise<Array<[number, string]>> => {
    const x = await rawLogin(t, nodes[0]!.port, eve!, true);
    x.c.close();
    return friendStates(x.ack);
  };
  const gid = (await reqV2(A, { msgid: 8, groupname: 'durable', groupdesc: '' })).groupid as number;
  const gconv = `g:${gid}`;
  const ab = pairConv(ann!, bob!);
  t.equal((await reqV2(C, { msgid: 9, groupid: gid })).errno, 0);
  B.send({ msgid: 9, groupid: gid });
  await barrier(B);

  /** one line from each of ann (v2), bob (legacy) and cat (v2); returns the seqs each got */
  const round = async (tag: string): Promise<{ pair: number[]; group: number[] }> => {
    const p1 = await reqV2(A, { msgid: 6, toid: bob, msg: `${tag} ann->bob` });
    B.send({ msgid: 6, toid: ann, msg: `${tag} bob->ann` });
    const p2 = await A.next((f) => f.msgid === 6 && f.msg === `${tag} bob->ann`, 10_000);
    const g1 = await reqV2(A, { msgid: 10, groupid: gid, msg: `${tag} ann->group` });
    B.send({ msgid: 10, groupid: gid, msg: `${tag} bob->group` });
    const g2 = await C.next((f) => f.msgid === 10 && f.msg === `${tag} bob->group`, 10_000);
    const g3 = await reqV2(C, { msgid: 10, groupid: gid, msg: `${tag} cat->group` });
    // every one of them reaches the other members, across the processes
    await B.next((f) => f.msgid === 6 && f.msg === `${tag} ann->bob`, 10_000);
    await B.next((f) => f.msgid === 10 && f.msg === `${tag} cat->group`, 10_000);
    await A.next((f) => f.msgid === 10 && f.msg === `${tag} cat->group`, 10_000);
    return { pair: [p1.msgSeq as number, p2.msgSeq as number], group: [g1.msgSeq as number, g2.msgSeq as number, g3.msgSeq as number] };
  };

  const r1 = await round('before');
  t.same(r1, { pair: [1, 2], group: [1, 2, 3] }, 'first round: 1, 2, ... in each conversation');
  await round('before again');

  // ---- FLUSHALL under the running processes
  const before = { pair: (await mysqlLog(env.mysql, ab)).length, group: (await mysqlLog(env.mysql, gconv)).length };
  await redis.flushall();
  // the processes notice their liveness key is gone at their next refresh (every ttl / 3)
  // and write their sessions back
  const flushedAt = Date.now();
  let states: Array<[number, string]> = [];
  while (Date.now() - flushedAt < 30_000) {
    states = await onlineSeenByEve();
    if (states.every(([, s]) => s === 'online')) break;
    await delay(100);
  }
  t.same(
    states.map(([, s]) => s),
    ['online', 'online', 'online'],
    `both processes wrote their sessions back (${Date.now() - flushedAt} ms after the flush)`,
  );
  const r2 = await round('after flush');
  t.same(
    r2,
    { pair: [before.pair + 1, before.pair + 2], group: [before.group + 1, before.group + 2, before.group + 3] },
    'after FLUSHALL the seqs continue where they were',
  );
  const again = await rawLogin(t, nodes[0]!.port, bob!).then(
    (x) => x.ack,
    (err: Error) => ({ errno: Number(/"errno":(\d+)/.exec(err.message)?.[1] ?? -1) }) as Json,
  );
  t.equal(again.errno, 2, "bob's legacy session is known again: a second legacy login is refused");
  const annSecond = await rawLogin(t, nodes[1]!.port, ann!, true);
  t.same(
    friendStates(annSecond.ack, [bob!, cat!]),
    [
      [bob, 'online'],
      [cat, 'online'],
    ].sort((x, y) => (x[0] as number) - (y[0] as number)),
    'online states survive the flush',
  );
  annSecond.c.close();

  // ---- restart everything: one process killed, one stopped, Redis killed and started empty
  const lastBefore = { pair: (await mysqlLog(env.mysql, ab)).length, group: (await mysqlLog(env.mysql, gconv)).length };
  await nodes[0]!.stop('SIGKILL');
  t.equal(await nodes[1]!.stop('SIGTERM'), 0, 'the other process stops gracefully');
  await Promise.all([A, B, C].map((c) => c.waitClosed()));
  await redis.kill();
  await redis.start();
  await redis.flushall();
  nodes = await Promise.all([env.node(ttl), env.node(ttl)]);

  // bob's old legacy session died with its process and Redis: he logs in at once
  const bl = await rawLogin(t, nodes[1]!.port, bob!);
  B = bl.c;
  t.same(friendStates(bl.ack, [ann!]), [[ann, 'offline']], 'after the restart ann is offline');
  const al = await rawLogin(t, nodes[0]!.port, ann!, true);
  A = al.c;
  t.same(
    friendStates(al.ack, [bob!, cat!]),
    [
      [bob, 'online'],
      [cat, 'offline'],
    ].sort((x, y) => (x[0] as number) - (y[0] as number)),
    'presence after the restart: bob online (other process), cat offline',
  );
  const summary = new Map((al.ack.convs as Json[]).map((c) => [c.conv as string, c]));
  t.equal(summary.get(ab)?.lastSeq, lastBefore.pair, 'the login summary knows the pair up to its last seq');
  t.equal(summary.get(gconv)?.lastSeq, lastBefore.group, 'and the group');
  C = (await rawLogin(t, nodes[1]!.port, cat!, true)).c;
  const refused = await rawLogin(t, nodes[0]!.port, bob!).then(
    () => 0,
    (err: Error) => Number(/"errno":(\d+)/.exec(err.message)?.[1] ?? -1),
  );
  t.equal(refused, 2, 'one legacy session per account still holds across the new processes');

  const r3 = await round('after restart');
  t.same(
    r3,
    { pair: [lastBefore.pair + 1, lastBefore.pair + 2], group: [lastBefore.group + 1, lastBefore.group + 2, lastBefore.group + 3] },
    'after the restart the seqs continue above every earlier one',
  );
  // every conversation's log: 1..N, no repeats, and what legacy bob saw was increasing
  for (const conv of [ab, gconv]) {
    const log = await mysqlLog(env.mysql, conv);
    t.same(
      log.map((r) => r.seq),
      log.map((_, i) => i + 1),
      `${conv}: one log, 1..${log.length}, no seq used twice`,
    );
  }
  const seen = pushesOf(B, gconv).map((f) => f.msgSeq as number);
  t.ok(
    seen.every((s) => s > lastBefore.group),
    'nothing old is pushed again after the restart',
  );
});
