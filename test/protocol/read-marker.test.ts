/**
 * READ_MSG is validated inside the commit that stores it: a marker past the conversation's
 * end, one behind the read watermark and one of a non-member are refused with their errno and
 * move nothing; two markers of one session in one batch are checked one after the other.
 */
import t from 'tap';
import { startServer } from '../fixtures/harness.js';
import { requestV2, sendV2, user } from './util.js';

t.test('read markers: past the end, backwards and not a member are refused inside the commit', async (t) => {
  const app = await startServer(t, {});
  const { c: alice } = await user(t, app.port, 'alice', { v2: true });
  const { c: bob, id: b } = await user(t, app.port, 'bob', { v2: true });
  const { c: carol } = await user(t, app.port, 'carol', { v2: true });
  for (let i = 1; i <= 3; i++) await sendV2(alice, { msgid: 6, toid: b, msg: `m${i}` });
  const conv = `p:1:${b}`;

  t.match(await requestV2(bob, { msgid: 17, conv, msgSeq: 4 }), { errno: 115, errmsg: /past the conversation's last seq 3/ }, 'past the end');
  t.match(await requestV2(bob, { msgid: 17, conv, msgSeq: 2 }), { errno: 0, read: 2, delivered: 2 }, 'a marker within the log');
  t.match(await requestV2(bob, { msgid: 17, conv, msgSeq: 1 }), { errno: 115, errmsg: /the read marker is at 2 and cannot move backwards/ }, 'backwards');
  t.match(await requestV2(carol, { msgid: 17, conv, msgSeq: 1 }), { errno: 109 }, 'not a member');
  t.match(await requestV2(bob, { msgid: 17, conv: 'p:nonsense', msgSeq: 1 }), { errno: 109 }, 'no such conversation');

  // two markers written together land in one batch: the second is checked after the first
  bob.send({ msgid: 17, v: 2, conv, msgSeq: 3, cmid: 'r3' });
  bob.send({ msgid: 17, v: 2, conv, msgSeq: 2, cmid: 'r2' });
  const [r3, r2] = await Promise.all([bob.next((f) => f.cmid === 'r3'), bob.next((f) => f.cmid === 'r2')]);
  t.match(r3, { errno: 0, read: 3 }, 'the first moves the marker');
  t.match(r2, { errno: 115 }, 'the second, behind it, is refused');

  bob.send({ msgid: 26, v: 2, cmid: 'list' });
  const list = await bob.next((f) => f.cmid === 'list');
  t.match(list.convs, [{ conv, lastSeq: 3, read: 3, delivered: 3 }], 'the refused markers moved nothing');
});
