/**
 * Gaps. A seq that holds no event (a crash between allocation and commit) comes back from SYNC
 * as a placeholder `{msgSeq, gap: true}` and stalls nobody; a push that never arrived (lost
 * between processes, or lost on the way to the client) is filled from the log: by the server
 * before the next push (legacy and v2 sessions), by the client's gap timer and SYNC (v2).
 * The log is edited through a second SQLite connection on the in-process server's file, as
 * another process sharing the database would.
 */
import Database from 'better-sqlite3';
import t from 'tap';
import type { Test } from 'tap';
import type { ChatEvent } from '../../lib/client/client.js';
import { StorageError } from '../../lib/errors.js';
import { delay, startServer, type Json, type LineClient } from '../fixtures/harness.js';
import { barrier, captureWires, chatClient, deliveredSeq, dropFrames, marker, Proxy, PW, pushesOf, rawLogin, recordStream, registerUser, reqV2, until } from './util.js';

t.setTimeout(60_000);

/** the server's SQLite file, opened a second time (another writer on the same database) */
function openDb(t: Test, file: string): Database.Database {
  const db = new Database(file, { timeout: 5000 });
  t.teardown(() => db.close());
  return db;
}

/** allocates `n` seqs of `conv` that will never hold an event */
function punchHole(db: Database.Database, conv: string, n: number): void {
  db.prepare('UPDATE conversation SET last_seq = last_seq + ? WHERE conv = ?').run(n, conv);
}

/** the last seq `conv` has allocated */
function lastSeq(db: Database.Database, conv: string): number {
  return (db.prepare('SELECT last_seq FROM conversation WHERE conv = ?').get(conv) as { last_seq: number } | undefined)?.last_seq ?? 0;
}

/** commits an event the way another process would, without pushing it to anyone */
function commitBehindTheBack(db: Database.Database, conv: string, sender: number, text: string): number {
  return db.transaction(() => {
    const { last_seq: seq } = db.prepare('UPDATE conversation SET last_seq = last_seq + 1 WHERE conv = ? RETURNING last_seq').get(conv) as { last_seq: number };
    db.prepare('INSERT INTO event (conv, seq, mid, kind, sender_id, ts, text, ref, recalled, cmid) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL)').run(
      conv,
      seq,
      `ghost-${process.pid}-${seq}`,
      'chat',
      sender,
      Date.now(),
      text,
    );
    return seq;
  })();
}

async function syncPage(c: LineClient, conv: string, opts: Json): Promise<Json> {
  const r = await reqV2(c, { msgid: 15, conv, ...opts });
  if (r.msgid !== 16) throw new Error(`sync failed: ${JSON.stringify(r)}`);
  return r;
}

const seqsOf = (evs: Array<{ seq: number }>) => evs.map((e) => e.seq);

async function groupOf(t: Test) {
  const srv = await startServer(t);
  const db = openDb(t, srv.opts.db);
  const [ann, ben, cal, dee] = await Promise.all(['ann', 'ben', 'cal', 'dee'].map((n) => registerUser(t, srv.port, n)));
  // ann: legacy sender; ben: raw v2; cal: legacy; dee: ChatClient
  const A = (await rawLogin(t, srv.port, ann!)).c;
  const B = (await rawLogin(t, srv.port, ben!, true)).c;
  const C = (await rawLogin(t, srv.port, cal!)).c;
  const gid = (await reqV2(B, { msgid: 8, groupname: 'gaps', groupdesc: '' })).groupid as number;
  for (const L of [A, C]) {
    L.send({ msgid: 9, groupid: gid });
    await barrier(L);
  }
  return { srv, db, ids: { ann: ann!, ben: ben!, cal: cal!, dee: dee! }, A, B, C, gid, conv: `g:${gid}` };
}

t.test('a hole in the log: SYNC shows placeholders, and no one waits for them', async (t) => {
  const { srv, db, ids, A, B, C, gid, conv } = await groupOf(t);
  const D = await chatClient(t, srv.port);
  const dStream = recordStream(D);
  await D.login(ids.dee, PW);
  await D.joinGroup(gid);

  const say = (msg: string) => A.send({ msgid: 10, groupid: gid, msg });
  for (let i = 1; i <= 3; i++) say(`m${i}`);
  await until(() => pushesOf(C, conv).length === 3 && (dStream.get(conv) ?? []).length === 3, 20_000, () => 'the first three');
  punchHole(db, conv, 2); // seqs 4 and 5 will never hold anything
  say('m6');
  say('m7');

  await until(() => pushesOf(C, conv).length === 5, 20_000, () => `legacy got ${JSON.stringify(seqsOf(pushesOf(C, conv).map((f) => ({ seq: f.msgSeq as number }))))}`);
  t.same(
    pushesOf(C, conv).map((f) => [f.msgSeq, f.msg]),
    [
      [1, 'm1'],
      [2, 'm2'],
      [3, 'm3'],
      [6, 'm6'],
      [7, 'm7'],
    ],
    'legacy member: past the hole without waiting',
  );
  await until(() => pushesOf(B, conv).length === 5, 20_000, () => 'raw v2 pushes');
  t.same(
    pushesOf(B, conv).map((f) => f.msgSeq),
    [1, 2, 3, 6, 7],
    'raw v2 member: pushes past the hole',
  );
  await until(() => D.appliedSeq(conv) === 7, 20_000, () => `ChatClient applied ${D.appliedSeq(conv)}`);
  t.same(seqsOf(dStream.get(conv)!), [1, 2, 3, 6, 7], 'ChatClient: the stream continues past the placeholders');
  t.same(
    dStream.get(conv)!.map((e) => e.text),
    ['m1', 'm2', 'm3', 'm6', 'm7'],
  );

  const all = await syncPage(B, conv, { after: 0, limit: 100 });
  t.same(
    (all.events as Json[]).map((e) => (e.gap ? [e.msgSeq, 'gap'] : [e.msgSeq, e.msg])),
    [
      [1, 'm1'],
      [2, 'm2'],
      [3, 'm3'],
      [4, 'gap'],
      [5, 'gap'],
      [6, 'm6'],
      [7, 'm7'],
    ],
    'SYNC after 0: every seq once, the holes as placeholders',
  );
  t.match(all, { lastSeq: 7, more: false });
  t.same((all.events as Json[])[3], { conv, msgSeq: 4, gap: true }, 'a placeholder is {conv, msgSeq, gap: true}');
  const back = await syncPage(B, conv, { before: 7, limit: 3 });
  t.same(
    (back.events as Json[]).map((e) => [e.msgSeq, e.gap === true]),
    [
      [4, true],
      [5, true],
      [6, false],
    ],
    'SYNC before 7, 3 of them: placeholders count toward the page',
  );
  t.equal(back.more, true);
  const page = await syncPage(B, conv, { after: 3, limit: 2 });
  t.same(
    (page.events as Json[]).map((e) => [e.msgSeq, e.gap === true]),
    [
      [4, true],
      [5, true],
    ],
    'a page of nothing but placeholders still advances (more: true)',
  );
  t.equal(page.more, true);
  const hist = await D.history(conv, { after: 3, limit: 10 });
  t.same(
    hist.events.map((e) => ('gap' in e ? [e.seq, 'gap'] : [e.seq, (e as ChatEvent).text])),
    [
      [4, 'gap'],
      [5, 'gap'],
      [6, 'm6'],
      [7, 'm7'],
    ],
    'ChatClient.history hands out the placeholders too',
  );
});

t.test('a push that never came: the server fills it from the log before the next one', async (t) => {
  const { srv, db, ids, A, B, C, gid, conv } = await groupOf(t);
  const D = await chatClient(t, srv.port);
  const dStream = recordStream(D);
  await D.login(ids.dee, PW);
  await D.joinGroup(gid);
  A.send({ msgid: 10, groupid: gid, msg: 'one' });
  await until(() => pushesOf(C, conv).length === 1 && pushesOf(B, conv).length === 1, 20_000, () => 'first line');
  // "another process" commits seq 2 and its publish is lost; then seq 3 comes the usual way
  t.equal(commitBehindTheBack(db, conv, ids.ann, 'lost on the bus'), 2);
  await marker(B, ids.cal, C);
  t.equal(pushesOf(C, conv).length, 1, 'nobody hears of it by itself');
  A.send({ msgid: 10, groupid: gid, msg: 'three' });
  await until(() => pushesOf(C, conv).length === 3 && pushesOf(B, conv).length === 3 && D.appliedSeq(conv) === 3, 20_000, () => 'fill');
  for (const [name, L] of [
    ['legacy', C],
    ['raw v2', B],
  ] as const) {
    t.same(
      pushesOf(L, conv).map((f) => [f.msgSeq, f.msg]),
      [
        [1, 'one'],
        [2, 'lost on the bus'],
        [3, 'three'],
      ],
      `${name} member: the missed one is pushed before the next, in order`,
    );
  }
  t.same(
    dStream.get(conv)!.map((e) => [e.seq, e.text]),
    [
      [1, 'one'],
      [2, 'lost on the bus'],
      [3, 'three'],
    ],
    'ChatClient: in order',
  );
});

t.test('a push lost on the way to a ChatClient: its gap timer syncs, the stream stays 1..N', async (t) => {
  const { srv, ids, A, gid, conv } = await groupOf(t);
  const capture = captureWires();
  t.teardown(capture.restore);
  const D = await chatClient(t, srv.port);
  capture.restore();
  const dStream = recordStream(D);
  await D.login(ids.dee, PW);
  await D.joinGroup(gid);
  let dropped = 0;
  dropFrames(capture.wires[0]!, (f) => {
    if (f.msgid !== 10 || (f.msgSeq !== 3 && f.msgSeq !== 7)) return false;
    dropped++;
    return true;
  });
  for (let i = 1; i <= 8; i++) A.send({ msgid: 10, groupid: gid, msg: `m${i}` });
  await until(() => D.appliedSeq(conv) === 8, 20_000, () => `applied ${D.appliedSeq(conv)}`);
  t.equal(dropped, 2, 'two pushes were lost');
  t.same(seqsOf(dStream.get(conv)!), [1, 2, 3, 4, 5, 6, 7, 8], 'every seq once, in order');
  t.same(D.errors, []);
  A.send({ msgid: 10, groupid: gid, msg: 'm9' });
  await until(() => D.appliedSeq(conv) === 9, 20_000, () => `applied ${D.appliedSeq(conv)}`);
  t.same(seqsOf(dStream.get(conv)!), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'nothing twice afterwards');
});

t.test('a v2 user away while legacy users write: the login summary is behind, it syncs in order', async (t) => {
  const { srv, db, ids, A, gid, conv } = await groupOf(t);
  const D1 = await chatClient(t, srv.port);
  const s1 = recordStream(D1);
  await D1.login(ids.dee, PW);
  await D1.joinGroup(gid);
  A.send({ msgid: 10, groupid: gid, msg: 'seen 1' });
  A.send({ msgid: 6, toid: ids.dee, msg: 'seen pair 1' });
  const pconv = `p:${Math.min(ids.ann, ids.dee)}:${Math.max(ids.ann, ids.dee)}`;
  await until(() => D1.appliedSeq(conv) === 1 && D1.appliedSeq(pconv) === 1, 20_000, () => 'seen');
  t.equal(s1.get(conv)!.length, 1);
  // its delivered acks land, then it goes away
  await until(() => deliveredSeq(db, conv, ids.dee) === 1 && deliveredSeq(db, pconv, ids.dee) === 1, 20_000, () => 'the delivered acks');
  D1.close();
  for (let i = 2; i <= 4; i++) A.send({ msgid: 10, groupid: gid, msg: `away ${i}` });
  await until(() => lastSeq(db, conv) === 4, 20_000, () => `committed up to ${lastSeq(db, conv)}`);
  punchHole(db, conv, 1); // seq 5 never holds anything
  A.send({ msgid: 10, groupid: gid, msg: 'away 6' });
  for (let i = 2; i <= 3; i++) A.send({ msgid: 6, toid: ids.dee, msg: `away pair ${i}` });
  await until(() => lastSeq(db, conv) === 6 && lastSeq(db, pconv) === 3, 20_000, () => `committed up to ${lastSeq(db, conv)} and ${lastSeq(db, pconv)}`);

  const D2 = await chatClient(t, srv.port);
  const s2 = recordStream(D2);
  const info = await D2.login(ids.dee, PW);
  const sum = new Map(info.convs.map((c) => [c.conv, c]));
  t.match(sum.get(conv), { lastSeq: 6, delivered: 1 }, 'group summary: behind by 5');
  t.match(sum.get(pconv), { lastSeq: 3, delivered: 1 }, 'pair summary: behind by 2');
  await until(() => D2.appliedSeq(conv) === 6 && D2.appliedSeq(pconv) === 3, 20_000, () => `applied ${D2.appliedSeq(conv)} ${D2.appliedSeq(pconv)}`);
  t.same(
    s2.get(conv)!.map((e) => [e.seq, e.text]),
    [
      [2, 'away 2'],
      [3, 'away 3'],
      [4, 'away 4'],
      [6, 'away 6'],
    ],
    'group: from just past the delivered position, the hole skipped',
  );
  t.same(
    s2.get(pconv)!.map((e) => [e.seq, e.text]),
    [
      [2, 'away pair 2'],
      [3, 'away pair 3'],
    ],
    'pair: the rest, in order',
  );
  await until(() => deliveredSeq(db, conv, ids.dee) === 6, 20_000, () => `delivered ${deliveredSeq(db, conv, ids.dee)}`);
  const after = await D2.conversations();
  t.match(new Map(after.map((c) => [c.conv, c])).get(conv), { delivered: 6 }, 'its delivered position moved to the end');
});

t.test('a fresh v2 client whose login reply shares a read with live pushes starts at its delivered position', async (t) => {
  const { srv, db, ids, A, gid, conv } = await groupOf(t);
  const D1 = await chatClient(t, srv.port);
  await D1.login(ids.dee, PW);
  await D1.joinGroup(gid);
  for (let i = 1; i <= 5; i++) A.send({ msgid: 10, groupid: gid, msg: `old ${i}` });
  await until(() => D1.appliedSeq(conv) === 5, 20_000, () => 'old ones');
  await until(() => deliveredSeq(db, conv, ids.dee) === 5, 20_000, () => `delivered ${deliveredSeq(db, conv, ids.dee)}`);
  D1.close();
  // a steady stream of new lines while dee logs in again: pushes held during the login go
  // out right behind the reply, usually in the same socket write
  // (a proxy that passes the server's bytes on every 40 ms makes that certain)
  let n = 5;
  const timer = setInterval(() => A.send({ msgid: 10, groupid: gid, msg: `new ${++n}` }), 2);
  t.teardown(() => clearInterval(timer));
  const proxy = await Proxy.start(t, srv.port, { coalesceMs: 40 });
  const D2 = await chatClient(t, proxy.port);
  const s2 = recordStream(D2);
  const info = await D2.login(ids.dee, PW);
  await delay(300);
  clearInterval(timer);
  await barrier(A);
  t.equal(info.convs.find((c) => c.conv === conv)?.delivered, 5, 'the server says dee has 1..5');
  await until(() => D2.appliedSeq(conv) === n, 20_000, () => `applied ${D2.appliedSeq(conv)} of ${n}`);
  const seqs = seqsOf(s2.get(conv) ?? []);
  t.comment(`the stream begins ${seqs.slice(0, 8).join(', ')} ... (${seqs.length} events, last ${n})`);
  t.same(seqs, Array.from({ length: n - 5 }, (_, i) => i + 6), 'the stream is 6..N: nothing already delivered comes again');
});

t.test('a gap whose sync starts while the client is disconnected is filled after the reconnect', async (t) => {
  const { srv, ids, A, gid, conv } = await groupOf(t);
  const capture = captureWires();
  t.teardown(capture.restore);
  const D = await chatClient(t, srv.port, { gapWaitMs: 50, backoffMs: [700, 700] });
  const stream = recordStream(D);
  await D.login(ids.dee, PW);
  await D.joinGroup(gid);
  const wire = capture.wires[0]!;
  capture.restore();
  let reconnected = false;
  D.on('reconnected', () => (reconnected = true));
  // seq 2 is lost; right after seq 3 arrives the connection drops, so the gap timer (50 ms)
  // fires while the client is disconnected (it reconnects after ~700 ms)
  dropFrames(wire, (f) => {
    if (f.msgid !== 10) return false;
    if (f.msgSeq === 3) setImmediate(() => wire.close());
    return f.msgSeq === 2;
  });
  for (let i = 1; i <= 3; i++) A.send({ msgid: 10, groupid: gid, msg: `m${i}` });
  await until(() => reconnected, 20_000, () => 'reconnect');
  await until(() => D.appliedSeq(conv) === 3, 20_000, () => `applied ${D.appliedSeq(conv)} after the reconnect`);
  t.same(seqsOf(stream.get(conv) ?? []), [1, 2, 3], 'the stream has 1..3 in order soon after the reconnect');
});

t.test('a gap sync the server fails (storage error) is tried again, not abandoned', async (t) => {
  const { srv, ids, A, gid, conv } = await groupOf(t);
  const capture = captureWires();
  t.teardown(capture.restore);
  const D = await chatClient(t, srv.port, { gapWaitMs: 50 });
  const stream = recordStream(D);
  await D.login(ids.dee, PW);
  await D.joinGroup(gid);
  const wire = capture.wires[0]!;
  capture.restore();
  // the next log read fails once, as a database hiccup would
  const store = srv.hub.store;
  const readRange = store.readRange.bind(store);
  let failed = 0;
  store.readRange = async (...args) => {
    if (failed++ === 0) throw new StorageError('store', new Error('injected failure'));
    return readRange(...args);
  };
  t.teardown(() => {
    store.readRange = readRange;
  });
  dropFrames(wire, (f) => f.msgid === 10 && f.msgSeq === 2);
  for (let i = 1; i <= 3; i++) A.send({ msgid: 10, groupid: gid, msg: `m${i}` });
  await until(() => failed > 0, 20_000, () => 'the failing read');
  const caughtUp = await until(() => D.appliedSeq(conv) === 3, 20_000, () => '').then(
    () => true,
    () => false,
  );
  t.match(D.errors.map((e) => e.message), [/storage/], 'the failed sync surfaced as an error event');
  t.ok(caughtUp, `with nothing else arriving, the stream still reaches 3 (applied ${D.appliedSeq(conv)})`);
  t.same(seqsOf(stream.get(conv) ?? []), [1, 2, 3], 'what was handed out is in order');
});
