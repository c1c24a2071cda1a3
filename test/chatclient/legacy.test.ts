/**
 * bin/chatclient against a stand-in for the original C++ server (fixtures/original-server.ts:
 * no delimiter, keys sorted, several replies in one write): it finds out by itself that the
 * server does not speak v2 (or is told so with --legacy), and then offers the original's
 * commands with the original's lines, takes replies that share a write, and reconnects.
 */
import t from 'tap';
import { LEGACY_NOTE } from '../../lib/cli/client/legacy.js';
import { startServer, waitFor } from '../fixtures/harness.js';
import { OriginalServer } from './fixtures/original-server.js';
import { client, passwordFile, type Proc } from './fixtures/util.js';

const TIME = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';
const NOTE_START = LEGACY_NOTE.split('\n')[0]!;

async function login(p: Proc, id: number, password: string): Promise<void> {
  const from = p.out.length;
  p.type('1', String(id), password);
  await p.waitOut('type help to list the commands', 20_000, from);
}

t.test('against the original server: detected, its commands, its lines, coalesced replies', async (t) => {
  const srv = await OriginalServer.start(t);
  // zhang san: no --legacy; the client finds out (no v2 answer to its PING, in the default time)
  const A = client(t, ['127.0.0.1', String(srv.port)], { CHAT_PROBE_MS: '' });
  await A.waitOut('choice:');
  A.type('2', 'zhang san', '123456');
  await A.waitOut('name register success, userid is 1, do not forget it!');
  A.type('2', 'zhang san', 'again');
  await A.waitOut('name is already exist, register error!');
  A.type('2', 'li si', '666666');
  await A.waitOut('userid is 2');
  A.type('1', '1', 'wrong');
  await A.waitOut('id or password is invalid!');
  await login(A, 1, '123456');
  t.match(A.out, '======================login user======================\ncurrent login user => id:1 name:zhang san\n');
  t.equal(A.count(NOTE_START), 1, 'what the original protocol lacks is said at login');
  t.ok(A.out.indexOf(NOTE_START) < A.out.indexOf('type help to list the commands'), 'before the prompt');
  t.ok(
    srv.received.slice(0, 1).every((f) => f.msgid === 28),
    'the first frame was the v2 probe (ignored, as the original ignores an unknown msgid)',
  );
  t.ok(
    srv.received.slice(1).every((f) => typeof f.msgid === 'number' && f.msgid >= 1 && f.msgid <= 10 && f.v === undefined && f.cmid === undefined),
    'then msgid 1-10 only, no v2 fields',
  );

  let from = A.out.length;
  A.type('help');
  await A.waitOut('show command list >>> ', 20_000, from);
  await A.waitOut('quit : ', 20_000, from);
  t.notMatch(A.out.slice(from), /\nrecall : |\nhistory : /, 'only the original commands (and quit)');
  A.type('recall:1', 'nonsense', 'chat:2:  ', 'addfriend:x');
  await A.waitOut('addfriend command invalid!', 20_000, from);
  t.match(A.out.slice(from), 'recall is not available: this server speaks the original protocol');
  t.match(A.out.slice(from), 'invalid input command!');
  t.match(A.out.slice(from), 'chat command invalid! (no message after chat:friendid:)');

  A.type('addfriend:2', 'creategroup:C++ chat project:start develop a chat project');
  await A.waitOut('asked to create group C++ chat project');
  await waitFor(() => srv.received.some((f) => f.msgid === 8), 20_000);

  // li si, told with --legacy (no probe)
  const received = srv.received.length;
  const B = client(t, ['--legacy', '127.0.0.1', String(srv.port)]);
  await login(B, 2, '666666');
  t.equal(srv.received[received]?.msgid, 1, 'with --legacy the first frame is the LOGIN');
  B.type('addgroup:1');
  await B.waitOut('asked to join group 1');
  await waitFor(() => srv.received.some((f) => f.msgid === 9), 20_000);

  // three chats held back and written to li si in one write
  srv.hold(2);
  A.type('chat:2:hello li si: how are you?', 'chat:2:second', 'groupchat:1:大家好 {"not":"json"}');
  await waitFor(() => srv.heldCount(2) === 3, 20_000, () => `3 held, not ${srv.heldCount(2)}`);
  srv.release(2);
  await B.waitOut(new RegExp(`群消息\\[1\\]:${TIME} \\[1\\]zhang san said: 大家好 \\{"not":"json"\\}\\n`));
  t.match(B.out, new RegExp(`${TIME} \\[1\\]zhang san said: hello li si: how are you\\?\\n${TIME} \\[1\\]zhang san said: second\\n`), 'in order, the original line (no seq)');
  const last = srv.writes.get(2)!.at(-1)!;
  t.equal(last.split('}{').length, 3, 'the three came in one write, no delimiter');
  t.match(last, /^\{"id":1,"msg":"hello li si: how are you\?","msgid":6,"name":"zhang san","time":"[^"]+","toid":2\}\{/, 'the chat frame as the client sent it, keys sorted');

  // offline messages, at the next login, after the overview; the note is not said again
  from = B.out.length;
  B.type('loginout');
  await B.waitOut('choice:', 20_000, from);
  await waitFor(() => srv.received.some((f) => f.msgid === 3), 20_000);
  A.type('chat:2:while you were away');
  await waitFor(() => srv.received.some((f) => f.msg === 'while you were away'), 20_000);
  await login(B, 2, '666666');
  const block = ['----------------------group list----------------------', '1 C++ chat project start develop a chat project', '1 zhang san online creator', '2 li si online normal'].join('\n');
  t.match(B.out.slice(from), block, 'the group in the overview, from the JSON strings of the reply');
  await B.waitOut(new RegExp(`======\\n${TIME} \\[1\\]zhang san said: while you were away\\n`), 20_000, from);
  t.equal(B.count(NOTE_START), 1, 'said once');

  A.type('quit');
  B.type('quit');
  t.equal(await A.exitCode(), 0);
  t.equal(await B.exitCode(), 0);
  t.equal(A.count('said:'), 0, 'the original shows no line for your own sends');
});

t.test('a dropped connection: reconnect, log in again, go on', async (t) => {
  const srv = await OriginalServer.start(t);
  const A = client(t, ['--legacy', '127.0.0.1', String(srv.port)]);
  A.type('2', 'ann', 'pw', '2', 'ben', 'pw');
  await A.waitOut('userid is 2');
  await login(A, 1, 'pw');
  const B = client(t, ['--legacy', '127.0.0.1', String(srv.port)]);
  await login(B, 2, 'pw');
  srv.drop(2);
  await B.waitOut('[connection lost, reconnecting…]');
  await B.waitOut('[reconnected]');
  await waitFor(() => srv.received.filter((f) => f.msgid === 1 && f.id === 2).length === 2, 20_000);
  A.type('chat:2:after the drop');
  await B.waitOut(new RegExp(`${TIME} \\[1\\]ann said: after the drop\\n`));
  B.type('quit');
  t.equal(await B.exitCode(), 0);
});

t.test('--legacy against clusterchat: its legacy flavour', async (t) => {
  const srv = await startServer(t);
  const A = client(t, ['--legacy', '127.0.0.1', String(srv.port)]);
  A.type('2', 'ann', 'pw', '2', 'ben', 'pw');
  await A.waitOut(/userid is (\d+)[^]*userid is (\d+)/);
  const [, a, b] = /userid is (\d+)[^]*userid is (\d+)/.exec(A.out)!;
  await login(A, Number(a), 'pw');
  const B = client(t, ['--legacy', '127.0.0.1', String(srv.port)]);
  await login(B, Number(b), 'pw');
  A.type(`chat:${b}:hi ben`);
  await B.waitOut(new RegExp(`${TIME} \\[${a}\\]ann said: hi ben\\n`));
  A.type('quit');
  B.type('quit');
  t.equal(await A.exitCode(), 0);
  t.equal(await B.exitCode(), 0);
});

t.test('--help tells of --legacy and the detection; the subcommands need clusterchat', async (t) => {
  const h = client(t, ['--help']);
  t.equal(await h.exitCode(), 0);
  t.match(h.out, /--legacy +speak the original ClusterChatServer protocol/);
  t.match(h.out, 'a server that does not answer a v2 PING within 1.5 s (or $CHAT_PROBE_MS ms)');

  const p = client(t, ['--legacy', '--user', '1', '--password-file', passwordFile(t), 'send', '2', 'hi']);
  t.equal(await p.exitCode(), 1);
  t.match(p.err, '--legacy is for the interactive client: send needs a clusterchat server (v2)');
});
