/**
 * Offline delivery in order, and the log's seqs: legacy offlinemsg keeps each conversation in
 * msgSeq order and then counts as delivered; concurrent senders still make seqs 1..N exactly
 * once, each sender's messages in its own send order.
 */
import t from 'tap';
import { LineClient, startServer, type Json } from '../fixtures/harness.js';
import { barrier, loginAs, parseList, registerOnly, requestV2, sendV2, syncAll, user } from './util.js';

t.test('legacy offlinemsg: many messages from several senders and a group, each conversation in order', async (t) => {
  const srv = await startServer(t);
  const rId = await registerOnly(t, srv.port, 'reader');
  const senders = await Promise.all(['s1', 's2', 's3'].map((n) => user(t, srv.port, n, { v2: true })));
  const legacySender = await user(t, srv.port, 'oldie');
  const groupid = (await requestV2(senders[0]!.c, { msgid: 8, groupname: 'room' })).groupid as number;
  await requestV2(senders[1]!.c, { msgid: 9, groupid });
  // the reader joins the group (a short legacy visit), then goes away
  const visit = await loginAs(t, srv.port, rId);
  visit.c.send({ msgid: 9, id: rId, groupid });
  visit.c.send({ msgid: 3, id: rId });
  await barrier(visit.c);
  visit.c.close();

  const expected = new Map<string, string[]>();
  const note = (conv: string, msg: string) => {
    if (!expected.has(conv)) expected.set(conv, []);
    expected.get(conv)!.push(msg);
  };
  const pairConv = (a: number) => `p:${Math.min(a, rId)}:${Math.max(a, rId)}`;
  // interleaved rounds: each sender, then the group, then the legacy sender
  for (let round = 0; round < 10; round++) {
    for (const [i, s] of senders.entries()) {
      const msg = `s${i + 1} #${round}`;
      t.equal((await sendV2(s.c, { msgid: 6, toid: rId, msg })).errno, 0);
      note(pairConv(s.id), msg);
    }
    for (const s of senders.slice(0, 2)) {
      const msg = `group from ${s.id} #${round}`;
      t.equal((await sendV2(s.c, { msgid: 10, groupid, msg })).errno, 0);
      note(`g:${groupid}`, msg);
    }
    const msg = `oldie #${round}`;
    legacySender.c.send({ msgid: 6, id: legacySender.id, toid: rId, msg }, '\0');
    note(pairConv(legacySender.id), msg);
  }
  await barrier(legacySender.c);

  const { c, ack } = await loginAs(t, srv.port, rId);
  t.equal(ack.errno, 0);
  const off = parseList(ack.offlinemsg);
  t.equal(off.length, 60, 'every message, once');
  const byConv = new Map<string, Json[]>();
  for (const m of off) {
    const list = byConv.get(m.conv as string) ?? [];
    list.push(m);
    byConv.set(m.conv as string, list);
  }
  t.same([...byConv.keys()].sort(), [...expected.keys()].sort(), 'every conversation');
  for (const [conv, list] of byConv) {
    t.same(
      list.map((m) => m.msgSeq),
      list.map((_, i) => i + 1),
      `${conv}: msgSeq 1..${list.length} in order`,
    );
    t.same(
      list.map((m) => m.msg),
      expected.get(conv),
      `${conv}: in send order`,
    );
  }
  // the backlog counts as delivered: the next login has no offlinemsg
  c.send({ msgid: 3, id: rId });
  await barrier(c);
  const again = await loginAs(t, srv.port, rId);
  t.equal(again.ack.errno, 0);
  t.notOk('offlinemsg' in again.ack, 'nothing again');
  // and a v2 login says everything is delivered
  again.c.send({ msgid: 3, id: rId });
  await barrier(again.c);
  const v2 = await loginAs(t, srv.port, rId, { v2: true });
  for (const s of v2.ack.convs as Json[]) t.equal(s.delivered, s.lastSeq, `${s.conv as string} delivered to its end`);
});

t.test('legacy offlinemsg is capped per login; the rest comes at the next login', async (t) => {
  const srv = await startServer(t, { maxOfflineMsgs: 5 });
  const rId = await registerOnly(t, srv.port, 'reader');
  const s = await user(t, srv.port, 'sender', { v2: true });
  for (let i = 1; i <= 8; i++) await sendV2(s.c, { msgid: 6, toid: rId, msg: `m${i}` });
  const seen: number[] = [];
  for (let login = 0; login < 3; login++) {
    const { c, ack } = await loginAs(t, srv.port, rId);
    t.equal(ack.errno, 0);
    seen.push(...parseList(ack.offlinemsg).map((m) => m.msgSeq as number));
    c.send({ msgid: 3, id: rId });
    await barrier(c);
  }
  t.same(seen, [1, 2, 3, 4, 5, 6, 7, 8], 'each message exactly once, in order, across logins');
});

t.test('legacy recipient online: live pushes continue the offline backlog without gaps or repeats', async (t) => {
  const srv = await startServer(t);
  const rId = await registerOnly(t, srv.port, 'reader');
  const s = await user(t, srv.port, 'sender', { v2: true });
  for (let i = 1; i <= 5; i++) await sendV2(s.c, { msgid: 6, toid: rId, msg: `m${i}` });
  const c = await LineClient.connect(t, srv.port);
  // sends race with the login: whatever is not in offlinemsg must be pushed, each once
  c.send({ msgid: 1, id: rId, password: 'secret' });
  const sends = [];
  for (let i = 6; i <= 30; i++) sends.push(sendV2(s.c, { msgid: 6, toid: rId, msg: `m${i}` }));
  await Promise.all(sends);
  const ack = await c.msg(2);
  const seqs = parseList(ack.offlinemsg).map((m) => m.msgSeq as number);
  while (seqs.length < 30) seqs.push((await c.msg(6)).msgSeq as number);
  t.same(seqs, Array.from({ length: 30 }, (_, i) => i + 1), 'offline then live, 1..30 exactly once');
  t.same((await barrier(c)).filter((f) => f.msgid === 6), [], 'no repeats');
});

t.test('10 concurrent senders x 100 into one group: seqs 1..1000 exactly once, each sender in order', async (t) => {
  const srv = await startServer(t);
  const N = 10;
  const PER = 100;
  const owner = await user(t, srv.port, 'owner', { v2: true });
  const groupid = (await requestV2(owner.c, { msgid: 8, groupname: 'busy' })).groupid as number;
  const conv = `g:${groupid}`;
  const senders = await Promise.all(Array.from({ length: N }, (_, i) => user(t, srv.port, `sender${i}`, { v2: true })));
  for (const s of senders) t.equal((await requestV2(s.c, { msgid: 9, groupid })).errno, 0);
  const watcherId = await registerOnly(t, srv.port, 'watcher');
  const watcher = await loginAs(t, srv.port, watcherId, { v2: true });
  t.equal((await requestV2(watcher.c, { msgid: 9, groupid })).errno, 0);
  const oldWatcher = await user(t, srv.port, 'oldwatcher');
  oldWatcher.c.send({ msgid: 9, id: oldWatcher.id, groupid });
  await barrier(oldWatcher.c);

  // every sender writes its 100 frames in small bursts, all senders at once
  await Promise.all(
    senders.map(async (s, i) => {
      for (let k = 0; k < PER; k += 10) {
        s.c.raw(
          Array.from({ length: 10 }, (_, j) => JSON.stringify({ msgid: 10, v: 2, groupid, msg: `${i}:${k + j}`, cmid: `${i}-${k + j}` }) + '\n').join(''),
        );
        await new Promise((r) => setImmediate(r));
      }
    }),
  );
  const ackSeqs: number[][] = [];
  for (const [i, s] of senders.entries()) {
    const seqs: number[] = [];
    for (let k = 0; k < PER; k++) {
      const a = await s.c.next((f) => f.cmid === `${i}-${k}`, 15_000);
      if (a.msgid !== 12) t.fail(`sender ${i} #${k}: ${JSON.stringify(a)}`);
      seqs.push(a.msgSeq as number);
    }
    ackSeqs.push(seqs);
    t.ok(
      seqs.every((q, k) => k === 0 || q > seqs[k - 1]!),
      `sender ${i}: acks in send order`,
    );
  }
  const all = ackSeqs.flat().sort((x, y) => x - y);
  t.same(all, Array.from({ length: N * PER }, (_, i) => i + 1), 'acks cover 1..1000 exactly once');

  // the online watcher was pushed 1..1000 in order
  const pushed: number[] = [];
  for (let i = 0; i < N * PER; i++) pushed.push((await watcher.c.msg(10)).msgSeq as number);
  t.same(pushed, Array.from({ length: N * PER }, (_, i) => i + 1), 'pushes in msgSeq order, once each');
  const oldPushed: number[] = [];
  for (let i = 0; i < N * PER; i++) oldPushed.push((await oldWatcher.c.msg(10)).msgSeq as number);
  t.same(oldPushed, Array.from({ length: N * PER }, (_, i) => i + 1), 'legacy pushes in msgSeq order, once each');
  t.same((await barrier(oldWatcher.c)).filter((f) => f.msgid === 10), [], 'no extra legacy copies');

  // a v2 member syncs the group in pages
  const reader = await loginAs(t, srv.port, watcherId, { v2: true });
  const { events, pages } = await syncAll(reader.c, conv, 100);
  t.equal(pages.length, 10, '10 pages of 100');
  t.equal(pages[pages.length - 1]!.more, false);
  t.ok(
    pages.slice(0, -1).every((p) => p.more === true),
    'more until the last page',
  );
  t.same(
    events.map((e) => e.msgSeq),
    Array.from({ length: N * PER }, (_, i) => i + 1),
    'seqs 1..1000 exactly once each',
  );
  t.notOk(
    events.some((e) => e.gap),
    'no gaps',
  );
  for (let i = 0; i < N; i++) {
    const mine = events.filter((e) => e.id === senders[i]!.id);
    t.same(
      mine.map((e) => e.msg),
      Array.from({ length: PER }, (_, k) => `${i}:${k}`),
      `sender ${i}: its 100 messages in its send order`,
    );
    t.same(
      mine.map((e) => e.msgSeq),
      ackSeqs[i],
      `sender ${i}: at the seqs it was acked`,
    );
  }
  // a page in the middle: after 500, limit 7
  reader.c.send({ msgid: 15, v: 2, conv, after: 500, limit: 7, cmid: 'mid' });
  const mid = await reader.c.next((f) => f.cmid === 'mid');
  t.same(
    (mid.events as Json[]).map((e) => e.msgSeq),
    [501, 502, 503, 504, 505, 506, 507],
  );
  t.match(mid, { more: true, lastSeq: 1000 });
});

t.test('two users writing to each other concurrently: one pair log 1..N', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob', { v2: true });
  const n = 100;
  const frames = (from: string, to: number) =>
    Array.from({ length: n }, (_, i) => JSON.stringify({ msgid: 6, v: 2, toid: to, msg: `${from}${i}`, cmid: `${from}${i}` }) + '\n').join('');
  a.c.raw(frames('a', b.id));
  b.c.raw(frames('b', a.id));
  for (let i = 0; i < n; i++) {
    await a.c.next((f) => f.msgid === 12 && f.cmid === `a${i}`);
    await b.c.next((f) => f.msgid === 12 && f.cmid === `b${i}`);
  }
  const conv = `p:${Math.min(a.id, b.id)}:${Math.max(a.id, b.id)}`;
  for (const side of [a, b]) {
    const { events } = await syncAll(side.c, conv, 500);
    t.same(
      events.map((e) => e.msgSeq),
      Array.from({ length: 2 * n }, (_, i) => i + 1),
    );
    for (const who of ['a', 'b']) {
      t.same(
        events.filter((e) => (e.msg as string).startsWith(who)).map((e) => e.msg),
        Array.from({ length: n }, (_, i) => `${who}${i}`),
        `${who}'s messages in order`,
      );
    }
  }
  // each side was pushed the other's 100 in order
  const pushedToA: number[] = [];
  for (let i = 0; i < n; i++) pushedToA.push((await a.c.msg(6)).msgSeq as number);
  t.ok(
    pushedToA.every((q, i) => i === 0 || q > pushedToA[i - 1]!),
    'pushes to alice in increasing seq',
  );
});
