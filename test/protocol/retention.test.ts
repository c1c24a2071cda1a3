/**
 * Retention (--retention-days) on a clock the test moves: a pass prunes the events older than
 * the retention, a sync over the pruned range gets placeholders that say so, and delivered and
 * read positions stay valid (the conversation list, READ and DELIVERED still work on them).
 */
import t from 'tap';
import { startServer, type Json } from '../fixtures/harness.js';
import { requestV2, sendV2, user } from './util.js';

const DAY = 24 * 3600 * 1000;

t.test('events past the retention are pruned; sync says so; positions stay valid', async (t) => {
  let at = 1_800_000_000_000;
  const app = await startServer(t, { retentionDays: 2 }, { now: () => at });
  const { c: alice } = await user(t, app.port, 'alice', { v2: true });
  const { c: bob, id: b } = await user(t, app.port, 'bob', { v2: true });
  for (let i = 1; i <= 4; i++) await sendV2(alice, { msgid: 6, toid: b, msg: `old ${i}` });
  const conv = `p:1:${b}`;
  t.match(await requestV2(bob, { msgid: 17, conv, msgSeq: 3 }), { errno: 0, read: 3 });
  at += DAY;
  await sendV2(alice, { msgid: 6, toid: b, msg: 'one day old' });
  at += 1.5 * DAY;
  t.equal(await app.hub.prune(), 4, 'the four events older than two days are pruned');
  t.equal(await app.hub.prune(), 0, 'a second pass finds nothing');

  bob.send({ msgid: 15, v: 2, conv, after: 0, cmid: 'sync-1' });
  const page = await bob.next((f) => f.cmid === 'sync-1');
  t.strictSame((page.events as Json[]).slice(0, 4), [1, 2, 3, 4].map((seq) => ({ conv, msgSeq: seq, gap: true, pruned: true })), 'placeholders that say pruned');
  t.match((page.events as Json[])[4], { msgid: 6, msgSeq: 5, msg: 'one day old' });
  t.match(page, { lastSeq: 5, more: false });

  bob.send({ msgid: 26, v: 2, cmid: 'list-1' });
  const list = await bob.next((f) => f.cmid === 'list-1');
  t.match(list.convs, [{ conv, lastSeq: 5, delivered: 3, read: 3, unread: 2 }], 'positions are as they were');
  t.match(await requestV2(bob, { msgid: 17, conv, msgSeq: 5 }), { errno: 0, read: 5, delivered: 5 }, 'READ goes on from there');
  const next = await sendV2(alice, { msgid: 6, toid: b, msg: 'new' });
  t.equal(next.msgSeq, 6, 'seqs go on');
});

t.test('without --retention-days nothing is pruned', async (t) => {
  let at = 1_800_000_000_000;
  const app = await startServer(t, {}, { now: () => at });
  const { c: alice } = await user(t, app.port, 'alice', { v2: true });
  const { id: b } = await user(t, app.port, 'bob', { v2: true });
  await sendV2(alice, { msgid: 6, toid: b, msg: 'kept' });
  at += 3650 * DAY;
  t.equal(await app.hub.prune(), 0);
  alice.send({ msgid: 15, v: 2, conv: `p:1:${b}`, after: 0, cmid: 's' });
  t.match((await alice.next((f) => f.cmid === 's')).events, [{ msgSeq: 1, msg: 'kept' }]);
});
