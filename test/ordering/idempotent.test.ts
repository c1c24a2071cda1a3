/**
 * Idempotent sends: a v2 send repeated with the same cmid (at once, in the same batch, after a
 * reconnect, from the ChatClient's own resend, from two processes at the same instant) gets
 * the first ack again: the same msgSeq and mid, `duplicate: true`; the message is stored once
 * and delivered once.
 */
import Database from 'better-sqlite3';
import t from 'tap';
import type { Test } from 'tap';
import { clusterEnv } from '../fixtures/cluster.js';
import { startServer, type Json } from '../fixtures/harness.js';
import {
  captureWires,
  chatClient,
  dropFrames,
  marker,
  mysqlLog,
  newCmid,
  pairConv,
  PW,
  pushedUpTo,
  pushesOf,
  rawLogin,
  recordStream,
  registerUser,
  reqV2,
  until,
} from './util.js';

t.setTimeout(60_000);

function storedWithCmid(file: string, sender: number, cmid: string): number {
  const db = new Database(file, { readonly: true, timeout: 5000 });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM event WHERE sender_id = ? AND cmid = ?').get(sender, cmid) as { n: number }).n;
  } finally {
    db.close();
  }
}

async function trio(t: Test) {
  const srv = await startServer(t);
  const [amy, bob, cal] = await Promise.all(['amy', 'bob', 'cal'].map((n) => registerUser(t, srv.port, n)));
  const A = (await rawLogin(t, srv.port, amy!, true)).c;
  const B = (await rawLogin(t, srv.port, bob!, true)).c; // v2 recipient
  const C = (await rawLogin(t, srv.port, cal!)).c; // legacy recipient
  return { srv, amy: amy!, bob: bob!, cal: cal!, A, B, C };
}

t.test('the same cmid twice, one after the other and in one batch: one message', async (t) => {
  const { srv, amy, bob, cal, A, B, C } = await trio(t);
  const cmid = newCmid('same');
  const first = await reqV2(A, { msgid: 6, toid: bob, msg: 'hello', cmid });
  const second = await reqV2(A, { msgid: 6, toid: bob, msg: 'hello', cmid });
  t.match(first, { msgid: 12, errno: 0, cmid, msgSeq: 1, conv: pairConv(amy, bob) });
  t.notOk('duplicate' in first, 'the first ack is no duplicate');
  t.match(second, { msgid: 12, errno: 0, cmid, msgSeq: first.msgSeq, mid: first.mid, ts: first.ts, duplicate: true }, 'the second: same seq, mid and ts, duplicate: true');
  const changed = await reqV2(A, { msgid: 6, toid: bob, msg: 'different text, same cmid', cmid });
  t.match(changed, { msgSeq: 1, mid: first.mid, duplicate: true }, 'the cmid names the message: other text changes nothing');

  // two in the same batch (sent in one write, committed in one transaction)
  const twin = newCmid('twin');
  A.raw(`${JSON.stringify({ msgid: 6, v: 2, toid: cal, msg: 'twin', cmid: twin })}\n`.repeat(2));
  const acks: Json[] = [await A.next((f) => f.msgid === 12 && f.cmid === twin), await A.next((f) => f.msgid === 12 && f.cmid === twin)];
  t.same(
    acks.map((a) => [a.msgSeq, a.mid, a.duplicate === true]),
    [
      [1, acks[0]!.mid, false],
      [1, acks[0]!.mid, true],
    ],
    'same batch: the second is the duplicate of the first',
  );
  // a legacy-style send after them lands right behind
  t.match(await reqV2(A, { msgid: 6, toid: bob, msg: 'next' }), { msgSeq: 2 }, 'the duplicates took no seq');

  // a second push of the first would have come before the next one
  await pushedUpTo(B, pairConv(amy, bob), 2);
  await marker(B, cal, C);
  t.same(
    pushesOf(B, pairConv(amy, bob)).map((f) => [f.msgSeq, f.msg, f.mid]),
    [
      [1, 'hello', first.mid],
      [2, 'next', pushesOf(B, pairConv(amy, bob))[1]?.mid],
    ],
    'the v2 recipient was pushed it once',
  );
  t.same(
    pushesOf(C, pairConv(amy, cal)).map((f) => [f.msgSeq, f.msg]),
    [[1, 'twin']],
    'the legacy recipient once',
  );
  t.equal(storedWithCmid(srv.opts.db, amy, cmid), 1, 'stored once');
  t.equal(storedWithCmid(srv.opts.db, amy, twin), 1, 'stored once');
  const page = await reqV2(B, { msgid: 15, conv: pairConv(amy, bob), after: 0 });
  t.same(
    (page.events as Json[]).map((e) => [e.msgSeq, e.msg]),
    [
      [1, 'hello'],
      [2, 'next'],
    ],
    'the log holds it once',
  );
});

t.test('the same cmid after a reconnect: the first ack again, nothing pushed again', async (t) => {
  const { srv, amy, bob, A, B } = await trio(t);
  const cmid = newCmid('again');
  const first = await reqV2(A, { msgid: 6, toid: bob, msg: 'before the drop', cmid });
  A.close();
  await A.waitClosed();
  const A2 = (await rawLogin(t, srv.port, amy, true)).c;
  const again = await reqV2(A2, { msgid: 6, toid: bob, msg: 'before the drop', cmid });
  t.match(again, { msgid: 12, msgSeq: first.msgSeq, mid: first.mid, duplicate: true }, 'a new connection, a new session: still the same message');
  await reqV2(A2, { msgid: 6, toid: bob, msg: 'later' });
  await pushedUpTo(B, pairConv(amy, bob), 2);
  t.same(
    pushesOf(B, pairConv(amy, bob)).map((f) => [f.msgSeq, f.msg]),
    [
      [1, 'before the drop'],
      [2, 'later'],
    ],
    'the recipient has it once (and the next message after it)',
  );
  t.equal(storedWithCmid(srv.opts.db, amy, cmid), 1, 'stored once');
});

t.test("ChatClient: an ack lost with the connection; the client's resend is a duplicate, the stream has it once", async (t) => {
  const { srv, amy, bob, B } = await trio(t);
  const capture = captureWires();
  t.teardown(capture.restore);
  const client = await chatClient(t, srv.port, { backoffMs: [100, 100] });
  const stream = recordStream(client);
  await client.login(amy, PW);
  const wire = capture.wires[0]!;
  capture.restore();
  // the ack of the first send is lost, and the connection with it
  let lost = 0;
  dropFrames(wire, (f) => {
    if (f.msgid !== 12) return false;
    lost++;
    setImmediate(() => wire.close());
    return true;
  });
  const ack = await client.sendTo(bob, 'ack lost');
  t.equal(lost, 1, 'the first ack was lost');
  t.match(ack, { msgSeq: 1, duplicate: true }, 'the resend after the reconnect was answered as a duplicate');
  const next = await client.sendTo(bob, 'after');
  t.equal(next.msgSeq, 2);
  await until(() => client.appliedSeq(pairConv(amy, bob)) === 2, 20_000, () => 'own stream');
  t.same(
    stream.get(pairConv(amy, bob))!.map((e) => [e.seq, e.text, e.own]),
    [
      [1, 'ack lost', true],
      [2, 'after', true],
    ],
    "the sender's own stream has it once",
  );
  await pushedUpTo(B, pairConv(amy, bob), 2);
  t.same(
    pushesOf(B, pairConv(amy, bob)).map((f) => [f.msgSeq, f.msg]),
    [
      [1, 'ack lost'],
      [2, 'after'],
    ],
    'the recipient too',
  );
  t.equal(storedWithCmid(srv.opts.db, amy, ack.cmid), 1, 'stored once');
});

t.test('a message stored by a process that died before it was pushed or acked: the resend delivers it', async (t) => {
  const { srv, amy, bob, cal, A, B, C } = await trio(t);
  // amy writes to bob and cal once the normal way
  await reqV2(A, { msgid: 6, toid: bob, msg: 'one' });
  A.send({ msgid: 6, v: 2, toid: cal, msg: 'one', cmid: newCmid() });
  await until(() => pushesOf(B, pairConv(amy, bob)).length === 1 && pushesOf(C, pairConv(amy, cal)).length === 1, 20_000, () => 'first');
  // "another process" commits amy's next message (cmid known to amy's client) and dies: no
  // push, no ack. Her client resends the cmid.
  const cmids = [newCmid('orphan'), newCmid('orphan')];
  const db = new Database(srv.opts.db, { timeout: 5000 });
  t.teardown(() => db.close());
  for (const [i, [conv, cmid]] of [
    [pairConv(amy, bob), cmids[0]!],
    [pairConv(amy, cal), cmids[1]!],
  ].entries()) {
    db.transaction(() => {
      const { last_seq: seq } = db.prepare('UPDATE conversation SET last_seq = last_seq + 1 WHERE conv = ? RETURNING last_seq').get(conv) as { last_seq: number };
      db.prepare("INSERT INTO event (conv, seq, mid, kind, sender_id, ts, text, ref, recalled, cmid) VALUES (?, ?, ?, 'chat', ?, ?, 'orphan', NULL, 0, ?)").run(
        conv,
        seq,
        `orphan-${process.pid}-${i}`,
        amy,
        Date.now(),
        cmid,
      );
    })();
  }
  const r1 = await reqV2(A, { msgid: 6, toid: bob, msg: 'orphan', cmid: cmids[0] });
  const r2 = await reqV2(A, { msgid: 6, toid: cal, msg: 'orphan', cmid: cmids[1] });
  t.match(r1, { msgSeq: 2, duplicate: true }, 'the resend finds the stored message');
  t.match(r2, { msgSeq: 2, duplicate: true });
  await pushedUpTo(B, pairConv(amy, bob), 2);
  await pushedUpTo(C, pairConv(amy, cal), 2);
  t.same(
    pushesOf(B, pairConv(amy, bob)).map((f) => f.msgSeq),
    [1, 2],
    'the online v2 recipient is pushed it',
  );
  t.same(
    pushesOf(C, pairConv(amy, cal)).map((f) => f.msgSeq),
    [1, 2],
    'the online legacy recipient is pushed it',
  );
  // either way it is not lost: the next message brings it along (server-side gap fill)
  await reqV2(A, { msgid: 6, toid: bob, msg: 'three' });
  A.send({ msgid: 6, v: 2, toid: cal, msg: 'three', cmid: newCmid() });
  await until(() => pushesOf(B, pairConv(amy, bob)).length >= 3 && pushesOf(C, pairConv(amy, cal)).length >= 3, 20_000, () => 'third');
  t.same(
    pushesOf(B, pairConv(amy, bob)).map((f) => [f.msgSeq, f.msg]),
    [
      [1, 'one'],
      [2, 'orphan'],
      [3, 'three'],
    ],
    'v2: the next push fills it in, in order, once',
  );
  t.same(
    pushesOf(C, pairConv(amy, cal)).map((f) => [f.msgSeq, f.msg]),
    [
      [1, 'one'],
      [2, 'orphan'],
      [3, 'three'],
    ],
    'legacy: likewise',
  );
});

t.test('two processes, one user, the same cmid at the same instant on both: stored once', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const nodes = await Promise.all([env.node(), env.node()]);
  const [amy, bob] = await Promise.all(['amy', 'bob'].map((n, i) => registerUser(t, nodes[i]!.port, n)));
  const A0 = (await rawLogin(t, nodes[0]!.port, amy!, true)).c;
  const A1 = (await rawLogin(t, nodes[1]!.port, amy!, true)).c;
  const B = (await rawLogin(t, nodes[1]!.port, bob!)).c; // legacy recipient
  const conv = pairConv(amy!, bob!);
  const ROUNDS = 30;
  const sends: Array<[Json, Json]> = [];
  for (let i = 0; i < ROUNDS; i++) {
    const cmid = newCmid('race');
    const line = `${JSON.stringify({ msgid: 6, v: 2, toid: bob, msg: `race ${i}`, cmid })}\n`;
    A0.raw(line);
    A1.raw(line);
    sends.push(await Promise.all([A0.next((f) => f.cmid === cmid && f.msgid === 12, 10_000), A1.next((f) => f.cmid === cmid && f.msgid === 12, 10_000)]));
  }
  const mismatch = sends.filter(([x, y]) => x.msgSeq !== y.msgSeq || x.mid !== y.mid);
  t.same(mismatch, [], 'both processes answer with the same seq and mid');
  t.ok(
    sends.every(([x, y]) => (x.duplicate === true) !== (y.duplicate === true)),
    'exactly one of each two acks is the duplicate',
  );
  t.same(
    sends.map(([x]) => x.msgSeq),
    Array.from({ length: ROUNDS }, (_, i) => i + 1),
    'one seq per message',
  );
  const log = await mysqlLog(env.mysql, conv);
  t.equal(log.length, ROUNDS, 'stored once each');
  // one more from each of amy's sessions: pushed to bob, and each to her other session, after
  // every copy of the ones before
  for (const [from, other] of [
    [A0, A1],
    [A1, A0],
  ] as const) {
    const ack = await reqV2(from, { msgid: 6, toid: bob, msg: 'the end' });
    await pushedUpTo(B, conv, ack.msgSeq as number);
    await pushedUpTo(other, conv, ack.msgSeq as number);
  }
  t.same(
    pushesOf(B, conv).map((f) => f.msgSeq),
    Array.from({ length: ROUNDS + 2 }, (_, i) => i + 1),
    'the recipient gets each once, in order',
  );
  const other = [...pushesOf(A0, conv), ...pushesOf(A1, conv)].map((f) => f.msgSeq as number);
  t.equal(new Set(other).size, other.length, `amy's sessions got at most one copy of each (${other.length})`);
});
