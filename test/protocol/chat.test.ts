/**
 * ONE_CHAT (6) and GROUP_CHAT (10), both flavours: pushes and their exact legacy shape, the v2
 * CHAT_ACK (12), idempotent resend by cmid, every error; v2-only msgids on legacy connections.
 */
import t from 'tap';
import { LineClient, startServer, type Json } from '../fixtures/harness.js';
import { barrier, captureRaw, LEGACY_TIME, loginAs, registerOnly, requestV2, sendV2, user } from './util.js';

const pair = (a: number, b: number) => `p:${Math.min(a, b)}:${Math.max(a, b)}`;

t.test('ONE_CHAT legacy -> legacy: the original shape plus conv and msgSeq, keys sorted', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  const b = await user(t, srv.port, 'bob');
  const raw = captureRaw(b.c);
  a.c.send({ msgid: 6, id: a.id, name: 'alice', toid: b.id, msg: 'hello bob', time: '2024-09-03 20:57:58' }, '\0');
  const m = await b.c.msg(6);
  const line = await raw.find((f) => f.msgid === 6);
  const obj = JSON.parse(line) as Json;
  t.same(Object.keys(obj), ['conv', 'id', 'msg', 'msgSeq', 'msgid', 'name', 'time', 'toid']);
  t.equal(JSON.stringify(obj), line, 'compact');
  t.match(m, { conv: pair(a.id, b.id), id: a.id, msg: 'hello bob', msgSeq: 1, msgid: 6, name: 'alice', toid: b.id });
  t.match(m.time, LEGACY_TIME);
  t.notOk('v' in m || 'mid' in m || 'ts' in m || 'cmid' in m, 'no v2 fields on legacy');
  t.same(await barrier(a.c), [], 'the legacy sender gets no ack and no echo');
});

t.test('ONE_CHAT v2: ack 12 with conv/msgSeq/mid/ts/cmid; the v2 push shape', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob', { v2: true });
  const before = Date.now();
  a.c.send({ msgid: 6, v: 2, toid: b.id, msg: 'hi', cmid: 'm-1' });
  const ack = await a.c.msg(12);
  t.match(ack, { msgid: 12, v: 2, reqmsgid: 6, errno: 0, conv: pair(a.id, b.id), msgSeq: 1, cmid: 'm-1' });
  t.type(ack.mid, 'string');
  t.ok((ack.mid as string).length > 0);
  t.ok(typeof ack.ts === 'number' && ack.ts >= before - 1000 && ack.ts <= Date.now() + 1000, 'ts is server time in ms');
  t.notOk('duplicate' in ack);

  const push = await b.c.msg(6);
  t.match(push, { msgid: 6, v: 2, conv: ack.conv, msgSeq: 1, mid: ack.mid, ts: ack.ts, id: a.id, name: 'alice', toid: b.id, msg: 'hi', cmid: 'm-1' });
  t.match(push.time, LEGACY_TIME);

  const ack2 = await sendV2(a.c, { msgid: 6, toid: b.id, msg: 'second' });
  t.equal(ack2.msgSeq, 2);
  t.not(ack2.mid, ack.mid, 'a new mid per message');
  // bob answers in the same conversation: the seq continues
  const ack3 = await sendV2(b.c, { msgid: 6, toid: a.id, msg: 'back' });
  t.match(ack3, { conv: ack.conv, msgSeq: 3 });
  t.match(await a.c.msg(6), { msgSeq: 3, id: b.id, toid: a.id, msg: 'back' });
  t.same((await barrier(a.c, true)).filter((f) => f.msgid === 6), [], 'the sending session gets its ack, not a push');
});

t.test('ONE_CHAT: resending the same cmid returns the first ack and delivers once', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob', { v2: true });
  const c = await user(t, srv.port, 'carol', { v2: true });
  const first = await sendV2(a.c, { msgid: 6, toid: b.id, msg: 'once', cmid: 'same' });
  const again = await sendV2(a.c, { msgid: 6, toid: b.id, msg: 'once', cmid: 'same' });
  t.equal(again.msgid, 12);
  t.equal(again.msgSeq, first.msgSeq);
  t.equal(again.mid, first.mid);
  t.equal(again.ts, first.ts);
  t.equal(again.duplicate, true);
  // a resend after a reconnect: a new connection of the same user
  const a2 = await loginAs(t, srv.port, a.id, { v2: true });
  const third = await sendV2(a2.c, { msgid: 6, toid: b.id, msg: 'once', cmid: 'same' });
  t.match(third, { msgSeq: first.msgSeq, mid: first.mid, duplicate: true });
  // several copies in one write (one batch) still make one message
  a.c.raw(
    Array.from({ length: 5 }, () => JSON.stringify({ msgid: 6, v: 2, toid: b.id, msg: 'burst', cmid: 'burst' }) + '\n').join(''),
  );
  const acks: Json[] = [];
  for (let i = 0; i < 5; i++) acks.push(await a.c.next((f) => f.msgid === 12 && f.cmid === 'burst'));
  t.same(new Set(acks.map((x) => x.msgSeq)), new Set([2]), 'all five land on one seq');
  t.equal(acks.filter((x) => !x.duplicate).length, 1, 'exactly one original');

  const next = await sendV2(a.c, { msgid: 6, toid: b.id, msg: 'after' });
  t.equal(next.msgSeq, 3, 'the duplicates used no seq');
  t.same(
    [(await b.c.msg(6)).msgSeq, (await b.c.msg(6)).msgSeq, (await b.c.msg(6)).msgSeq],
    [1, 2, 3],
  );
  t.same((await barrier(b.c, true)).filter((f) => f.msgid === 6), [], 'bob got each message once');
  // the same cmid from another sender is another message
  const other = await sendV2(c.c, { msgid: 6, toid: b.id, msg: 'mine', cmid: 'same' });
  t.match(other, { msgid: 12, msgSeq: 1, conv: pair(c.id, b.id) });
});

t.test('ONE_CHAT v2 errors: unknown recipient 107, no cmid 103, bad fields, too long 120', async (t) => {
  const srv = await startServer(t, { maxText: 10 });
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob', { v2: true });
  t.match(await sendV2(a.c, { msgid: 6, toid: b.id + 100, msg: 'x' }), { msgid: 11, v: 2, errno: 107, reqmsgid: 6 });
  a.c.send({ msgid: 6, v: 2, toid: b.id, msg: 'no cmid' });
  const noCmid = await a.c.msg(11);
  t.match(noCmid, { errno: 103, reqmsgid: 6 });
  t.match(noCmid.errmsg, /cmid/);
  t.notOk('cmid' in noCmid);
  for (const [bad, errno] of [
    [{ toid: String(b.id), msg: 'x' }, 103],
    [{ msg: 'x' }, 103],
    [{ toid: b.id }, 103],
    [{ toid: b.id, msg: 5 }, 103],
    [{ toid: b.id, msg: 'x', cmid: '' }, 103],
    [{ toid: b.id, msg: 'x', cmid: 'c'.repeat(65) }, 103],
    [{ toid: b.id, msg: 'eleven char' }, 120],
  ] as const) {
    const cmid = 'cmid' in bad ? undefined : `bad-${JSON.stringify(bad)}`.slice(0, 60);
    a.c.send({ msgid: 6, v: 2, ...(cmid ? { cmid } : {}), ...bad });
    const e = await a.c.msg(11);
    t.match(e, { msgid: 11, errno, reqmsgid: 6 }, JSON.stringify(bad));
    if (cmid) t.equal(e.cmid, cmid, 'cmid echoed');
  }
  t.equal((await sendV2(a.c, { msgid: 6, toid: b.id, msg: 'ten chars!' })).msgSeq, 1, 'nothing was appended by the failures');
});

t.test('ONE_CHAT legacy errors are silent and append nothing', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  const b = await user(t, srv.port, 'bob', { v2: true });
  a.c.send({ msgid: 6, id: a.id, toid: 9999, msg: 'nobody' });
  a.c.send({ msgid: 6, id: a.id, toid: String(b.id), msg: 'string toid' });
  a.c.send({ msgid: 6, id: a.id, toid: b.id });
  a.c.send({ msgid: 6, id: a.id, toid: b.id, msg: 'ok', cmid: '' });
  t.same(await barrier(a.c), []);
  a.c.send({ msgid: 6, id: a.id, toid: b.id, msg: 'real' });
  t.match(await b.c.msg(6), { msgSeq: 1, msg: 'real' }, 'the first message in the conversation is the valid one');
});

t.test('ONE_CHAT across flavours: each recipient gets its own shape', async (t) => {
  const srv = await startServer(t);
  const legacy = await user(t, srv.port, 'old');
  const modern = await user(t, srv.port, 'new', { v2: true });
  legacy.c.send({ msgid: 6, id: legacy.id, toid: modern.id, msg: 'from old' });
  const got = await modern.c.msg(6);
  t.match(got, { v: 2, msg: 'from old', id: legacy.id, name: 'old', msgSeq: 1 });
  t.type(got.mid, 'string');
  t.notOk('cmid' in got, 'a legacy send has no cmid');
  await sendV2(modern.c, { msgid: 6, toid: legacy.id, msg: 'from new' });
  const back = await legacy.c.msg(6);
  t.same(Object.keys(back), ['conv', 'id', 'msg', 'msgSeq', 'msgid', 'name', 'time', 'toid']);
  t.match(back, { msg: 'from new', msgSeq: 2, id: modern.id, toid: legacy.id });
});

t.test('GROUP_CHAT: every other member session gets it exactly once, the sender no push', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob');
  const c = await user(t, srv.port, 'carol', { v2: true });
  const c2 = await loginAs(t, srv.port, c.id, { v2: true });
  const d = await user(t, srv.port, 'dave');
  const outsider = await user(t, srv.port, 'eve', { v2: true });
  const g = await requestV2(a.c, { msgid: 8, groupname: 'all' });
  const groupid = g.groupid as number;
  for (const m of [c, outsider]) t.equal((await requestV2(m.c, { msgid: 9, groupid })).errno, 0);
  t.equal((await requestV2(outsider.c, { msgid: 21, groupid })).errno, 0, 'eve left again');
  for (const m of [b, d]) {
    m.c.send({ msgid: 9, id: m.id, groupid });
    await barrier(m.c);
  }

  const legacyRaw = captureRaw(d.c);
  const ack = await sendV2(a.c, { msgid: 10, groupid, msg: 'to all' });
  t.match(ack, { msgid: 12, v: 2, reqmsgid: 10, errno: 0, conv: `g:${groupid}`, msgSeq: 1 });
  for (const m of [b.c, c.c, c2.c, d.c]) {
    const got = await m.msg(10);
    t.match(got, { msgid: 10, groupid, id: a.id, name: 'alice', msg: 'to all', msgSeq: 1, conv: `g:${groupid}` });
  }
  t.same(
    Object.keys(JSON.parse(await legacyRaw.find((f) => f.msgid === 10)) as object),
    ['conv', 'groupid', 'id', 'msg', 'msgSeq', 'msgid', 'name', 'time'],
    'legacy group push: sorted original keys',
  );
  // a legacy member sends too: the legacy sender gets nothing back
  b.c.send({ msgid: 10, id: b.id, groupid, msg: 'from bob' });
  for (const m of [a.c, c.c, c2.c, d.c]) t.match(await m.msg(10), { id: b.id, msg: 'from bob', msgSeq: 2 });

  for (const [m, v2] of [
    [a.c, true],
    [b.c, false],
    [c.c, true],
    [c2.c, true],
    [d.c, false],
    [outsider.c, true],
  ] as const) {
    const rest = await barrier(m, v2);
    t.same(
      rest.filter((f) => f.msgid === 10),
      [],
      'no further copies (and none for the sender or a former member)',
    );
  }
});

t.test('GROUP_CHAT errors: non-member 109, unknown group 108, bad fields 103; legacy silent', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob', { v2: true });
  const l = await user(t, srv.port, 'leg');
  const g = await requestV2(a.c, { msgid: 8, groupname: 'closed' });
  const groupid = g.groupid as number;
  t.match(await sendV2(b.c, { msgid: 10, groupid, msg: 'let me in' }), { msgid: 11, errno: 109, reqmsgid: 10 });
  t.match(await sendV2(b.c, { msgid: 10, groupid: groupid + 50, msg: 'x' }), { msgid: 11, errno: 108, reqmsgid: 10 });
  t.match(await sendV2(b.c, { msgid: 10, groupid: String(groupid), msg: 'x' }), { msgid: 11, errno: 103, reqmsgid: 10 });
  t.match(await sendV2(a.c, { msgid: 10, groupid, msg: ['x'] }), { msgid: 11, errno: 103, reqmsgid: 10 });
  b.c.send({ msgid: 10, v: 2, groupid, msg: 'no cmid' });
  t.match(await b.c.msg(11), { errno: 103, reqmsgid: 10 });
  l.c.send({ msgid: 10, id: l.id, groupid, msg: 'legacy outsider' });
  l.c.send({ msgid: 10, id: a.id, groupid, msg: 'legacy outsider posing as alice' });
  l.c.send({ msgid: 10, id: l.id, groupid: 777, msg: 'no group' });
  t.same(await barrier(l.c), [], 'legacy: silent');
  t.equal((await sendV2(a.c, { msgid: 10, groupid, msg: 'first real' })).msgSeq, 1, 'nothing was appended by the refused sends');
});

t.test('GROUP_CHAT: resending the same cmid does not deliver twice', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob', { v2: true });
  const groupid = (await requestV2(a.c, { msgid: 8, groupname: 'g' })).groupid as number;
  await requestV2(b.c, { msgid: 9, groupid });
  const one = await sendV2(a.c, { msgid: 10, groupid, msg: 'x', cmid: 'g-same' });
  const two = await sendV2(a.c, { msgid: 10, groupid, msg: 'x', cmid: 'g-same' });
  t.match(two, { msgid: 12, msgSeq: one.msgSeq, mid: one.mid, duplicate: true });
  t.equal((await b.c.msg(10)).msgSeq, 1);
  t.same((await barrier(b.c, true)).filter((f) => f.msgid === 10), []);
});

t.test('v2-only msgids on a legacy connection are ignored; the connection stays legacy', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  const b = await user(t, srv.port, 'bob', { v2: true });
  await sendV2(b.c, { msgid: 6, toid: a.id, msg: 'x' });
  await a.c.msg(6);
  const conv = pair(a.id, b.id);
  const frames: Json[] = [
    { msgid: 11 },
    { msgid: 12 },
    { msgid: 13 },
    { msgid: 14, conv, msgSeq: 1 },
    { msgid: 15, conv, after: 0, limit: 10 },
    { msgid: 17, conv, msgSeq: 1 },
    { msgid: 18, conv, msgSeq: 1 },
    { msgid: 21, groupid: 1 },
    { msgid: 22, groupid: 1, userid: 2 },
    { msgid: 23, friendid: b.id },
    { msgid: 24, conv, msgSeq: 1 },
    { msgid: 26 },
    { msgid: 28 },
    { msgid: 30 },
    { msgid: 99 },
  ];
  for (const f of frames) a.c.send({ ...f, cmid: 'legacy' });
  const raw = captureRaw(a.c);
  t.same(await barrier(a.c), [], 'no reply to any of them');
  t.notOk(raw.all().some((l) => l.includes('"v":2')), 'nothing v2-shaped');
  // still legacy: a push keeps the legacy shape
  await sendV2(b.c, { msgid: 6, toid: a.id, msg: 'y' });
  const m = await a.c.msg(6);
  t.notOk('v' in m, 'still a legacy connection');
  t.equal(m.msgSeq, 2);
});

t.test('v2 error replies carry reqmsgid and echo cmid', async (t) => {
  const srv = await startServer(t);
  const c = await LineClient.connect(t, srv.port);
  const id = await registerOnly(t, srv.port, 'alice');
  const cases: Array<[Json, number, number | null]> = [
    [{ msgid: 6, toid: id, msg: 'x' }, 105, 6],
    [{ msgid: 10, groupid: 1, msg: 'x' }, 105, 10],
    [{ msgid: 15, conv: 'g:1' }, 105, 15],
    [{ msgid: 999 }, 102, 999],
    [{ msgid: '6' }, 103, null],
    [{}, 103, null],
  ];
  for (const [f, errno, reqmsgid] of cases) {
    c.send({ v: 2, ...f, cmid: `e-${errno}-${String(reqmsgid)}` });
    const e = await c.msg(11);
    t.match(e, { msgid: 11, v: 2, errno, reqmsgid, cmid: `e-${errno}-${String(reqmsgid)}` }, JSON.stringify(f));
    t.type(e.errmsg, 'string');
    t.ok((e.errmsg as string).length > 0);
  }
  // an unusable cmid is not echoed
  c.send({ v: 2, msgid: 999, cmid: 42 });
  const e = await c.msg(11);
  t.equal(e.reqmsgid, 999);
  t.notOk('cmid' in e);
});

t.test('a logged-in legacy connection that later sends v:2 is v2 from then on', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  const b = await user(t, srv.port, 'bob', { v2: true });
  // docs/PROTOCOL.md: "is v2 from then on: replies, pushes and receipts take the v2 shape, and its
  // sends need a cmid. (Its session was admitted by the legacy rule, one per account.)"
  await sendV2(b.c, { msgid: 6, toid: a.id, msg: 'before the switch' });
  t.notOk('v' in (await a.c.msg(6)), 'legacy push before the switch');
  a.c.send({ msgid: 28, v: 2, cmid: 'upgrade' });
  t.match(await a.c.msg(29), { v: 2, cmid: 'upgrade' }, 'answered as v2');
  t.match(await sendV2(a.c, { msgid: 6, toid: b.id, msg: 'v2 send' }), { msgid: 12, msgSeq: 2 }, 'acked as v2');
  a.c.send({ msgid: 6, toid: b.id, msg: 'no cmid now' });
  t.match(await a.c.msg(11), { errno: 103, reqmsgid: 6 }, 'a send without cmid is refused now');
  await sendV2(b.c, { msgid: 6, toid: a.id, msg: 'to the switched connection' });
  const push = await a.c.msg(6);
  t.match(push, { v: 2, msg: 'to the switched connection', msgSeq: 3, id: b.id }, 'a v2 push');
  t.type(push.mid, 'string', 'with a mid');
  t.type(push.ts, 'number', 'and a ts');
  t.equal((await loginAs(t, srv.port, a.id)).ack.errno, 2, 'the session still counts as the one legacy session');
});

t.test('ONE_CHAT to yourself: one message in p:<id>:<id>, once on your other device, none back to the sender', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const a2 = await loginAs(t, srv.port, a.id, { v2: true });
  const ack = await sendV2(a.c, { msgid: 6, toid: a.id, msg: 'note to self' });
  t.match(ack, { msgid: 12, conv: `p:${a.id}:${a.id}`, msgSeq: 1 });
  t.same(
    (await barrier(a2.c, true)).filter((f) => f.msgid === 6).map((f) => [f.msgSeq, f.msg]),
    [[1, 'note to self']],
    'the other device gets it exactly once',
  );
  t.same((await barrier(a.c, true)).filter((f) => f.msgid === 6), [], 'the sending session only has its ack');
});
