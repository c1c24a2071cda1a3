/**
 * The client's words, in process: a friendly sentence for every errno the server can send,
 * the server's detail kept, socket errors in plain words, conversation references, and the
 * original's line formats.
 */
import t from 'tap';
import type { ChatEvent } from '../../lib/client/client.js';
import { parseConvAndNumber, parseConvRef } from '../../lib/cli/client/conv.js';
import { describeConnectError, describeReply, sentenceFor, sentenceForCode } from '../../lib/cli/client/errors.js';
import { eventLine, helpText, legacyLine, overview } from '../../lib/cli/client/format.js';
import { Errors } from '../../lib/errors.js';

t.test('every errno of lib/errors.ts has a sentence', async (t) => {
  for (const [code, e] of Object.entries(Errors)) {
    if (e.errno === 0) continue;
    t.ok(sentenceForCode(code), `${code} (${e.errno})`);
    t.ok(sentenceFor(e.errno), `errno ${e.errno}`);
    t.not(describeReply(e.errno, e.errmsg), '', code);
  }
  t.equal(describeReply(1, 'id or password is invalid!', 'login'), 'id or password is invalid!');
  t.equal(describeReply(1, undefined, 'register'), 'name is already exist, register error!');
  t.equal(describeReply(107, 'no such user: 99'), 'no such user (99)', "the server's detail is kept");
  t.equal(describeReply(103, 'missing or invalid field: msg'), 'a field of the request is missing or invalid (msg)');
  t.equal(describeReply(999, 'something new'), 'something new (errno 999)', "an unknown errno: the server's words");
  t.equal(describeReply(999, undefined), 'the server refused the request (errno 999)');
  t.equal(describeConnectError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'connection refused');
  t.equal(describeConnectError(Object.assign(new Error('x'), { code: 'ENOTFOUND' })), 'host not found');
  t.equal(describeConnectError(new Error('connect to h:1 timed out')), 'timed out');
});

t.test('conversation references', async (t) => {
  t.same(parseConvRef('13', 12), { conv: 'p:12:13', kind: 'pair', peer: 13 });
  t.same(parseConvRef('5', 12), { conv: 'p:5:12', kind: 'pair', peer: 5 });
  t.same(parseConvRef('g5', 12), { conv: 'g:5', kind: 'group', groupid: 5 });
  t.same(parseConvRef('g:5', 12), { conv: 'g:5', kind: 'group', groupid: 5 });
  t.same(parseConvRef('p:12:13', 12), { conv: 'p:12:13', kind: 'pair', peer: 13 });
  t.equal(parseConvRef('p:14:13', 12), null, 'not mine');
  t.equal(parseConvRef('x', 12), null);
  t.equal(parseConvRef('0', 12), null);
  t.same(parseConvAndNumber('g:5:7', 12), { ref: { conv: 'g:5', kind: 'group', groupid: 5 }, n: 7 });
  t.same(parseConvAndNumber('p:12:13:4', 12), { ref: { conv: 'p:12:13', kind: 'pair', peer: 13 }, n: 4 });
  t.same(parseConvAndNumber('13:4', 12)?.n, 4);
  t.equal(parseConvAndNumber('13', 12), null);
});

t.test("the original's formats", async (t) => {
  const names = { name: (id: number) => ({ 13: 'zhang san', 15: 'li si' })[id], groupName: () => 'team' };
  const ev: ChatEvent = {
    conv: 'p:13:15',
    seq: 4,
    kind: 'chat',
    mid: 'm',
    ts: 0,
    time: '2024-09-03 20:57:58',
    from: { id: 15, name: 'li si' },
    text: 'hi',
    recalled: false,
    toid: 13,
    own: false,
  };
  t.equal(eventLine(ev, { me: 13, names, english: false }), '2024-09-03 20:57:58 [15]li si said: hi #4');
  const g = { ...ev, conv: 'g:1', groupid: 1, toid: undefined };
  t.equal(eventLine(g, { me: 13, names, english: false }), '群消息[1]:2024-09-03 20:57:58 [15]li si said: hi #4');
  t.equal(eventLine(g, { me: 13, names, english: true }), 'group[1]:2024-09-03 20:57:58 [15]li si said: hi #4');
  const own = { ...ev, from: { id: 13, name: 'zhang san' }, toid: 15, own: true };
  t.equal(eventLine(own, { me: 13, names, english: false, status: 'read' }), '2024-09-03 20:57:58 [13]zhang san said to [15]li si: hi #4 (read)');
  t.equal(eventLine({ ...ev, kind: 'recall', text: '', recalledSeq: 3 }, { me: 13, names, english: false }), '2024-09-03 20:57:58 [15]li si recalled #3');
  t.equal(eventLine({ ...ev, recalled: true, text: '' }, { me: 13, names, english: false }), '2024-09-03 20:57:58 [15]li si said: [recalled] #4');
  t.equal(
    overview({ id: 13, name: 'zhang san', friends: [{ id: 15, name: 'li si', state: 'offline' }], groups: [] }),
    [
      '======================login user======================',
      'current login user => id:13 name:zhang san',
      '----------------------friend list---------------------',
      '15 li si offline',
      '----------------------group list----------------------',
      '======================================================',
    ].join('\n'),
  );
  t.match(helpText(false), 'loginout : log out (back to the start menu), format loginout | 注销，格式loginout');
  t.notMatch(helpText(true), '注销');
  // the original protocol: its lines exactly (no seq), its commands only
  const m = { from: { id: 15, name: 'li si' }, text: 'hi', time: '2024-09-03 20:57:58' };
  t.equal(legacyLine({ ...m, toid: 13 }, false), '2024-09-03 20:57:58 [15]li si said: hi');
  t.equal(legacyLine({ ...m, groupid: 1 }, false), '群消息[1]:2024-09-03 20:57:58 [15]li si said: hi');
  const legacyHelp = helpText(true, true);
  t.same(
    legacyHelp.split('\n').slice(1).map((l) => l.split(' : ')[0]),
    ['help', 'chat', 'addfriend', 'creategroup', 'addgroup', 'groupchat', 'loginout', 'quit'],
  );
});
