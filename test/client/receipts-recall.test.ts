import t, { type Test } from 'tap';
import { ChatClient, ChatReplyError, type ChatEvent } from '../../lib/client/client.js';
import type { WireFrame } from '../../lib/client/connection.js';
import { LineClient, login as legacyLogin, startServer, waitFor } from '../fixtures/harness.js';

async function client(t: Test, port: number): Promise<ChatClient> {
  const c = await ChatClient.connect({ host: '127.0.0.1', port });
  t.teardown(() => c.close());
  return c;
}

/** the errno a request was refused with (0 when it succeeded) */
async function errnoOf(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => 0,
    (e: unknown) => (e instanceof ChatReplyError ? e.errno : -1),
  );
}

async function users(c: ChatClient, ...names: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const n of names) ids.push(await c.register(n, 'pw'));
  return ids;
}

t.test('one-to-one: DELIVERED then READ reach the sender on both devices, as ranges', async (t) => {
  const srv = await startServer(t);
  const a1 = await client(t, srv.port);
  const a2 = await client(t, srv.port);
  const b = await client(t, srv.port);
  const [ida, idb] = await users(a1, 'ann', 'ben');
  await a1.login(ida!, 'pw');
  await a2.login(ida!, 'pw');
  const st1: WireFrame[] = [];
  const st2: WireFrame[] = [];
  a1.on('status', (f) => st1.push(f));
  a2.on('status', (f) => st2.push(f));
  for (let i = 1; i <= 3; i++) await a1.sendTo(idb!, `m${i}`);
  t.equal(st1.length, 0, 'nothing delivered while the recipient is away');
  const got: ChatEvent[] = [];
  b.on('event', (e) => got.push(e));
  const info = await b.login(idb!, 'pw');
  t.equal(info.convs[0]?.peerDelivered, 3, "the recipient's summary shows the sender has all it sent");
  await waitFor(() => got.length === 3, 20_000);
  await waitFor(() => st1.some((f) => f.delivered === 3) && st2.some((f) => f.delivered === 3), 20_000, () => JSON.stringify(st1));
  const d = st1.find((f) => f.delivered === 3)!;
  t.equal(d.userid, idb);
  t.equal(d.read, 0);
  await b.markRead(got[2]!.conv, 3);
  await waitFor(() => st1.some((f) => f.read === 3) && st2.some((f) => f.read === 3), 20_000);
  const status = await a1.messageStatus(got[0]!.conv, 2);
  t.equal(status.status, 3, 'READ');
  t.same(status.readBy, [idb]);
  // a sender that was away learns the positions at its next login
  a1.close();
  a2.close();
  const a3 = await client(t, srv.port);
  const again = await a3.login(ida!, 'pw');
  t.equal(again.convs[0]?.peerRead, 3);
});

t.test('read markers never go backwards and never past the end', async (t) => {
  const srv = await startServer(t);
  const a = await client(t, srv.port);
  const b = await client(t, srv.port);
  const [ida, idb] = await users(a, 'ann', 'ben');
  await a.login(ida!, 'pw');
  await b.login(idb!, 'pw');
  const ack = await a.sendTo(idb!, 'x');
  await a.sendTo(idb!, 'y');
  await b.markRead(ack.conv, 2);
  t.equal(await errnoOf(b.markRead(ack.conv, 1)), 115, 'backwards');
  t.equal(await errnoOf(b.markRead(ack.conv, 3)), 115, 'past the end');
  t.equal(await errnoOf(b.markRead('p:900:901', 1)), 109, 'not a member');
});

t.test('group receipts: counts for members, who for the sender', async (t) => {
  const srv = await startServer(t);
  const cs = await Promise.all([0, 1, 2, 3].map(() => client(t, srv.port)));
  const ids = await users(cs[0]!, 'g0', 'g1', 'g2', 'g3');
  for (let i = 0; i < 4; i++) await cs[i]!.login(ids[i]!, 'pw');
  const gid = await cs[0]!.createGroup('team');
  for (let i = 1; i < 4; i++) await cs[i]!.joinGroup(gid);
  const updates: WireFrame[] = [];
  cs[0]!.on('status', (f) => updates.push(f));
  const ack = await cs[0]!.sendGroup(gid, 'hello team');
  await waitFor(() => new Set(updates.filter((u) => (u.delivered as number) >= 1).map((u) => u.userid)).size === 3, 20_000);
  await cs[1]!.markRead(ack.conv, ack.msgSeq);
  await waitFor(() => updates.some((u) => u.userid === ids[1] && u.read === 1), 20_000);
  const forMember = await cs[2]!.messageStatus(ack.conv, ack.msgSeq);
  t.match(forMember, { members: 3, delivered: 3, read: 1, status: 2 });
  t.notOk('readBy' in forMember, 'only the sender sees who');
  const forSender = await cs[0]!.messageStatus(ack.conv, ack.msgSeq);
  t.same(forSender.readBy, [ids[1]]);
  t.same([...(forSender.deliveredBy as number[])].sort(), [ids[1], ids[2], ids[3]].sort());
});

t.test('recall: rules, window, tombstones, and what each party finally sees', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const srv = await startServer(t, { recallWindowMs: 120_000 }, { now: () => now });
  const a = await client(t, srv.port);
  const b = await client(t, srv.port);
  const stranger = await client(t, srv.port);
  const [ida, idb, ids] = await users(a, 'ann', 'ben', 'sam');
  await a.login(ida!, 'pw');
  await stranger.login(ids!, 'pw');
  // ben is offline: he must never see the recalled text
  const m1 = await a.sendTo(idb!, 'oops, secret');
  const m2 = await a.sendTo(idb!, 'fine');
  const r = await a.recall(m1.conv, m1.msgSeq);
  t.match(r, { msgid: 19, errno: 0, conv: m1.conv, msgSeq: 1, recallSeq: 3 });
  t.match(await a.recall(m1.conv, m1.msgSeq), { errno: 0, already: true }, 'twice is ok');
  await t.rejects(b.recall(m1.conv, 99), /log in first/);
  t.equal(await errnoOf(stranger.recall(m1.conv, 2)), 117, 'a stranger cannot even see it');
  now += 121_000;
  t.equal(await errnoOf(a.recall(m2.conv, m2.msgSeq)), 116, 'window expired');
  const got: ChatEvent[] = [];
  b.on('event', (e) => got.push(e));
  await b.login(idb!, 'pw');
  await waitFor(() => got.length === 3, 20_000);
  t.same(
    got.map((e) => [e.seq, e.kind, e.text, e.recalled, e.recalledSeq]),
    [
      [1, 'chat', '', true, undefined],
      [2, 'chat', 'fine', false, undefined],
      [3, 'recall', '', false, 1],
    ],
  );
  t.notOk(JSON.stringify(got).includes('secret'));
  // ben may not recall ann's message
  t.equal(await errnoOf(b.recall(m2.conv, 2)), 113);
  // a legacy client that logs in later sees the recall line, never the text
  const legacy = await LineClient.connect(t, srv.port);
  b.close();
  await waitFor(() => srv.hub.sessionCount === 2, 20_000);
  const ack = await legacyLogin(legacy, idb!, 'pw');
  t.equal(ack.errno, 0);
  t.notOk(JSON.stringify(ack).includes('secret'));
});

t.test('recall in a group: the creator any time; members online learn it live', async (t) => {
  let now = 1_000_000;
  const srv = await startServer(t, {}, { now: () => now });
  const owner = await client(t, srv.port);
  const member = await client(t, srv.port);
  const [ido, idm] = await users(owner, 'owner', 'member');
  await owner.login(ido!, 'pw');
  await member.login(idm!, 'pw');
  const gid = await owner.createGroup('club');
  await member.joinGroup(gid);
  const seen: ChatEvent[] = [];
  owner.on('event', (e) => seen.push(e));
  const sent = await member.sendGroup(gid, 'regrettable');
  await waitFor(() => seen.some((e) => e.text === 'regrettable'), 20_000);
  now += 10 * 24 * 3600 * 1000;
  t.match(await owner.recall(sent.conv, sent.msgSeq), { errno: 0 });
  const memberView: ChatEvent[] = [];
  member.on('event', (e) => memberView.push(e));
  await waitFor(() => memberView.some((e) => e.kind === 'recall' && e.recalledSeq === sent.msgSeq), 20_000);
  const history = await member.history(sent.conv, { after: 0 });
  t.match(history.events[0], { seq: 1, recalled: true, text: '' }, 'the slot is a tombstone in history');
});
