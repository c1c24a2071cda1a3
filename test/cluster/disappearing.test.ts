/**
 * Disappearing messages across two processes on MariaDB and Redis: both processes sweep, one
 * expire event results; members online on either process (v2 and legacy) see it live, an
 * offline member sees the tombstone when it syncs, and the text is gone from the event table.
 */
import mysql from 'mysql2/promise';
import t from 'tap';
import { clusterEnv } from '../fixtures/cluster.js';
import { barrier, type Json } from '../fixtures/harness.js';
import { loginAs, requestV2, sendV2, user } from '../protocol/util.js';

t.setTimeout(90_000);

t.test('a message expires once, for everyone, on every process', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const [n1, n2] = await Promise.all([env.node(['--expiry-interval', '100']), env.node(['--expiry-interval', '100'])]);
  const { c: alice, id: a } = await user(t, n1!.port, 'alice', { v2: true });
  const { c: bob } = await user(t, n2!.port, 'bob', { v2: true });
  const { c: lee } = await user(t, n1!.port, 'lee');
  const { c: olga, id: o } = await user(t, n2!.port, 'olga', { v2: true });
  const gid = (await requestV2(alice, { msgid: 8, groupname: 'vanishing', groupdesc: '' })).groupid as number;
  const conv = `g:${gid}`;
  for (const c of [bob, olga]) t.equal((await requestV2(c, { msgid: 9, groupid: gid })).errno, 0);
  lee.send({ msgid: 9, groupid: gid });
  await barrier(lee);
  olga.close();

  t.match(await requestV2(bob, { msgid: 31, conv, ttl: 2 }), { errno: 0, conv, ttl: 2, msgSeq: 1 });
  t.match(await alice.msg(31), { conv, msgSeq: 1, ttl: 2 });
  t.match(await lee.next((f) => f.msgSeq === 1), { msg: '[set disappearing messages to 2 s]' });
  const sent = await sendV2(alice, { msgid: 10, groupid: gid, msg: 'cluster-secret-7781' });
  t.equal(sent.msgSeq, 2);
  const live = await bob.next((f) => f.msgid === 10 && f.msgSeq === 2);
  t.equal(live.msg, 'cluster-secret-7781', 'delivered live on the other process first');
  t.equal(live.expiresAt, (sent.ts as number) + 2000, 'the timer set on n2 applies to a send on n1');
  t.match(await lee.next((f) => f.msgSeq === 2), { msg: 'cluster-secret-7781' });

  t.match(await bob.msg(32, 30_000), { msgid: 32, conv, msgSeq: 3, id: a, expiredSeq: 2 }, 'the expiry reaches n2 live');
  t.match(await alice.msg(32, 30_000), { msgSeq: 3, expiredSeq: 2 }, 'and the sender on n1');
  t.match(await lee.next((f) => f.msgSeq === 3, 30_000), { msgid: 10, conv, id: a, msg: '[message expired]' }, 'legacy reads the expiry line');

  const back = await loginAs(t, n2!.port, o, { v2: true });
  back.c.send({ msgid: 15, v: 2, conv, after: 0, cmid: 'sync-olga' });
  const page = await back.c.next((f) => f.cmid === 'sync-olga');
  t.strictSame(
    (page.events as Json[]).map((e) => [e.msgid, e.msgSeq, e.msg ?? null, e.expired ?? null, e.expiredSeq ?? null]),
    [
      [31, 1, null, null, null],
      [10, 2, '', true, null],
      [32, 3, null, null, 2],
    ],
    'offline, synced later: the tombstone and one expire event, though both processes sweep',
  );
  t.equal(page.lastSeq, 3);

  const conn = await mysql.createConnection({ uri: env.mysql });
  t.teardown(() => conn.end());
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT seq, `text`, recalled FROM event WHERE conv = ? ORDER BY seq', [conv]);
  t.strictSame(rows.map((r) => [Number(r.seq), r.text as string, Number(r.recalled)]), [[1, '', 0], [2, '', 2], [3, '', 0]], 'the text is gone from the table');
});
