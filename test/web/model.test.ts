/**
 * The browser client's model (lib/web/model.ts), without a browser: unread counts, the status
 * of one's own messages from watermarks and receipts, and who may recall what.
 */
import t from 'tap';
import type { ChatEvent, LoginInfo } from '../../lib/client/core.js';
import { ChatModel, RECALL_WINDOW_MS } from '../../lib/web/model.js';

const info: LoginInfo = {
  id: 1,
  name: 'ann',
  token: 'tok',
  friends: [{ id: 2, name: 'bob', state: 'online' }],
  groups: [
    {
      id: 7,
      groupname: 'trio',
      groupdesc: '',
      users: [
        { id: 1, name: 'ann', role: 'creator', state: 'online' },
        { id: 2, name: 'bob', role: 'normal', state: 'online' },
        { id: 3, name: 'cat', role: 'normal', state: 'offline' },
      ],
    },
  ],
  convs: [{ conv: 'p:1:2', lastSeq: 3, joinedSeq: 0, delivered: 3, read: 1, unread: 2, peerDelivered: 2, peerRead: 1 }],
};

function ev(conv: string, seq: number, from: number, text: string, extra: Partial<ChatEvent> = {}): ChatEvent {
  return { conv, seq, kind: 'chat', mid: `m${seq}`, ts: Date.now(), time: '2026-12-06 10:00:00', from: { id: from, name: from === 1 ? 'ann' : 'bob' }, text, recalled: false, own: from === 1, ...extra };
}

t.test('one-to-one: unread counts and the status of my messages from the peer watermarks', async (t) => {
  const m = new ChatModel(info);
  t.equal(m.unread('p:1:2'), 2, 'from the login summary: seqs 2 and 3 unread');
  t.equal(m.label('p:1:2'), '[2]bob');
  const c = m.conv('p:1:2');
  m.add(ev('p:1:2', 1, 1, 'mine, read'));
  m.add(ev('p:1:2', 2, 1, 'mine, delivered'));
  m.add(ev('p:1:2', 3, 2, 'his'));
  t.equal(m.unread('p:1:2'), 1, 'my own messages are not unread');
  t.same(m.receipt('p:1:2', c.msgs.get(1)!), { status: 'read' });
  t.same(m.receipt('p:1:2', c.msgs.get(2)!), { status: 'delivered' });
  t.equal(m.receipt('p:1:2', c.msgs.get(3)!), null, 'no status on the peer’s messages');
  m.status({ msgid: 20, v: 2, conv: 'p:1:2', userid: 2, delivered: 3, read: 2 });
  t.same(m.receipt('p:1:2', c.msgs.get(2)!), { status: 'read' });
  m.status({ msgid: 20, v: 2, conv: 'p:1:2', userid: 2, delivered: 1, read: 0 });
  t.same(m.receipt('p:1:2', c.msgs.get(2)!), { status: 'read' }, 'watermarks never go back');
  m.mark('p:1:2', 1, 3, 3);
  t.equal(m.unread('p:1:2'), 0, 'my own read marker clears the count');
});

t.test('group: counts and who read, from the status query and later pushes', async (t) => {
  const m = new ChatModel(info);
  const c = m.add(ev('g:7', 1, 1, 'welcome', { groupid: 7 }));
  const msg = c.msgs.get(1)!;
  t.match(m.receipt('g:7', msg), { status: 'sent', members: 0, readBy: [] });
  m.queried({ msgid: 25, conv: 'g:7', msgSeq: 1, members: 2, deliveredBy: [2], readBy: [] });
  t.ok(m.hasQueried('g:7', 1));
  t.same(m.receipt('g:7', msg), { status: 'sent', members: 2, deliveredBy: [2], readBy: [] });
  m.status({ msgid: 20, conv: 'g:7', userid: 2, delivered: 1, read: 1 });
  m.status({ msgid: 20, conv: 'g:7', userid: 3, delivered: 1, read: 0 });
  t.same(m.receipt('g:7', msg), { status: 'delivered', members: 2, deliveredBy: [2, 3], readBy: [2] });
  m.status({ msgid: 20, conv: 'g:7', userid: 3, delivered: 1, read: 1 });
  t.match(m.receipt('g:7', msg), { status: 'read', readBy: [2, 3] });
});

t.test('recall: my own within the window, any in a group I created; a recall event marks its target', async (t) => {
  const m = new ChatModel(info);
  const now = Date.now();
  const c = m.add(ev('p:1:2', 1, 1, 'fresh', { ts: now }));
  m.add(ev('p:1:2', 2, 1, 'old', { ts: now - RECALL_WINDOW_MS - 1 }));
  m.add(ev('p:1:2', 3, 2, 'his'));
  t.ok(m.canRecall('p:1:2', c.msgs.get(1)!, now));
  t.notOk(m.canRecall('p:1:2', c.msgs.get(2)!, now), 'past the window');
  t.notOk(m.canRecall('p:1:2', c.msgs.get(3)!, now), "someone else's, one-to-one");
  const g = m.add(ev('g:7', 1, 2, 'bob in my group', { groupid: 7 }));
  t.ok(m.canRecall('g:7', g.msgs.get(1)!, now), 'the creator recalls any group message');
  m.add(ev('p:1:2', 4, 2, '', { kind: 'recall', recalledSeq: 3 }));
  t.match(c.msgs.get(3), { recalled: true, text: '' });
  t.notOk(m.canRecall('p:1:2', c.msgs.get(3)!, now), 'already recalled');
  t.equal(m.receipt('p:1:2', c.msgs.get(4)!), null, 'a recall event has no status');
});
