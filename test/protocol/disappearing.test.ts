/**
 * Disappearing messages on one process, on a clock the test moves: a send's own `ttl`, a
 * conversation's timer (TIMER_MSG, a seq'd event every member sees), the sweeper turning due
 * messages into tombstones with an expire event that online v2 and legacy users get live and
 * offline ones at their next login or sync, and a restart after the messages expired.
 */
import path from 'node:path';
import t from 'tap';
import { startServer, tempDir, type Json, type LineClient } from '../fixtures/harness.js';
import { barrier, loginAs, requestV2, sendV2, user } from './util.js';

/** the sweeper's timer never fires on its own in these tests: they call sweepExpiries() */
const MANUAL = { expiryIntervalMs: 3_600_000 };

/** MSG_STATUS_QUERY's answer */
async function statusOf(c: LineClient, conv: string, msgSeq: number): Promise<Json> {
  c.send({ msgid: 24, v: 2, conv, msgSeq, cmid: `st-${msgSeq}` });
  return c.next((f) => f.msgid === 25 && f.cmid === `st-${msgSeq}`);
}

function clock(): { now: () => number; advance(ms: number): void } {
  let at = 1_800_000_000_000;
  return { now: () => at, advance: (ms) => (at += ms) };
}

t.test('a ttl and TIMER_MSG are validated', async (t) => {
  const app = await startServer(t, MANUAL);
  const { c: alice } = await user(t, app.port, 'alice', { v2: true });
  const { id: bob } = await user(t, app.port, 'bob', { v2: true });
  for (const ttl of [0, -1, 31_536_001]) {
    t.match(await sendV2(alice, { msgid: 6, toid: bob, msg: 'x', ttl }), { msgid: 11, errno: 133, reqmsgid: 6 }, `ttl ${ttl}`);
  }
  t.match(await sendV2(alice, { msgid: 6, toid: bob, msg: 'x', ttl: '5' }), { msgid: 11, errno: 103, errmsg: 'missing or invalid field: ttl' });
  t.match(await sendV2(alice, { msgid: 6, toid: bob, msg: 'x', ttl: 1.5 }), { msgid: 11, errno: 103 });
  t.match(await requestV2(alice, { msgid: 31, conv: 'p:1:2', ttl: 31_536_001 }), { msgid: 11, errno: 133, reqmsgid: 31 });
  t.match(await requestV2(alice, { msgid: 31, conv: 'p:1:2' }), { msgid: 11, errno: 103 });
  t.match(await requestV2(alice, { msgid: 31, conv: 'p:2:3', ttl: 60 }), { msgid: 11, errno: 109 });
  t.match(await requestV2(alice, { msgid: 31, conv: 'g:7', ttl: 60 }), { msgid: 11, errno: 109 });
  alice.send({ msgid: 32, v: 2, cmid: 'x-1' });
  t.match(await alice.next((f) => f.cmid === 'x-1'), { msgid: 11, errno: 102 }, 'EXPIRED_MSG is server to client only');
});

t.test('expiry is seen live by v2 and legacy members, and by an offline member later', async (t) => {
  const time = clock();
  const app = await startServer(t, MANUAL, { now: time.now });
  const { c: alice, id: a } = await user(t, app.port, 'alice', { v2: true });
  const { c: bob, id: b } = await user(t, app.port, 'bob', { v2: true });
  const { c: legacy, id: l } = await user(t, app.port, 'lee');
  const { id: o, c: off } = await user(t, app.port, 'olga', { v2: true });
  off.close();
  const gid = ((await requestV2(alice, { msgid: 8, groupname: 'g', groupdesc: '' })).groupid as number);
  for (const c of [bob, legacy]) c.send({ msgid: 9, v: c === bob ? 2 : undefined, groupid: gid });
  await barrier(bob, true);
  await barrier(legacy);
  const off2 = await loginAs(t, app.port, o, { v2: true });
  t.equal((await requestV2(off2.c, { msgid: 9, groupid: gid })).errno, 0);
  off2.c.close();
  const conv = `g:${gid}`;

  // the timer: a seq'd event pushed to every member
  const set = await requestV2(alice, { msgid: 31, conv, ttl: 60 });
  t.match(set, { msgid: 13, reqmsgid: 31, errno: 0, conv, ttl: 60, msgSeq: 1 });
  t.match(await bob.msg(31), { msgid: 31, v: 2, conv, msgSeq: 1, id: a, name: 'alice', groupid: gid, ttl: 60 });
  t.match(await legacy.msg(10), { msgid: 10, conv, msgSeq: 1, id: a, msg: '[set disappearing messages to 60 s]' });

  const timed = await sendV2(alice, { msgid: 10, groupid: gid, msg: 'gone in a minute' });
  const own = await sendV2(alice, { msgid: 10, groupid: gid, msg: 'gone in 5 s', ttl: 5 });
  t.equal(own.msgSeq, 3);
  const pushed = await bob.next((f) => f.msgid === 10 && f.msgSeq === 3);
  t.equal(pushed.expiresAt, time.now() + 5000, 'a push says when it disappears');
  t.equal((await bob.next((f) => f.msgid === 10 && f.msgSeq === 2)).expiresAt, time.now() + 60_000, 'the timer applies');
  t.match(await legacy.next((f) => f.msgSeq === 3), { msg: 'gone in 5 s' });

  time.advance(4999);
  t.equal(await app.hub.sweepExpiries(), 0, 'nothing is due before its time');
  time.advance(1);
  t.equal(await app.hub.sweepExpiries(), 1, 'the 5 s message expires');
  t.match(await bob.msg(32), { msgid: 32, v: 2, conv, msgSeq: 4, id: a, groupid: gid, expiredSeq: 3 });
  t.match(await legacy.next((f) => f.msgSeq === 4), { msgid: 10, conv, id: a, msg: '[message expired]' });
  t.equal(await app.hub.sweepExpiries(), 0, 'expired once');
  t.match(await statusOf(alice, conv, 3), { msgid: 25, errno: 0, msgSeq: 3, expired: true, members: 3, deliveredBy: Array }, 'its status says it expired, and how far it got before');
  t.notOk('expired' in (await statusOf(alice, conv, 2)), 'one that has not expired does not say so');

  bob.send({ msgid: 15, v: 2, conv, after: 0, cmid: 's-live' });
  const events = (await bob.next((f) => f.cmid === 's-live')).events as Json[];
  t.match(events.map((e) => [e.msgid, e.msgSeq, e.msg, e.expired, e.expiredSeq]), [
    [31, 1, undefined, undefined, undefined],
    [10, 2, 'gone in a minute', undefined, undefined],
    [10, 3, '', true, undefined],
    [32, 4, undefined, undefined, 3],
  ]);

  legacy.close();
  time.advance(60_000);
  // before the sweep, a sync already shows the message past its time as expired
  bob.send({ msgid: 15, v: 2, conv, after: 1, limit: 1, cmid: 's-early' });
  t.match((await bob.next((f) => f.cmid === 's-early')).events, [{ msgSeq: 2, msg: '', expired: true }]);
  t.match(await statusOf(bob, conv, 2), { msgid: 25, msgSeq: 2, expired: true }, 'and so does its status');
  t.equal(await app.hub.sweepExpiries(), 1);
  t.match(await bob.next((f) => f.msgid === 32), { expiredSeq: 2, msgSeq: 5 });
  t.equal(timed.msgSeq, 2);

  // offline: v2 sees tombstones and expire events; legacy sees the lines, never the texts
  const later = await loginAs(t, app.port, o, { v2: true });
  later.c.send({ msgid: 15, v: 2, conv, after: 0, cmid: 's-off' });
  const offPage = (await later.c.next((f) => f.cmid === 's-off')).events as Json[];
  t.strictSame(offPage.map((e) => [e.msgid, e.msg ?? null, e.expired ?? null]), [
    [31, null, null],
    [10, '', true],
    [10, '', true],
    [32, null, null],
    [32, null, null],
  ]);
  const back = await loginAs(t, app.port, l);
  const offline = ((back.ack.offlinemsg ?? []) as string[]).map((s) => JSON.parse(s) as Json);
  t.strictSame(offline.map((m) => [m.msgSeq, m.msg]), [[5, '[message expired]']], 'the legacy backlog has the expiry line only');
  t.notOk(JSON.stringify(back.ack).includes('gone in'), 'and no expired text');
});

t.test('a one-to-one timer; a push on its way after the expiry goes out as a tombstone', async (t) => {
  const time = clock();
  const app = await startServer(t, MANUAL, { now: time.now });
  const { c: alice, id: a } = await user(t, app.port, 'alice', { v2: true });
  const { c: bob, id: b } = await user(t, app.port, 'bob', { v2: true });
  const conv = `p:${a}:${b}`;
  t.match(await requestV2(bob, { msgid: 31, conv, ttl: 10 }), { errno: 0, conv, ttl: 10, msgSeq: 1 });
  t.match(await alice.msg(31), { msgid: 31, conv, msgSeq: 1, id: b, toid: a, ttl: 10 });
  t.match(await requestV2(alice, { msgid: 31, conv, ttl: 0 }), { errno: 0, ttl: 0, msgSeq: 2 });
  t.match(await bob.msg(31), { msgSeq: 2, ttl: 0 });
  const plain = await sendV2(alice, { msgid: 6, toid: b, msg: 'no timer now' });
  t.equal((await bob.next((f) => f.msgSeq === plain.msgSeq)).expiresAt, undefined, 'a timer of 0 is off');

  // bob's session has not received seq 4 yet when it expires: it must not get the text
  bob.close();
  const ttl = await sendV2(alice, { msgid: 6, toid: b, msg: 'short-lived', ttl: 1 });
  time.advance(1000);
  const again = await loginAs(t, app.port, b, { v2: true });
  again.c.send({ msgid: 15, v: 2, conv, after: 0, cmid: 's1' });
  const events = (await again.c.next((f) => f.cmid === 's1')).events as Json[];
  t.match(events[ttl.msgSeq as number - 1], { msgSeq: ttl.msgSeq, msg: '', expired: true }, 'sync before the sweep: a tombstone');
});

t.test('messages that expired while the server was down expire at its start', async (t) => {
  const time = clock();
  const db = path.join(tempDir(t), 'chat.db');
  const first = await startServer(t, { ...MANUAL, db }, { now: time.now });
  const { c: alice } = await user(t, first.port, 'alice', { v2: true });
  const { id: b } = await user(t, first.port, 'bob', { v2: true });
  const sent = await sendV2(alice, { msgid: 6, toid: b, msg: 'expires while down', ttl: 30 });
  await first.close();
  time.advance(60_000);
  const second = await startServer(t, { ...MANUAL, db }, { now: time.now });
  const { c: bob } = await loginAs(t, second.port, b, { v2: true });
  // the first sweep runs at start; wait for its expire event by syncing until it is there
  let events: Json[] = [];
  for (let i = 0; i < 200 && events.length < 2; i++) {
    bob.send({ msgid: 15, v: 2, conv: sent.conv, after: 0, cmid: `s${i}` });
    events = (await bob.next((f) => f.cmid === `s${i}`)).events as Json[];
  }
  t.match(events, [{ msgSeq: 1, msg: '', expired: true }, { msgid: 32, msgSeq: 2, expiredSeq: 1 }]);
  t.equal(await second.hub.sweepExpiries(), 0, 'nothing left to expire');
});
