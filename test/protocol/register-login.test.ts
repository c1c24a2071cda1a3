/**
 * REG (4 -> 5), LOGIN (1 -> 2) and LOGINOUT (3), both flavours: success and every error, the
 * exact legacy bytes, the v2 shapes, and session rules (legacy exclusive, v2 up to 5).
 */
import t from 'tap';
import { LineClient, login, register, startServer } from '../fixtures/harness.js';
import { barrier, captureRaw, NO_LOGIN_LIMITS, loginAs, newCmid, registerOnly, sendV2, sleep, user } from './util.js';

t.test('REG legacy: success and duplicate name, exact bytes', async (t) => {
  const srv = await startServer(t);
  const c = await LineClient.connect(t, srv.port);
  const raw = captureRaw(c);
  c.send({ msgid: 4, name: 'alice', password: 'pw1' }, '\0');
  const ack = await c.msg(5);
  t.equal(ack.errno, 0);
  t.ok(Number.isSafeInteger(ack.id) && (ack.id as number) > 0, 'a positive id');
  t.equal(await raw.find((f) => f.msgid === 5 && f.errno === 0), `{"errno":0,"id":${ack.id},"msgid":5}`, 'exactly the original bytes');

  c.send({ msgid: 4, name: 'bob', password: 'pw2' }, '\0');
  const ack2 = await c.msg(5);
  t.equal(ack2.errno, 0);
  t.not(ack2.id, ack.id, 'a new id for a new user');

  c.send({ msgid: 4, name: 'alice', password: 'other' }, '\0');
  const dup = await c.msg(5);
  t.same(dup, { errmsg: 'name is already exist, register error!', errno: 1, msgid: 5 });
  t.equal(
    await raw.find((f) => f.msgid === 5 && f.errno === 1),
    '{"errmsg":"name is already exist, register error!","errno":1,"msgid":5}',
    'sorted keys, no v, nothing else',
  );
  t.notOk(c.frames.length, 'nothing else was sent');
});

t.test('REG legacy: missing or wrong-typed fields answer errno 1 with errmsg', async (t) => {
  const srv = await startServer(t);
  const c = await LineClient.connect(t, srv.port);
  const raw = captureRaw(c);
  const bad = [
    { msgid: 4, password: 'x' },
    { msgid: 4, name: 'x' },
    { msgid: 4, name: 42, password: 'x' },
    { msgid: 4, name: 'x', password: '' },
    { msgid: 4, name: '   ', password: 'x' },
    { msgid: 4, name: 'n'.repeat(51), password: 'x' },
  ];
  for (const f of bad) {
    c.send(f);
    const ack = await c.msg(5);
    t.equal(ack.errno, 1, `errno 1 for ${JSON.stringify(f)}`);
    t.type(ack.errmsg, 'string');
    t.notOk('id' in ack, 'no id');
    t.notOk('v' in ack, 'no v on legacy');
  }
  for (const l of raw.all()) t.same(Object.keys(JSON.parse(l) as object), ['errmsg', 'errno', 'msgid'], `sorted keys: ${l}`);
  // none of them created a user: the names are still free
  t.equal((await register(c, 'x')) > 0, true);
});

t.test('REG v2: success, duplicate, bad field; cmid echoed', async (t) => {
  const srv = await startServer(t);
  const c = await LineClient.connect(t, srv.port);
  c.send({ msgid: 4, v: 2, name: 'alice', password: 'pw', cmid: 'r1' });
  const ok = await c.msg(5);
  t.match(ok, { msgid: 5, v: 2, errno: 0, errmsg: 'ok', cmid: 'r1' });
  t.ok(Number.isSafeInteger(ok.id) && (ok.id as number) > 0);

  c.send({ msgid: 4, v: 2, name: 'alice', password: 'pw', cmid: 'r2' });
  const dup = await c.msg(5);
  t.match(dup, { msgid: 5, v: 2, errno: 1, cmid: 'r2' });
  t.match(dup.errmsg, /^name is already exist/);
  t.notOk('id' in dup);

  c.send({ msgid: 4, v: 2, password: 'pw', cmid: 'r3' });
  const bad = await c.msg(5);
  t.match(bad, { msgid: 5, v: 2, errno: 103, cmid: 'r3' });
  t.match(bad.errmsg, /name/);
});

t.test('LOGIN legacy: wrong password, unknown id, phantom id -1: the original bytes', async (t) => {
  const srv = await startServer(t, NO_LOGIN_LIMITS);
  const id = await registerOnly(t, srv.port, 'alice', 'right');
  const c = await LineClient.connect(t, srv.port);
  const raw = captureRaw(c);
  const attempts = [
    { msgid: 1, id, password: 'wrong' },
    { msgid: 1, id: id + 1000, password: 'right' },
    { msgid: 1, id: -1, password: '' },
    { msgid: 1, id: 0, password: '' },
    { msgid: 1, id, password: '' },
    { msgid: 1, id: String(id), password: 'right' },
    { msgid: 1 },
  ];
  for (const f of attempts) {
    c.send(f, '\0');
    const ack = await c.msg(2);
    t.same(ack, { errmsg: 'id or password is invalid!', errno: 1, msgid: 2 }, JSON.stringify(f));
  }
  const lines = raw.all();
  t.equal(lines.length, attempts.length);
  for (const l of lines) t.equal(l, '{"errmsg":"id or password is invalid!","errno":1,"msgid":2}');
  // none of them logged the connection in: a chat is ignored, the right password works after
  c.send({ msgid: 6, id, toid: id, msg: 'x' });
  t.same(await barrier(c), [], 'not logged in: silence');
  const ok = await login(c, id, 'right');
  t.equal(ok.errno, 0);
  t.equal(ok.id, id);
});

t.test('LOGIN v2: wrong password, unknown id, phantom: refused in the LOGIN ack', async (t) => {
  const srv = await startServer(t, NO_LOGIN_LIMITS);
  const id = await registerOnly(t, srv.port, 'alice', 'right');
  const c = await LineClient.connect(t, srv.port);
  for (const [f, errno] of [
    [{ id, password: 'wrong' }, 1],
    [{ id: id + 1000, password: 'right' }, 1],
    [{ id: -1, password: '' }, 103],
    [{ id: String(id), password: 'right' }, 103],
  ] as const) {
    const cmid = newCmid();
    c.send({ msgid: 1, v: 2, ...f, cmid });
    const ack = await c.msg(2);
    t.equal(ack.errno, errno, JSON.stringify(f));
    t.equal(ack.v, 2);
    t.equal(ack.cmid, cmid, 'cmid echoed');
    if (errno === 1) t.equal(ack.errmsg, 'id or password is invalid!');
    t.notOk('token' in ack || 'id' in ack, 'no session data');
  }
  c.send({ msgid: 7, v: 2, friendid: id, cmid: 'after' });
  t.match(await c.msg(11), { errno: 105, reqmsgid: 7, cmid: 'after' }, 'still not logged in');
});

t.test('LOGIN legacy: a second login while a session is live is refused with errno 2', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  const c2 = await LineClient.connect(t, srv.port);
  const raw = captureRaw(c2);
  const ack = await login(c2, a.id);
  t.same(ack, { errmsg: 'this account is using, input another!', errno: 2, msgid: 2 });
  t.equal(raw.all()[0], '{"errmsg":"this account is using, input another!","errno":2,"msgid":2}');

  // refused as well while only a v2 session is live
  const b = await user(t, srv.port, 'bob', { v2: true });
  const c3 = await LineClient.connect(t, srv.port);
  t.equal((await login(c3, b.id)).errno, 2, 'legacy login beside a v2 session');

  // the refused connection is not logged in: its chat is not sent
  c2.send({ msgid: 6, id: a.id, toid: b.id, msg: 'from the refused connection' });
  t.same(await barrier(c2), []);
  const real = await sendV2(b.c, { msgid: 6, toid: a.id, msg: 'real' });
  t.equal(real.msgSeq, 1, 'the refused connection appended nothing to the pair log');
});

t.test('LOGIN legacy: a second LOGIN on a logged-in legacy connection is ignored', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  const b = await registerOnly(t, srv.port, 'bob');
  a.c.send({ msgid: 1, id: b, password: 'secret' });
  t.same(await barrier(a.c), [], 'no reply');
  // bob can still log in elsewhere: the ignored frame did not take his account
  const { ack } = await loginAs(t, srv.port, b);
  t.equal(ack.errno, 0);
});

t.test('LOGIN v2: beside other sessions, at most 5, then errno 112; each session gets the pushes', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice'); // a legacy session
  const b = await user(t, srv.port, 'bob', { v2: true });
  const sessions = [b.c];
  for (let i = 0; i < 4; i++) {
    const { c, ack } = await loginAs(t, srv.port, b.id, { v2: true });
    t.equal(ack.errno, 0, `v2 session ${i + 2}`);
    sessions.push(c);
  }
  const { c: sixth, ack: full } = await loginAs(t, srv.port, b.id, { v2: true });
  t.match(full, { msgid: 2, v: 2, errno: 112 });
  t.notOk('token' in full);

  // a v2 login beside a legacy session is fine
  const { ack: beside } = await loginAs(t, srv.port, a.id, { v2: true });
  t.equal(beside.errno, 0, 'v2 beside legacy');

  a.c.send({ msgid: 6, id: a.id, toid: b.id, msg: 'to every device' });
  for (const [i, c] of sessions.entries()) {
    const m = await c.msg(6);
    t.equal(m.msg, 'to every device', `session ${i + 1} got it`);
  }
  t.same(await barrier(sixth, true), [], 'the refused sixth connection got nothing');

  // after one session logs out, a new one fits
  sessions[4]!.send({ msgid: 3, v: 2, cmid: 'bye' });
  t.match(await sessions[4]!.msg(13), { reqmsgid: 3, errno: 0, cmid: 'bye' });
  const { ack: again } = await loginAs(t, srv.port, b.id, { v2: true });
  t.equal(again.errno, 0, 'room for a new session after a logout');
});

t.test('LOGIN v2: twice on one connection is errno 106', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  a.c.send({ msgid: 1, v: 2, id: a.id, password: 'secret', cmid: 'twice' });
  const ack = await a.c.msg(2);
  t.match(ack, { v: 2, errno: 106, cmid: 'twice' });
});

t.test('LOGIN legacy ack: the original shape, keys sorted, lists of JSON strings only when non-empty', async (t) => {
  const srv = await startServer(t);
  // a user with nothing: exactly four keys
  const lonely = await LineClient.connect(t, srv.port);
  const lonelyRaw = captureRaw(lonely);
  const lid = await register(lonely, 'lonely');
  await login(lonely, lid);
  t.equal(await lonelyRaw.find((f) => f.msgid === 2), `{"errno":0,"id":${lid},"msgid":2,"name":"lonely"}`);

  const bob = await user(t, srv.port, 'bob', { v2: true });
  const carol = await user(t, srv.port, 'carol', { v2: true });
  const aliceId = await registerOnly(t, srv.port, 'alice');
  // alice (offline) befriends nobody; bob and carol befriend her, bob creates a group she joins
  t.equal((await sendReq(bob.c, { msgid: 7, friendid: aliceId })).errno, 0);
  t.equal((await sendReq(carol.c, { msgid: 7, friendid: aliceId })).errno, 0);
  const g = await sendReq(bob.c, { msgid: 8, groupname: 'team', groupdesc: 'the team' });
  const groupid = g.groupid as number;
  t.equal((await sendReq(carol.c, { msgid: 9, groupid })).errno, 0);
  // offline messages for alice: a chat from bob, a group message from carol
  t.equal((await sendV2(bob.c, { msgid: 6, toid: aliceId, msg: 'hi alice' })).errno, 0);
  // carol goes offline: her state in the lists reads offline
  t.equal((await sendReq(carol.c, { msgid: 3 })).errno, 0);
  const a = await LineClient.connect(t, srv.port);
  t.equal((await login(a, aliceId)).errno, 0);
  // alice joins (legacy, no reply), then logs out and in again to see the lists with the group
  a.send({ msgid: 9, id: aliceId, groupid });
  await barrier(a);
  t.equal((await sendV2(bob.c, { msgid: 10, groupid, msg: 'group hello' })).errno, 0);
  const gm = await a.msg(10);
  t.equal(gm.msg, 'group hello');
  a.close();

  // messages alice missed while away
  t.equal((await sendV2(bob.c, { msgid: 6, toid: aliceId, msg: 'while away' })).errno, 0);
  t.equal((await sendV2(bob.c, { msgid: 10, groupid, msg: 'group while away' })).errno, 0);

  let l: { c: LineClient; ack: Record<string, unknown> } | undefined;
  for (let i = 0; i < 100; i++) {
    // the first connection's session ends when the server sees it close
    const c = await LineClient.connect(t, srv.port);
    const raw = captureRaw(c);
    const ack = await login(c, aliceId);
    if (ack.errno === 0) {
      l = { c, ack };
      const line = await raw.find((f) => f.msgid === 2);
      const top = JSON.parse(line) as Record<string, unknown>;
      t.same(Object.keys(top), ['errno', 'friends', 'groups', 'id', 'msgid', 'name', 'offlinemsg'], 'keys in sorted order');
      t.equal(JSON.stringify(top), line, 'compact, no whitespace');
      break;
    }
    t.equal(ack.errno, 2);
    c.close();
    await sleep(20);
  }
  if (!l) throw new Error('alice could not log in again');
  const ack = l.ack;
  t.equal(ack.id, aliceId);
  t.equal(ack.name, 'alice');

  const friends = ack.friends as unknown[];
  t.ok(friends.every((s) => typeof s === 'string'), 'friends are JSON strings');
  const fr = friends.map((s) => JSON.parse(s as string) as Record<string, unknown>);
  for (const [i, s] of friends.entries()) t.same(Object.keys(fr[i]!), ['id', 'name', 'state'], `friend keys: ${s as string}`);
  t.same(
    fr.sort((x, y) => (x.id as number) - (y.id as number)),
    [
      { id: bob.id, name: 'bob', state: 'online' },
      { id: carol.id, name: 'carol', state: 'offline' },
    ],
  );

  const groups = ack.groups as unknown[];
  t.equal(groups.length, 1);
  t.type(groups[0], 'string');
  const grp = JSON.parse(groups[0] as string) as Record<string, unknown>;
  t.same(Object.keys(grp), ['groupdesc', 'groupname', 'id', 'users']);
  t.match(grp, { groupdesc: 'the team', groupname: 'team', id: groupid });
  const users = grp.users as unknown[];
  t.ok(users.every((s) => typeof s === 'string'), 'users are JSON strings');
  const us = users.map((s) => JSON.parse(s as string) as Record<string, unknown>);
  for (const u of us) t.same(Object.keys(u), ['id', 'name', 'role', 'state']);
  t.same(
    us.sort((x, y) => (x.id as number) - (y.id as number)),
    [
      { id: bob.id, name: 'bob', role: 'creator', state: 'online' },
      { id: carol.id, name: 'carol', role: 'normal', state: 'offline' },
      { id: aliceId, name: 'alice', role: 'normal', state: 'online' },
    ].sort((x, y) => x.id - y.id),
  );

  const off = ack.offlinemsg as unknown[];
  t.ok(off.every((s) => typeof s === 'string'), 'offlinemsg are JSON strings');
  const msgs = off.map((s) => JSON.parse(s as string) as Record<string, unknown>);
  t.same(
    msgs.map((m) => m.msg),
    ['while away', 'group while away'],
    'only what was not delivered, in order',
  );
  const one = msgs[0]!;
  t.same(Object.keys(one), ['conv', 'id', 'msg', 'msgSeq', 'msgid', 'name', 'time', 'toid']);
  t.match(one, { conv: `p:${Math.min(aliceId, bob.id)}:${Math.max(aliceId, bob.id)}`, id: bob.id, msgSeq: 2, msgid: 6, name: 'bob', toid: aliceId });
  const grpMsg = msgs[1]!;
  t.same(Object.keys(grpMsg), ['conv', 'groupid', 'id', 'msg', 'msgSeq', 'msgid', 'name', 'time']);
  t.match(grpMsg, { conv: `g:${groupid}`, groupid, id: bob.id, msgSeq: 2, msgid: 10, name: 'bob' });
  for (const s of off) t.equal(JSON.stringify(JSON.parse(s as string)), s, 'each entry compact');
  for (const m of msgs) t.match(m.time, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
});

t.test('LOGIN v2 ack: nested lists, token, conversation summary, no offlinemsg', async (t) => {
  const srv = await startServer(t);
  const bob = await user(t, srv.port, 'bob', { v2: true });
  const aliceId = await registerOnly(t, srv.port, 'alice');
  t.equal((await sendReq(bob.c, { msgid: 7, friendid: aliceId })).errno, 0);
  const g = await sendReq(bob.c, { msgid: 8, groupname: 'team', groupdesc: 'desc' });
  const groupid = g.groupid as number;
  for (let i = 0; i < 3; i++) t.equal((await sendV2(bob.c, { msgid: 6, toid: aliceId, msg: `m${i}` })).errno, 0);

  const c = await LineClient.connect(t, srv.port);
  c.send({ msgid: 1, v: 2, id: aliceId, password: 'secret', cmid: 'login-1' });
  const ack = await c.msg(2);
  t.match(ack, { msgid: 2, v: 2, errno: 0, id: aliceId, name: 'alice', cmid: 'login-1' });
  t.type(ack.token, 'string');
  t.ok((ack.token as string).length >= 16, 'a real token');
  t.notOk('offlinemsg' in ack, 'messages come by sync');
  t.same(ack.friends, [{ id: bob.id, name: 'bob', state: 'online' }]);
  t.same(ack.groups, [], 'alice is in no group');
  const conv = `p:${Math.min(aliceId, bob.id)}:${Math.max(aliceId, bob.id)}`;
  const aliceConvs = ack.convs as Array<Record<string, unknown>>;
  t.equal(aliceConvs.length, 1, 'one conversation');
  t.match(aliceConvs[0], { conv, lastSeq: 3, joinedSeq: 0, delivered: 0, read: 0, unread: 3 });

  // bob's own v2 login (a second device): group nested with users objects
  const { ack: bobAck } = await loginAs(t, srv.port, bob.id, { v2: true });
  t.same(bobAck.groups, [{ id: groupid, groupname: 'team', groupdesc: 'desc', users: [{ id: bob.id, name: 'bob', role: 'creator', state: 'online' }] }]);
  t.same(bobAck.friends, [{ id: aliceId, name: 'alice', state: 'online' }]);
  t.notSame(bobAck.token, ack.token);
  const convs = bobAck.convs as Array<Record<string, unknown>>;
  t.match(
    convs.find((x) => x.conv === conv),
    { conv, lastSeq: 3, joinedSeq: 0, delivered: 3, read: 3, unread: 0 },
    "the sender has its own messages read",
  );
  t.ok(
    convs.some((x) => x.conv === `g:${groupid}` && x.lastSeq === 0),
    'the empty group is in the summary',
  );
});

t.test('LOGINOUT legacy: no reply, the session ends, the account can log in again', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  const b = await user(t, srv.port, 'bob', { v2: true });
  a.c.send({ msgid: 3, id: a.id }, '\0');
  t.same(await barrier(a.c), [], 'no reply');
  // another legacy login succeeds at once
  const second = await loginAs(t, srv.port, a.id);
  t.equal(second.ack.errno, 0, 'the account is free');
  // the logged-out connection gets no pushes and can no longer send
  a.c.send({ msgid: 6, id: a.id, toid: b.id, msg: 'after logout' });
  t.equal((await sendV2(b.c, { msgid: 6, toid: a.id, msg: 'to alice' })).msgSeq, 1, 'the logged-out send appended nothing');
  const pushed = await second.c.msg(6);
  t.equal(pushed.msg, 'to alice');
  t.same(await barrier(a.c), [], 'the logged-out connection got no push');
  // the same connection may log in again (after the other session leaves)
  second.c.send({ msgid: 3 });
  await barrier(second.c);
  t.equal((await login(a.c, a.id)).errno, 0, 'login again on the same connection');
});

t.test('LOGINOUT v2: ack msgid 13, then requests are refused with 105', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  a.c.send({ msgid: 3, v: 2, cmid: 'out' });
  const ack = await a.c.msg(13);
  t.match(ack, { msgid: 13, v: 2, reqmsgid: 3, errno: 0, cmid: 'out' });
  a.c.send({ msgid: 8, v: 2, groupname: 'g', cmid: 'g1' });
  t.match(await a.c.msg(11), { errno: 105, reqmsgid: 8, cmid: 'g1' });
  a.c.send({ msgid: 3, v: 2, cmid: 'out2' });
  t.match(await a.c.msg(11), { errno: 105, reqmsgid: 3, cmid: 'out2' }, 'a second logout is refused too');
  // and a legacy login works: no session is left
  const { ack: legacy } = await loginAs(t, srv.port, a.id);
  t.equal(legacy.errno, 0);
});

t.test('LOGIN legacy: after the connection closes the account frees up', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  a.c.close();
  let errno: unknown = 2;
  for (let i = 0; i < 100 && errno === 2; i++) {
    const { c, ack } = await loginAs(t, srv.port, a.id);
    errno = ack.errno;
    if (errno !== 0) {
      c.close();
      await sleep(20);
    }
  }
  t.equal(errno, 0);
});

async function sendReq(c: LineClient, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  const cmid = newCmid('q');
  c.send({ v: 2, ...frame, cmid });
  return c.next((f) => (f.msgid === 13 || f.msgid === 11) && f.cmid === cmid);
}
