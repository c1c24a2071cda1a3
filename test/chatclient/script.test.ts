/**
 * The non-interactive commands: send, sendgroup, tail (text and NDJSON), history, recall,
 * register; no menus or prompts; the exit codes --help documents.
 */
import t, { type Test } from 'tap';
import { refusedPort, startServer } from '../fixtures/harness.js';
import { client, libClient, loggedIn, passwordFile, users } from './fixtures/util.js';

type Run = (args: string[], env?: Record<string, string>) => Promise<{ code: number | null; out: string; err: string }>;

function runner(t: Test): Run {
  return async (args, env = {}) => {
    const p = client(t, args, env);
    return { code: await p.exitCode(), out: p.out, err: p.err };
  };
}

t.test('send and tail --json between two users; exit codes', async (t) => {
  const srv = await startServer(t);
  const [a, b] = await users(srv.port, 'ann', 'ben');
  const pw = passwordFile(t);
  const as = (id: number, ...args: string[]) => ['--port', String(srv.port), '--user', String(id), '--password-file', pw, ...args];
  const run = runner(t);

  // something waiting for ben before his tail starts: the backlog comes first
  t.same(await run(as(a!, 'send', String(b), 'before', 'tail')), { code: 0, out: '', err: '' }, 'send exits 0 and prints nothing');

  const tail = client(t, as(b!, 'tail', '--json', '--count', '3'));
  await tail.waitOut('"text":"before tail"');
  const s1 = await run(as(a!, 'send', '--json', String(b), 'hi', 'ben'));
  t.equal(s1.code, 0);
  t.match(JSON.parse(s1.out) as object, { conv: `p:${a}:${b}`, msgSeq: 2, duplicate: false });
  t.equal((await run(as(a!, 'send', String(b), '{"json":"in text"}'))).code, 0);
  t.equal(await tail.exitCode(), 0, 'tail --count 3 exits 0 after three');
  const lines = tail.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(lines.length, 3);
  t.match(lines, [
    { kind: 'chat', seq: 1, text: 'before tail', from: { id: a, name: 'ann' }, toid: b, own: false, recalled: false },
    { kind: 'chat', seq: 2, text: 'hi ben', conv: `p:${a}:${b}` },
    { kind: 'chat', seq: 3, text: '{"json":"in text"}' },
  ]);
  t.equal(tail.err, '', 'no menus, prompts or notices');

  // errors: request refused 4, login refused 3, usage 1, cannot connect 2 (all at once)
  const port = await refusedPort();
  const [noUser, notMember, badPw, noPw, noUserFlag, badArg, refused] = await Promise.all([
    run(as(a!, 'send', '99999', 'x')),
    run(as(a!, 'sendgroup', '4242', 'x')),
    run(['--port', String(srv.port), '--user', String(a), 'send', String(b), 'x'], { CHAT_PASSWORD: 'wrong' }),
    run(['--port', String(srv.port), '--user', String(a), 'send', String(b), 'x']),
    run(['--port', String(srv.port), 'send', String(b), 'x'], { CHAT_PASSWORD: 'pw' }),
    run(as(a!, 'send', 'ben', 'x')),
    run(['--port', String(port), '--user', String(a), '--password-file', pw, 'send', String(b), 'x']),
  ]);
  t.match(noUser, { code: 4, err: 'chatclient: cannot send to 99999: no such user (99999)\n' });
  t.match(notMember, { code: 4, err: /cannot send to group 4242: (no such group|you are not a member)/ });
  t.match(badPw, { code: 3, err: 'chatclient: login refused: id or password is invalid!\n' });
  t.match(noPw, { code: 1, err: /no password/ });
  t.match(noUserFlag, { code: 1, err: /needs --user/ });
  t.match(badArg, { code: 1, err: /to must be an integer/ });
  t.same(refused, { code: 2, out: '', err: `chatclient: cannot connect to 127.0.0.1:${port}: connection refused\n` });
});

t.test('sendgroup, send --group, tail as text, history, recall, register', async (t) => {
  const srv = await startServer(t);
  const pw = passwordFile(t);
  const run = runner(t);
  const reg = await run(['--port', String(srv.port), 'register', 'li si'], { CHAT_PASSWORD: 'pw' });
  t.equal(reg.code, 0);
  const b = Number(reg.out.trim());
  t.ok(b > 0, 'register prints the id');
  t.same(await run(['--port', String(srv.port), 'register', 'li si'], { CHAT_PASSWORD: 'pw' }), {
    code: 4,
    out: '',
    err: 'chatclient: cannot register li si: name is already exist, register error!\n',
  });
  const [a] = await users(srv.port, 'zhang san');
  const ann = await libClient(t, srv.port, a!);
  const gid = await ann.createGroup('team', '');
  const ben = await libClient(t, srv.port, b);
  await ben.joinGroup(gid);
  // (no other device of ben's may take the messages before the tail logs in)
  ben.close();
  const as = (id: number, ...args: string[]) => ['--port', String(srv.port), '--user', String(id), '--password-file', pw, ...args];

  const tail = client(t, as(b, 'tail', '--count', '3'));
  t.equal((await run(as(a!, 'sendgroup', String(gid), 'group', 'one'))).code, 0);
  t.equal((await run(as(a!, 'send', '--group', String(gid), 'group two'))).code, 0);
  t.equal((await run(as(a!, 'recall', `g${gid}`, '2'))).code, 0);
  t.equal(await tail.exitCode(), 0);
  t.match(tail.out, new RegExp(`^群消息\\[${gid}\\]:\\S+ \\S+ \\[${a}\\]zhang san said: group one #1\\n`));
  t.match(tail.out, `[${a}]zhang san said: `);
  t.match(tail.out, `[${a}]zhang san recalled #2\n`);

  const [hist, histJson, notMine, empty, badConv] = await Promise.all([
    run(as(b, 'history', `g${gid}`)),
    run(as(b, 'history', '--json', '--limit', '1', `g:${gid}`)),
    run(as(b, 'recall', `g${gid}`, '1')),
    run(as(b, 'history', '99999')),
    run(as(b, 'history', 'x9')),
  ]);
  t.equal(hist.code, 0);
  t.match(hist.out, 'said: group one #1\n');
  t.match(hist.out, 'said: [recalled] #2\n');
  t.notMatch(hist.out, 'group two', 'the recalled text is gone');
  t.equal(histJson.code, 0);
  t.match(JSON.parse(histJson.out) as object, { kind: 'recall', recalledSeq: 2, seq: 3 });
  t.match(notMine, { code: 4, err: /not allowed/ });
  t.match(empty, { code: 0, out: '' }, 'an empty one-to-one history is fine');
  t.match(badConv, { code: 1, err: /not a conversation: x9/ });
});

t.test("a send from a script while the same user's interactive client is open (multi-device)", async (t) => {
  const srv = await startServer(t);
  const [a, b] = await users(srv.port, 'ann', 'ben');
  const pw = passwordFile(t);
  const A = await loggedIn(t, srv.port, a!);
  const B = await loggedIn(t, srv.port, b!);
  const s = client(t, ['--port', String(srv.port), '--user', String(a), '--password-file', pw, 'send', String(b), 'from', 'a', 'script']);
  t.equal(await s.exitCode(), 0);
  await B.waitOut(`[${a}]ann said: from a script #1\n`);
  // the interactive session of the same user sees its own message from the other device
  await A.waitOut(new RegExp(`\\[${a}\\]ann said to \\[${b}\\]\\S*: from a script #1`));
  A.type(`chat:${b}:and from the console`);
  await B.waitOut('said: and from the console #2');
  t.pass('both devices of ann sent');
});
