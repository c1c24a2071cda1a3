/**
 * ADD_FRIEND (7), CREATE_GROUP (8) and ADD_GROUP (9), both flavours: success, idempotence,
 * every error (v2 error replies; silence on legacy), and what the login lists then show.
 */
import t from 'tap';
import { LineClient, login, startServer, type Json } from '../fixtures/harness.js';
import { barrier, loginAs, parseList, registerOnly, requestV2, sendV2, syncAll, user } from './util.js';

const byId = (x: Json, y: Json) => (x.id as number) - (y.id as number);

t.test('ADD_FRIEND v2: ack, both sides see it, idempotent', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const bobId = await registerOnly(t, srv.port, 'bob');

  const ack = await requestV2(a.c, { msgid: 7, friendid: bobId });
  t.match(ack, { msgid: 13, v: 2, reqmsgid: 7, errno: 0, errmsg: 'ok', friendid: bobId, added: true });
  const again = await requestV2(a.c, { msgid: 7, friendid: bobId });
  t.match(again, { msgid: 13, reqmsgid: 7, errno: 0, friendid: bobId, added: false }, 'a second add changes nothing');

  // bob (legacy) sees alice once, online
  const b = await loginAs(t, srv.port, bobId);
  t.equal(b.ack.errno, 0);
  t.same(parseList(b.ack.friends), [{ id: a.id, name: 'alice', state: 'online' }]);
  // bob adding alice back is idempotent as well
  b.c.send({ msgid: 7, id: bobId, friendid: a.id });
  t.same(await barrier(b.c), [], 'legacy: no reply');
  // alice's next v2 login lists bob once, online
  const a2 = await loginAs(t, srv.port, a.id, { v2: true });
  t.same(a2.ack.friends, [{ id: bobId, name: 'bob', state: 'online' }]);
});

t.test('ADD_FRIEND v2 errors: yourself 111, unknown 107, bad fields 103; reqmsgid and cmid', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const self = await requestV2(a.c, { msgid: 7, friendid: a.id });
  t.match(self, { msgid: 11, v: 2, errno: 111, reqmsgid: 7 });
  t.type(self.errmsg, 'string');
  t.type(self.cmid, 'string');
  t.match(await requestV2(a.c, { msgid: 7, friendid: a.id + 999 }), { msgid: 11, errno: 107, reqmsgid: 7 });
  t.match(await requestV2(a.c, { msgid: 7, friendid: String(a.id + 1) }), { msgid: 11, errno: 103, reqmsgid: 7 });
  t.match(await requestV2(a.c, { msgid: 7 }), { msgid: 11, errno: 103, reqmsgid: 7 });
  t.match(await requestV2(a.c, { msgid: 7, friendid: 0 }), { msgid: 11, errno: 103, reqmsgid: 7 });
  t.match(await requestV2(a.c, { msgid: 7, friendid: 1.5 }), { msgid: 11, errno: 103, reqmsgid: 7 });
  const { ack } = await loginAs(t, srv.port, a.id, { v2: true });
  t.same(ack.friends, [], 'no friend was added');
});

t.test('ADD_FRIEND legacy: no reply, errors are silent, login lists show it', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  const bobId = await registerOnly(t, srv.port, 'bob');
  a.c.send({ msgid: 7, id: a.id, friendid: bobId }, '\0');
  a.c.send({ msgid: 7, id: a.id, friendid: bobId }, '\0');
  a.c.send({ msgid: 7, id: a.id, friendid: a.id }, '\0');
  a.c.send({ msgid: 7, id: a.id, friendid: 9999 }, '\0');
  a.c.send({ msgid: 7, id: a.id, friendid: 'x' }, '\0');
  t.same(await barrier(a.c), [], 'nothing answered on legacy');
  const b = await loginAs(t, srv.port, bobId);
  t.same(parseList(b.ack.friends), [{ id: a.id, name: 'alice', state: 'online' }], 'friendship is both ways');
  // alice's relogin shows bob once and not herself
  a.c.send({ msgid: 3, id: a.id });
  await barrier(a.c);
  const a2 = await login(a.c, a.id);
  t.same(parseList(a2.friends), [{ id: bobId, name: 'bob', state: 'online' }]);
});

t.test('CREATE_GROUP v2: ack with groupid, creator role, duplicate name 110, bad fields 103', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const ack = await requestV2(a.c, { msgid: 8, groupname: 'rust fans', groupdesc: 'crabs' });
  t.match(ack, { msgid: 13, v: 2, reqmsgid: 8, errno: 0, groupname: 'rust fans', groupdesc: 'crabs' });
  t.ok(Number.isSafeInteger(ack.groupid) && (ack.groupid as number) > 0);
  const second = await requestV2(a.c, { msgid: 8, groupname: 'no desc' });
  t.match(second, { msgid: 13, errno: 0, groupdesc: '' }, 'groupdesc is optional');
  t.not(second.groupid, ack.groupid);

  const dup = await requestV2(a.c, { msgid: 8, groupname: 'rust fans', groupdesc: 'again' });
  t.match(dup, { msgid: 11, v: 2, errno: 110, reqmsgid: 8 });
  const b = await user(t, srv.port, 'bob', { v2: true });
  t.match(await requestV2(b.c, { msgid: 8, groupname: 'rust fans' }), { msgid: 11, errno: 110 }, 'taken for everyone');

  for (const bad of [{}, { groupname: '' }, { groupname: '   ' }, { groupname: 7 }, { groupname: 'g'.repeat(51) }, { groupname: 'ok', groupdesc: 5 }]) {
    t.match(await requestV2(a.c, { msgid: 8, ...bad }), { msgid: 11, errno: 103, reqmsgid: 8 }, JSON.stringify(bad));
  }

  const { ack: login2 } = await loginAs(t, srv.port, a.id, { v2: true });
  const groups = login2.groups as Json[];
  t.same(
    groups.map((g) => [g.id, g.groupname, g.groupdesc]),
    [
      [ack.groupid, 'rust fans', 'crabs'],
      [second.groupid, 'no desc', ''],
    ],
    'exactly the two groups created',
  );
  t.same(groups[0]!.users, [{ id: a.id, name: 'alice', role: 'creator', state: 'online' }]);
});

t.test('CREATE_GROUP legacy: no reply, duplicate silent, the group shows at login with the creator', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  a.c.send({ msgid: 8, id: a.id, groupname: 'C++ chat project', groupdesc: 'start develop a chat project' }, '\0');
  a.c.send({ msgid: 8, id: a.id, groupname: 'C++ chat project', groupdesc: 'dup' }, '\0');
  a.c.send({ msgid: 8, id: a.id }, '\0');
  t.same(await barrier(a.c), []);
  a.c.send({ msgid: 3, id: a.id });
  await barrier(a.c);
  const ack = await login(a.c, a.id);
  const groups = parseList(ack.groups);
  t.equal(groups.length, 1, 'one group');
  t.match(groups[0], { groupname: 'C++ chat project', groupdesc: 'start develop a chat project' });
  t.same(parseList(groups[0]!.users), [{ id: a.id, name: 'alice', role: 'creator', state: 'online' }]);
});

t.test('ADD_GROUP v2: unknown 108, idempotent, roles in the lists', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob', { v2: true });
  const g = await requestV2(a.c, { msgid: 8, groupname: 'team' });
  const groupid = g.groupid as number;

  t.match(await requestV2(b.c, { msgid: 9, groupid: groupid + 100 }), { msgid: 11, errno: 108, reqmsgid: 9 });
  t.match(await requestV2(b.c, { msgid: 9, groupid: String(groupid) }), { msgid: 11, errno: 103, reqmsgid: 9 });
  t.match(await requestV2(b.c, { msgid: 9 }), { msgid: 11, errno: 103, reqmsgid: 9 });
  const j = await requestV2(b.c, { msgid: 9, groupid });
  t.match(j, { msgid: 13, reqmsgid: 9, errno: 0, groupid, conv: `g:${groupid}`, joinedSeq: 0, joined: true });
  const j2 = await requestV2(b.c, { msgid: 9, groupid });
  t.match(j2, { msgid: 13, errno: 0, joined: false, joinedSeq: 0 }, 'joining twice changes nothing');
  // the creator joining its own group is a no-op too
  t.match(await requestV2(a.c, { msgid: 9, groupid }), { msgid: 13, errno: 0, joined: false });

  const { ack } = await loginAs(t, srv.port, b.id, { v2: true });
  const groups = ack.groups as Json[];
  t.equal(groups.length, 1);
  t.same(
    (groups[0]!.users as Json[]).sort(byId),
    [
      { id: a.id, name: 'alice', role: 'creator', state: 'online' },
      { id: b.id, name: 'bob', role: 'normal', state: 'online' },
    ].sort(byId),
    'each member once',
  );
  // a message reaches bob exactly once, however often he joined
  const sent = await sendV2(a.c, { msgid: 10, groupid, msg: 'once' });
  t.equal(sent.msgSeq, 1);
  t.equal((await b.c.msg(10)).msg, 'once');
  t.same((await barrier(b.c, true)).filter((f) => f.msgid === 10), [], 'no duplicate delivery');
});

t.test('ADD_GROUP legacy: no reply, errors silent; membership shows at login', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const g = await requestV2(a.c, { msgid: 8, groupname: 'team' });
  const groupid = g.groupid as number;
  const b = await user(t, srv.port, 'bob');
  b.c.send({ msgid: 9, id: b.id, groupid: groupid + 5 }, '\0');
  b.c.send({ msgid: 9, id: b.id, groupid }, '\0');
  b.c.send({ msgid: 9, id: b.id, groupid }, '\0');
  t.same(await barrier(b.c), []);
  const sent = await sendV2(a.c, { msgid: 10, groupid, msg: 'to the team' });
  t.equal(sent.errno, 0);
  const got = await b.c.msg(10);
  t.match(got, { groupid, id: a.id, name: 'alice', msg: 'to the team', msgSeq: 1, conv: `g:${groupid}` });
  t.same(await barrier(b.c), [], 'once');
});

t.test('ADD_GROUP: a member who joins after 3 messages sees only later ones (offlinemsg and sync)', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const g = await requestV2(a.c, { msgid: 8, groupname: 'history' });
  const groupid = g.groupid as number;
  const conv = `g:${groupid}`;
  for (let i = 1; i <= 3; i++) t.equal((await sendV2(a.c, { msgid: 10, groupid, msg: `before ${i}` })).msgSeq, i);

  // carol joins on v2, bob on legacy
  const carol = await user(t, srv.port, 'carol', { v2: true });
  const j = await requestV2(carol.c, { msgid: 9, groupid });
  t.match(j, { errno: 0, joinedSeq: 3, joined: true });
  const bob = await user(t, srv.port, 'bob');
  bob.c.send({ msgid: 9, id: bob.id, groupid });
  await barrier(bob.c);
  bob.c.send({ msgid: 3, id: bob.id });
  await barrier(bob.c);

  for (let i = 4; i <= 5; i++) t.equal((await sendV2(a.c, { msgid: 10, groupid, msg: `after ${i}` })).msgSeq, i);
  // carol (online) was pushed only the later ones
  t.same([(await carol.c.msg(10)).msgSeq, (await carol.c.msg(10)).msgSeq], [4, 5]);
  t.same((await barrier(carol.c, true)).filter((f) => f.msgid === 10), []);

  // carol's sync from the start begins after her join
  const { events, pages } = await syncAll(carol.c, conv, 100, 0);
  t.same(
    events.map((e) => [e.msgSeq, e.msg]),
    [
      [4, 'after 4'],
      [5, 'after 5'],
    ],
  );
  t.match(pages[0], { joinedSeq: 3, lastSeq: 5, more: false });
  // "before" paging stops at the join too
  carol.c.send({ msgid: 15, v: 2, conv, before: 5, limit: 10, cmid: 'back' });
  const back = await carol.c.next((f) => f.cmid === 'back');
  t.same(
    (back.events as Json[]).map((e) => e.msgSeq),
    [4],
  );
  t.equal(back.more, false);

  // bob (legacy) gets only the later ones as offlinemsg
  const b2 = await loginAs(t, srv.port, bob.id);
  t.same(
    parseList(b2.ack.offlinemsg).map((m) => [m.msgSeq, m.msg]),
    [
      [4, 'after 4'],
      [5, 'after 5'],
    ],
  );
  // the v2 summary says where carol joined
  const { ack } = await loginAs(t, srv.port, carol.id, { v2: true });
  t.match((ack.convs as Json[]).find((c) => c.conv === conv), { joinedSeq: 3, lastSeq: 5 });
});

t.test('ADD_GROUP / CREATE_GROUP on a logged-out v2 connection: 105', async (t) => {
  const srv = await startServer(t);
  const c = await LineClient.connect(t, srv.port);
  t.match(await requestV2(c, { msgid: 8, groupname: 'x' }), { msgid: 11, errno: 105, reqmsgid: 8 });
  t.match(await requestV2(c, { msgid: 9, groupid: 1 }), { msgid: 11, errno: 105, reqmsgid: 9 });
  t.match(await requestV2(c, { msgid: 7, friendid: 1 }), { msgid: 11, errno: 105, reqmsgid: 7 });
});
