/**
 * A legacy sender's positions move only with what is written to it. Its own send used to move
 * its delivered position to the send's seq ("the sender has what it sent"); a legacy session
 * that meets a conversation starts there, so another member's message committed just before
 * (by another process, its bus message still on its way) was passed: never pushed live, and
 * not in the next login's offline messages either, because it counted as delivered.
 */
import t from 'tap';
import { startServer } from '../fixtures/harness.js';
import { loginAs, sleep as delay, user } from '../protocol/util.js';
import { pairConv } from './util.js';

t.test("a legacy sender's own send does not pass another member's message still on its way", async (t) => {
  const app = await startServer(t);
  const { c: alice, id: a } = await user(t, app.port, 'alice');
  const { c: bob, id: b } = await user(t, app.port, 'bob');
  const conv = pairConv(a, b);
  const store = app.hub.store;

  // bob's message committed as by another process whose bus message has not arrived: in the
  // log, pushed to nobody
  const [stored] = await store.commit([{ op: 'append', event: app.hub.newEvent({ conv, kind: 'chat', senderId: b, text: 'on its way', ref: null, cmid: null }) }]);
  t.match(stored, { op: 'append', event: { seq: 1 } });

  // alice's session reads where it starts only after her own send's moves have committed (as
  // when her process is busy)
  const convState = store.convState.bind(store);
  store.convState = async (userId, c) => {
    if (userId === a && c === conv) await delay(300);
    return convState(userId, c);
  };
  t.teardown(() => {
    store.convState = convState;
  });
  alice.send({ msgid: 6, id: a, from: 'alice', toid: b, msg: 'mine' });
  t.match(await bob.msg(6), { msg: 'mine', msgSeq: 2 }, 'bob gets the send');

  t.match(await alice.msg(6, 5000), { msgid: 6, id: b, msg: 'on its way' }, 'alice gets the message her send came after, live');
  let delivered: number | undefined;
  for (const end = Date.now() + 5000; delivered !== 1 && Date.now() < end; await delay(20)) delivered = (await convState(a, conv))?.delivered;
  t.equal(delivered, 1, 'delivered to her: what was written to her');
  store.convState = convState;
  alice.close();
  const again = await loginAs(t, app.port, a);
  t.notOk(again.ack.offlinemsg, 'nothing left for her next login: she had it');
});
