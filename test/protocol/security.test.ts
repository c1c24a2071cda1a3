/**
 * Identity comes from the connection's login, never from a frame's `id`; nothing but REG and
 * LOGIN works before login; SQL metacharacters are data; passwords never reach the disk in
 * plain text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { LineClient, startServer, tempDir, type Json } from '../fixtures/harness.js';
import { barrier, LEGACY_TIME, NO_LOGIN_LIMITS, loginAs, parseList, registerOnly, requestV2, sendV2, syncAll, user } from './util.js';

const pair = (a: number, b: number) => `p:${Math.min(a, b)}:${Math.max(a, b)}`;

t.test('ONE_CHAT with a spoofed id/name/time is sent as the real sender', async (t) => {
  const srv = await startServer(t);
  const alice = await user(t, srv.port, 'alice');
  const mallory = await user(t, srv.port, 'mallory');
  const mallory2 = await user(t, srv.port, 'mallory2', { v2: true });
  const carol = await user(t, srv.port, 'carol');
  mallory.c.send({ msgid: 6, id: alice.id, name: 'alice', toid: carol.id, msg: 'trust me', time: '1999-01-01 00:00:00' }, '\0');
  const got = await carol.c.msg(6);
  t.match(got, { id: mallory.id, name: 'mallory', toid: carol.id, conv: pair(mallory.id, carol.id), msgSeq: 1, msg: 'trust me' });
  t.not(got.time, '1999-01-01 00:00:00', 'time is set by the server');
  t.match(got.time, LEGACY_TIME);

  const ack = await sendV2(mallory2.c, { msgid: 6, id: alice.id, name: 'alice', toid: carol.id, msg: 'v2 spoof' });
  t.match(ack, { msgid: 12, conv: pair(mallory2.id, carol.id), msgSeq: 1 });
  t.match(await carol.c.msg(6), { id: mallory2.id, name: 'mallory2', msg: 'v2 spoof' });
  t.same(await barrier(alice.c), [], 'alice got nothing (not even her "own" message)');
  // alice's conversation with carol is untouched
  alice.c.send({ msgid: 6, id: alice.id, toid: carol.id, msg: 'real alice' });
  t.match(await carol.c.msg(6), { id: alice.id, conv: pair(alice.id, carol.id), msgSeq: 1 });
});

t.test('GROUP_CHAT with a spoofed id is sent as the real sender; a spoofed member id does not let an outsider in', async (t) => {
  const srv = await startServer(t);
  const boss = await user(t, srv.port, 'boss', { v2: true });
  const member = await user(t, srv.port, 'member', { v2: true });
  const other = await user(t, srv.port, 'other');
  const outsider = await user(t, srv.port, 'outsider', { v2: true });
  const groupid = (await requestV2(boss.c, { msgid: 8, groupname: 'staff' })).groupid as number;
  await requestV2(member.c, { msgid: 9, groupid });
  other.c.send({ msgid: 9, id: other.id, groupid });
  await barrier(other.c);

  const ack = await sendV2(member.c, { msgid: 10, id: boss.id, name: 'boss', groupid, msg: 'orders from the boss' });
  t.match(ack, { msgid: 12, msgSeq: 1 });
  t.match(await other.c.msg(10), { id: member.id, name: 'member', msg: 'orders from the boss' });
  t.match(await boss.c.msg(10), { id: member.id, name: 'member' }, 'the real boss gets it as from member');
  t.match(await sendV2(outsider.c, { msgid: 10, id: boss.id, groupid, msg: 'x' }), { msgid: 11, errno: 109 });
  outsider.c.send({ msgid: 10, id: boss.id, name: 'boss', groupid, msg: 'legacy-style spoof', cmid: 'o2' });
  t.match(await outsider.c.msg(11), { errno: 109, cmid: 'o2' });
  t.same((await barrier(other.c)).filter((f) => f.msgid === 10), [], 'nothing from the outsider');
});

t.test('ADD_FRIEND, CREATE_GROUP, ADD_GROUP with a spoofed id act for the sender only', async (t) => {
  const srv = await startServer(t);
  const victim = await registerOnly(t, srv.port, 'victim');
  const carol = await registerOnly(t, srv.port, 'carol');
  const m = await user(t, srv.port, 'mallory', { v2: true });
  const owner = await user(t, srv.port, 'owner', { v2: true });
  const groupid = (await requestV2(owner.c, { msgid: 8, groupname: 'private' })).groupid as number;

  t.match(await requestV2(m.c, { msgid: 7, id: victim, friendid: carol }), { errno: 0, friendid: carol });
  const g = await requestV2(m.c, { msgid: 8, id: victim, groupname: 'made by victim?' });
  t.equal(g.errno, 0);
  t.match(await requestV2(m.c, { msgid: 9, id: victim, groupid }), { errno: 0, joined: true });

  const v = await loginAs(t, srv.port, victim);
  t.equal(v.ack.errno, 0);
  t.notOk('friends' in v.ack, 'the victim has no friend');
  t.notOk('groups' in v.ack, 'and is in no group');
  const { ack } = await loginAs(t, srv.port, m.id, { v2: true });
  t.same(ack.friends, [{ id: carol, name: 'carol', state: 'offline' }], 'mallory befriended carol herself');
  const groups = ack.groups as Json[];
  t.same(
    groups.map((x) => [x.id, (x.users as Json[]).find((u) => u.id === m.id)?.role]).sort(),
    [
      [groupid, 'normal'],
      [g.groupid, 'creator'],
    ].sort(),
    'mallory created one group and joined the other',
  );
});

t.test("LOGINOUT with someone else's id logs out only yourself", async (t) => {
  const srv = await startServer(t);
  const bob = await user(t, srv.port, 'bob');
  const bob2 = await user(t, srv.port, 'bobby', { v2: true });
  const m = await user(t, srv.port, 'mallory', { v2: true });
  const ml = await user(t, srv.port, 'mallegacy');
  m.c.send({ msgid: 3, v: 2, id: bob.id, cmid: 'out' });
  t.match(await m.c.msg(13), { reqmsgid: 3, errno: 0, cmid: 'out' });
  t.match(await requestV2(m.c, { msgid: 7, friendid: bob.id }), { msgid: 11, errno: 105 }, 'mallory is logged out');
  ml.c.send({ msgid: 3, id: bob2.id });
  await barrier(ml.c);

  // bob and bobby are still logged in: they get pushes and can send
  const sender = await user(t, srv.port, 'sender', { v2: true });
  await sendV2(sender.c, { msgid: 6, toid: bob.id, msg: 'still there?' });
  t.match(await bob.c.msg(6), { msg: 'still there?' });
  await sendV2(sender.c, { msgid: 6, toid: bob2.id, msg: 'you too?' });
  t.match(await bob2.c.msg(6), { msg: 'you too?' });
  bob.c.send({ msgid: 6, id: bob.id, toid: sender.id, msg: 'yes' });
  t.match(await sender.c.msg(6), { id: bob.id, msg: 'yes' });
  // a legacy login as bob is still refused: his session is live
  t.equal((await loginAs(t, srv.port, bob.id)).ack.errno, 2);
  // while mallegacy's own account is free again
  t.equal((await loginAs(t, srv.port, ml.id)).ack.errno, 0);
});

t.test('before login, v2: every request but REG/LOGIN/PING is refused with 105', async (t) => {
  const srv = await startServer(t);
  const bob = await user(t, srv.port, 'bob', { v2: true });
  const c = await LineClient.connect(t, srv.port);
  const conv = pair(1, bob.id);
  const requests: Json[] = [
    { msgid: 3, id: bob.id },
    { msgid: 6, id: bob.id, toid: bob.id, msg: 'x' },
    { msgid: 7, id: bob.id, friendid: bob.id },
    { msgid: 8, id: bob.id, groupname: 'pre' },
    { msgid: 9, id: bob.id, groupid: 1 },
    { msgid: 10, id: bob.id, groupid: 1, msg: 'x' },
    { msgid: 14, conv, msgSeq: 1 },
    { msgid: 15, conv, after: 0 },
    { msgid: 17, conv, msgSeq: 1 },
    { msgid: 21, groupid: 1 },
    { msgid: 22, groupid: 1, userid: bob.id },
    { msgid: 23, friendid: bob.id },
    { msgid: 26 },
  ];
  for (const f of requests) {
    const cmid = `pre-${f.msgid as number}`;
    c.send({ v: 2, ...f, cmid });
    t.match(await c.next((x) => x.cmid === cmid), { msgid: 11, v: 2, errno: 105, reqmsgid: f.msgid }, `msgid ${f.msgid as number}`);
  }
  // RECALL (18) and MSG_STATUS_QUERY (24): refused too (in the generic error or RECALL's own ack)
  for (const f of [{ msgid: 18, conv, msgSeq: 1 }, { msgid: 24, conv, msgSeq: 1 }]) {
    const cmid = `pre-${f.msgid}`;
    c.send({ v: 2, ...f, cmid });
    const r = await c.next((x) => x.cmid === cmid);
    t.equal(r.errno, 105, `msgid ${f.msgid}`);
    t.ok(r.msgid === 11 || (f.msgid === 18 && r.msgid === 19), `msgid ${f.msgid}: answered as an error`);
  }
  c.send({ msgid: 28, v: 2, cmid: 'ping' });
  t.match(await c.msg(29), { cmid: 'ping' }, 'PING is fine before login');
  // nothing happened to bob
  t.match(await requestV2(bob.c, { msgid: 8, groupname: 'pre' }), { errno: 0 }, 'the group name is still free');
  const { ack } = await loginAs(t, srv.port, bob.id, { v2: true });
  t.same(ack.friends, []);
  const convs = ack.convs as Json[];
  t.equal(convs.length, 1, 'one conversation: the group he made just now');
  t.match(convs[0], { conv: 'g:1', lastSeq: 0, unread: 0 });
});

t.test('before login, legacy: no reply and nothing happens', async (t) => {
  const srv = await startServer(t);
  const bob = await user(t, srv.port, 'bob');
  const carolId = await registerOnly(t, srv.port, 'carol');
  const owner = await user(t, srv.port, 'owner', { v2: true });
  const groupid = (await requestV2(owner.c, { msgid: 8, groupname: 'existing' })).groupid as number;
  const c = await LineClient.connect(t, srv.port);
  c.send({ msgid: 6, id: bob.id, name: 'bob', toid: carolId, msg: 'pre-login chat' }, '\0');
  c.send({ msgid: 7, id: bob.id, friendid: carolId }, '\0');
  c.send({ msgid: 8, id: bob.id, groupname: 'pre-login group', groupdesc: '' }, '\0');
  c.send({ msgid: 9, id: bob.id, groupid }, '\0');
  c.send({ msgid: 10, id: owner.id, name: 'owner', groupid, msg: 'pre-login group chat' }, '\0');
  c.send({ msgid: 3, id: bob.id }, '\0');
  t.same(await barrier(c), [], 'no reply');

  // bob is still logged in (his LOGINOUT was not honoured) and got nothing
  t.equal((await loginAs(t, srv.port, bob.id)).ack.errno, 2, 'bob still online');
  t.same((await barrier(bob.c)).length, 0, 'bob got no push');
  // carol has no message and no friend
  const carol = await loginAs(t, srv.port, carolId);
  t.equal(carol.ack.errno, 0);
  t.notOk('offlinemsg' in carol.ack, 'no message for carol');
  t.notOk('friends' in carol.ack, 'no friend for carol');
  // the group was not created, nobody joined, nothing was posted
  t.match(await requestV2(owner.c, { msgid: 8, groupname: 'pre-login group' }), { errno: 0 }, 'the name is still free');
  const { events } = await syncAll(owner.c, `g:${groupid}`);
  t.same(events, [], 'no group message');
  const { ack } = await loginAs(t, srv.port, owner.id, { v2: true });
  const grp = (ack.groups as Json[]).find((g) => g.id === groupid)!;
  t.same((grp.users as Json[]).map((u) => u.id), [owner.id], 'bob did not join');
});

const NASTY = [
  "'; DROP TABLE user; --",
  "Robert'); DROP TABLE friend;--",
  'back\\slash',
  '"double" quotes',
  '100%',
  '%',
  '_',
  'a_c',
  'abc',
  "' OR '1'='1",
  '\\\'\\"',
];

t.test('SQL metacharacters in names, group names and messages come back verbatim', async (t) => {
  const srv = await startServer(t, NO_LOGIN_LIMITS);
  const boss = await user(t, srv.port, 'boss', { v2: true });
  const ids = new Map<string, number>();
  for (const name of NASTY) {
    const c = await LineClient.connect(t, srv.port);
    c.send({ msgid: 4, v: 2, name, password: name });
    const ack = await c.msg(5);
    t.equal(ack.errno, 0, `registered ${JSON.stringify(name)}`);
    ids.set(name, ack.id as number);
    c.close();
  }
  t.equal(new Set(ids.values()).size, NASTY.length, 'every name is its own user (no LIKE matching)');

  // each logs in with its own (nasty) password and gets its name back
  const tryLogin = async (id: number, password: string): Promise<Json> => {
    const { c, ack } = await loginAs(t, srv.port, id, { v2: true, password });
    if (ack.errno === 0) {
      c.send({ msgid: 3, v: 2 });
      await c.msg(13);
    }
    c.close();
    return ack;
  };
  for (const name of NASTY) t.match(await tryLogin(ids.get(name)!, name), { errno: 0, name }, `login ${JSON.stringify(name)}`);
  for (const name of ["'; DROP TABLE user; --", '%', "' OR '1'='1"]) {
    t.equal((await tryLogin(ids.get(name)!, "' OR '1'='1")).errno, name === "' OR '1'='1" ? 0 : 1, 'an injected password is just a password');
  }

  // groups with nasty names, everyone a friend and a member
  const groups = new Map<string, number>();
  for (const name of NASTY) {
    const g = await requestV2(boss.c, { msgid: 8, groupname: name, groupdesc: name });
    t.match(g, { errno: 0, groupname: name, groupdesc: name });
    groups.set(name, g.groupid as number);
  }
  t.equal(new Set(groups.values()).size, NASTY.length);
  for (const id of ids.values()) t.equal((await requestV2(boss.c, { msgid: 7, friendid: id })).errno, 0);

  // messages with nasty text to each, one group message
  for (const [name, id] of ids) t.equal((await sendV2(boss.c, { msgid: 6, toid: id, msg: name })).errno, 0);
  const gid = groups.get("'; DROP TABLE user; --")!;
  const legacyMember = await loginAs(t, srv.port, ids.get('%')!, { password: '%' });
  legacyMember.c.send({ msgid: 9, id: ids.get('%'), groupid: gid });
  await barrier(legacyMember.c);
  const text = NASTY.join(' | ');
  t.equal((await sendV2(boss.c, { msgid: 10, groupid: gid, msg: text })).errno, 0);
  t.equal((await legacyMember.c.msg(10)).msg, text, 'the group message verbatim (pushed)');

  // the boss's v2 login lists every name verbatim
  const { ack } = await loginAs(t, srv.port, boss.id, { v2: true });
  t.same(
    (ack.friends as Json[]).map((f) => f.name).sort(),
    [...NASTY].sort(),
    'friend names verbatim',
  );
  t.same(
    (ack.groups as Json[]).map((g) => [g.groupname, g.groupdesc]).sort(),
    NASTY.map((n) => [n, n]).sort(),
    'group names and descriptions verbatim',
  );
  // a legacy login of one of them: offline message and names verbatim inside the JSON strings
  const victimName = 'Robert\'); DROP TABLE friend;--';
  const l = await loginAs(t, srv.port, ids.get(victimName)!, { password: victimName });
  t.equal(l.ack.name, victimName);
  t.same(parseList(l.ack.offlinemsg).map((m) => m.msg), [victimName]);
  t.same(parseList(l.ack.friends), [{ id: boss.id, name: 'boss', state: 'online' }]);
  // sync returns the text verbatim
  const underscore = ids.get('_')!;
  const { events } = await syncAll(boss.c, pair(boss.id, underscore));
  t.same(events.map((e) => e.msg), ['_']);
  // and the tables are all still there: a new registration works
  const late = await registerOnly(t, srv.port, 'late');
  t.ok(late > 0);
});

t.test('no plain-text password in the SQLite files', async (t) => {
  const dir = tempDir(t);
  const db = path.join(dir, 'chat.db');
  const srv = await startServer(t, { db });
  const passwords = ['Zebra-Crossing-4711', 'pässwörd-ümlaut-91', "sq'l-pw-%_-1337"];
  const names = ['user-one-plain', 'user-two-plain', 'user-three-plain'];
  const ids: number[] = [];
  for (let i = 0; i < passwords.length; i++) {
    const u = await user(t, srv.port, names[i]!, { password: passwords[i]!, v2: i % 2 === 0 });
    ids.push(u.id);
    u.c.close();
  }
  // wrong-password attempts must not be logged to the store either
  t.equal((await loginAs(t, srv.port, ids[0]!, { password: 'Wrong-Guess-0042' })).ack.errno, 1);
  await srv.close();

  const files = readdirSync(dir).filter((f) => f.startsWith('chat.db'));
  t.ok(files.includes('chat.db'));
  const bytes = Buffer.concat(files.map((f) => readFileSync(path.join(dir, f))));
  for (const n of names) t.ok(bytes.includes(Buffer.from(n)), `sanity: the user name ${n} is in the files`);
  for (const p of [...passwords, 'Wrong-Guess-0042']) {
    t.notOk(bytes.includes(Buffer.from(p, 'utf8')), `no ${p} (utf8)`);
    t.notOk(bytes.includes(Buffer.from(p, 'utf16le')), `no ${p} (utf16)`);
    t.notOk(bytes.includes(Buffer.from(Buffer.from(p).toString('hex'))), `no ${p} (hex)`);
    t.notOk(bytes.includes(Buffer.from(Buffer.from(p).toString('base64'))), `no ${p} (base64)`);
  }
});

t.test('unusual text reads the same live, in sync and in offlinemsg', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const live = await user(t, srv.port, 'bob', { v2: true });
  const offId = await registerOnly(t, srv.port, 'carol');
  const texts = ['nul\u0000inside', 'line\u2028sep\u2029para', 'emoji 😀 and 世界', 'tab\there\r\nnewline', '  padded  ', '\\u0041 is not A', '</script>"\'`'];
  // (labels by index: a raw U+2028 in an assertion name would break the TAP stream)
  for (const [i, msg] of texts.entries()) {
    for (const to of [live.id, offId]) t.equal((await sendV2(a.c, { msgid: 6, toid: to, msg })).errno, 0);
    t.equal((await live.c.msg(6)).msg, msg, `text #${i} pushed verbatim`);
  }
  const { events } = await syncAll(a.c, pair(a.id, live.id));
  t.same(
    events.map((e) => e.msg),
    texts,
    'sync verbatim',
  );
  const off = await loginAs(t, srv.port, offId);
  t.same(
    parseList(off.ack.offlinemsg).map((m) => m.msg),
    texts,
    'offlinemsg verbatim',
  );

  // a lone surrogate is not Unicode: refuse it, or store and show the same thing everywhere
  const lone = 'lone \ud800 surrogate';
  const ack = await sendV2(a.c, { msgid: 6, toid: live.id, msg: lone });
  if (ack.msgid === 11) {
    t.equal(ack.errno, 103, 'refused as a bad field');
  } else {
    const pushed = await live.c.msg(6);
    const { events: after } = await syncAll(a.c, pair(a.id, live.id), 100, texts.length);
    t.equal(after.length, 1);
    t.equal(after[0]!.msg, pushed.msg, 'the log holds what was pushed');
    t.equal(pushed.msg, 'lone \ufffd surrogate', 'normalised to U+FFFD');
  }
});

t.test("a v2 login presenting another user's session token does not touch that session", async (t) => {
  const srv = await startServer(t);
  const alice = await user(t, srv.port, 'alice', { v2: true });
  const token = alice.ack.token as string;
  t.type(token, 'string');
  const mallory = await user(t, srv.port, 'mallory', { v2: true });
  // a made-up token of the right form and a wrong password: refused
  const bad = await LineClient.connect(t, srv.port);
  bad.send({ msgid: 1, v: 2, id: alice.id, password: 'guess', token: 'A'.repeat(43) });
  t.match(await bad.msg(2), { errno: 1 });
  // as herself, presenting alice's token
  const m2 = await LineClient.connect(t, srv.port);
  m2.send({ msgid: 1, v: 2, id: mallory.id, password: 'secret', token });
  const ack = await m2.msg(2);
  t.match(ack, { errno: 0, id: mallory.id, name: 'mallory' }, 'logged in as herself only');
  // alice's session is untouched: no notice, still gets pushes, still sends
  await sendV2(mallory.c, { msgid: 6, toid: alice.id, msg: 'are you still there?' });
  t.match(await alice.c.msg(6), { msg: 'are you still there?', id: mallory.id });
  t.same((await barrier(alice.c, true)).filter((f) => f.msgid === 30), [], 'alice got no notice');
  t.notOk(alice.c.closed, 'alice is still connected');
  t.match(await sendV2(alice.c, { msgid: 6, toid: mallory.id, msg: 'yes' }), { msgid: 12, errno: 0 });
});
