/**
 * A restart (SIGTERM, graceful, exit code 0; then a new process on the same --db) keeps users,
 * passwords, friends, groups and roles, the log with its seqs, and every undelivered message.
 * Runs the compiled server (bin/chatserver -> dist): build first.
 */
import path from 'node:path';
import t from 'tap';
import { LineClient, login, register, spawnServer, tempDir, type Json } from '../fixtures/harness.js';
import { barrier, parseList, registerOnly, requestV2, sendV2, syncAll, user } from '../protocol/util.js';

t.test('restart keeps users, friends, groups, the log and undelivered messages', async (t) => {
  const dir = tempDir(t);
  const db = path.join(dir, 'chat.db');
  const first = await spawnServer(t, ['--db', db]);

  const bob = await user(t, first.port, 'bob', { v2: true, password: 'bob-pw' });
  const carol = await user(t, first.port, 'carol'); // legacy
  const aliceId = await registerOnly(t, first.port, 'alice', 'alice-pw');
  t.equal((await requestV2(bob.c, { msgid: 7, friendid: aliceId })).errno, 0);
  t.equal((await requestV2(bob.c, { msgid: 7, friendid: carol.id })).errno, 0);
  const groupid = (await requestV2(bob.c, { msgid: 8, groupname: 'durable', groupdesc: 'survives' })).groupid as number;
  carol.c.send({ msgid: 9, id: carol.id, groupid });
  await barrier(carol.c);
  // alice joins on a short legacy visit, then goes away
  const visit = await LineClient.connect(t, first.port);
  t.equal((await login(visit, aliceId, 'alice-pw')).errno, 0);
  visit.send({ msgid: 9, id: aliceId, groupid });
  visit.send({ msgid: 3, id: aliceId });
  await barrier(visit);
  visit.close();

  // the log: a pair conversation and the group, with acks for the v2 sends
  const sent: Json[] = [];
  for (let i = 1; i <= 3; i++) sent.push(await sendV2(bob.c, { msgid: 6, toid: aliceId, msg: `pair ${i}` }));
  sent.push(await sendV2(bob.c, { msgid: 10, groupid, msg: 'group 1' }));
  carol.c.send({ msgid: 10, id: carol.id, groupid, msg: 'group 2 from carol' });
  t.match(await bob.c.msg(10), { msg: 'group 2 from carol', msgSeq: 2 });
  t.match(await carol.c.msg(10), { msg: 'group 1', msgSeq: 1 });
  t.same(
    sent.map((a) => a.msgSeq),
    [1, 2, 3, 1],
  );

  t.equal(await first.stop('SIGTERM'), 0, 'graceful shutdown exits 0');
  await bob.c.waitClosed();
  await carol.c.waitClosed();

  const second = await spawnServer(t, ['--db', db]);
  // passwords still check
  const bad = await LineClient.connect(t, second.port);
  t.equal((await login(bad, aliceId, 'wrong')).errno, 1, 'a wrong password is still wrong');
  const a = await LineClient.connect(t, second.port);
  const ack = await login(a, aliceId, 'alice-pw');
  t.equal(ack.errno, 0, 'alice logs in with her password');
  t.equal(ack.name, 'alice');
  t.same(parseList(ack.friends), [{ id: bob.id, name: 'bob', state: 'offline' }], 'friendship kept');
  const groups = parseList(ack.groups);
  t.equal(groups.length, 1);
  t.match(groups[0], { id: groupid, groupname: 'durable', groupdesc: 'survives' });
  t.same(
    parseList(groups[0]!.users)
      .map((u) => [u.id, u.role])
      .sort((x, y) => (x[0] as number) - (y[0] as number)),
    [
      [bob.id, 'creator'],
      [carol.id, 'normal'],
      [aliceId, 'normal'],
    ].sort((x, y) => (x[0] as number) - (y[0] as number)),
    'members and roles kept',
  );
  const off = parseList(ack.offlinemsg);
  t.same(
    off.filter((m) => m.conv === `g:${groupid}`).map((m) => [m.msgSeq, m.msg, m.id]),
    [
      [1, 'group 1', bob.id],
      [2, 'group 2 from carol', carol.id],
    ],
    'undelivered group messages kept, in order',
  );
  t.same(
    off.filter((m) => m.msgid === 6).map((m) => [m.msgSeq, m.msg, m.id]),
    [
      [1, 'pair 1', bob.id],
      [2, 'pair 2', bob.id],
      [3, 'pair 3', bob.id],
    ],
    'undelivered pair messages kept, in order',
  );

  // bob (v2): the summary and the log are intact, and seqs continue (never restart at 1)
  const b = await LineClient.connect(t, second.port);
  const bAck = await login(b, bob.id, 'bob-pw', true);
  t.equal(bAck.errno, 0);
  const pair = `p:${Math.min(aliceId, bob.id)}:${Math.max(aliceId, bob.id)}`;
  t.match(
    (bAck.convs as Json[]).find((c) => c.conv === pair),
    { lastSeq: 3 },
  );
  const { events } = await syncAll(b, pair);
  t.same(
    events.map((e) => [e.msgSeq, e.msg, e.mid]),
    sent.slice(0, 3).map((s, i) => [i + 1, `pair ${i + 1}`, s.mid]),
    'the same log, the same mids',
  );
  const next = await sendV2(b, { msgid: 6, toid: aliceId, msg: 'after restart' });
  t.equal(next.msgSeq, 4, 'the sequence continues');
  t.match(await a.msg(6), { msgSeq: 4, msg: 'after restart' });
  // a resend of a cmid from before the restart is still recognised
  const resend = await sendV2(b, { msgid: 6, toid: aliceId, msg: 'pair 1', cmid: sent[0]!.cmid as string });
  t.match(resend, { msgSeq: 1, mid: sent[0]!.mid, duplicate: true });
  // new users get new ids
  const n = await LineClient.connect(t, second.port);
  const newId = await register(n, 'newcomer');
  t.ok(newId > Math.max(aliceId, bob.id, carol.id), 'ids are not reused');
  t.equal(await second.stop('SIGTERM'), 0);
});
