/**
 * What the interactive client refuses before anything is sent (a message over the frame
 * limit, an empty message, a user id that is not a number), how it ends on end of input, and
 * that a send the server keeps closing the connection on is given up on, with growing delays
 * between the reconnects, instead of being resent forever.
 */
import t, { type Test } from 'tap';
import { ChatClient, ResendLimitError } from '../../lib/client/client.js';
import { startServer } from '../fixtures/harness.js';
import { client, clientInPty, libClient, loggedIn, loginInPty, NO_SCRIPT, passwordFile, requireScript, stripAnsi, users } from './fixtures/util.js';

requireScript(t);

/** what the library client of `id` receives */
async function inbox(t: Test, port: number, id: number): Promise<string[]> {
  const other = await libClient(t, port, id);
  const got: string[] = [];
  other.on('event', (ev) => got.push(ev.text));
  return got;
}

t.test('a message over the frame limit is refused before it is sent; the connection stays', async (t) => {
  const srv = await startServer(t);
  const [a, b] = await users(srv.port, 'zhang san', 'li si');
  const got = await inbox(t, srv.port, b!);
  const A = await loggedIn(t, srv.port, a!);
  A.type(`chat:${b}:${'x'.repeat(70_000)}`);
  await A.waitOut(/cannot send to \[\d+\]: the message is too long: its frame would be 700\d\d bytes, and the server takes at most 65536 \(--max-frame\)/);
  A.type(`chat:${b}:still here`);
  await A.waitOut('said to');
  t.same(got, ['still here'], 'only the short message went out');
  t.notMatch(A.out, 'connection lost', 'the connection was never dropped');

  // a script: a usage error (exit 1), nothing sent
  const S = client(t, ['--port', String(srv.port), '--user', String(a), '--password-file', passwordFile(t), 'send', String(b), 'x'.repeat(70_000)]);
  t.equal(await S.exitCode(), 1);
  t.match(S.err, /^chatclient: cannot send to \d+: the message is too long: its frame would be 700\d\d bytes/);
  t.same(got, ['still here']);
});

t.test('an empty message is refused, and so is a non-numeric user id before the password', async (t) => {
  const srv = await startServer(t);
  const [a, b] = await users(srv.port, 'zhang san', 'li si');
  const got = await inbox(t, srv.port, b!);

  const L = client(t, ['127.0.0.1', String(srv.port)]);
  L.type('1', 'abc');
  await L.waitOut('invalid userid! (a number, as register printed it)');
  t.notMatch(L.out, 'userpassword:', 'no password asked for');
  await L.waitOut('choice:', 8000, L.out.indexOf('invalid userid'));

  const A = await loggedIn(t, srv.port, a!);
  A.type(`chat:${b}:`, `chat:${b}:   `, 'groupchat:1:');
  await A.waitOut('groupchat command invalid! (no message after groupchat:groupid:)');
  t.equal(A.count('chat command invalid! (no message after chat:friendid:)'), 2);
  A.type(`chat:${b}:now something`);
  await A.waitOut('said to');
  t.same(got, ['now something']);
});

t.test('end of input at a prompt: the last line is ended, exit 0', async (t) => {
  const srv = await startServer(t);
  const [a] = await users(srv.port, 'zhang san');
  const A = await loggedIn(t, srv.port, a!);
  A.child.stdin!.end();
  t.equal(await A.exitCode(), 0);
  t.ok(A.out.endsWith('> \n'), `the command prompt's line is ended: ${JSON.stringify(A.out.slice(-20))}`);

  const M = client(t, ['127.0.0.1', String(srv.port)]);
  await M.waitOut('choice:');
  M.child.stdin!.end();
  t.equal(await M.exitCode(), 0);
  t.ok(M.out.endsWith('choice:\n'), `the menu prompt's line is ended: ${JSON.stringify(M.out.slice(-20))}`);
});

t.test('a send the server drops the connection on: resent a few times, further apart, then failed', async (t) => {
  // the server takes smaller frames than the client believes: it closes on the send each time
  const srv = await startServer(t, { maxFrame: 1024 });
  const [a] = await users(srv.port, 'zhang san');
  const c = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, backoffMs: [300, 5000], maxResends: 3 });
  c.on('error', () => undefined);
  t.teardown(() => c.close());
  await c.login(a!, 'pw');
  const gaps: number[] = [];
  let lost = 0;
  c.on('disconnected', () => (lost = Date.now()));
  c.on('reconnected', () => gaps.push(Date.now() - lost));
  const started = Date.now();
  const err = await c.sendTo(a!, 'y'.repeat(2000)).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, ResendLimitError, `failed: ${String(err)}`);
  // sent, resent after reconnects 1-3, failed at the 4th
  t.equal(gaps.length, 4, 'a 4th reconnect gave up on it');
  t.ok(gaps[3]! - gaps[0]! > 1000, `the reconnects came further apart: ${gaps.join(', ')} ms`);
  t.ok(Date.now() - started < 15_000);
  // and the client still works
  t.ok(c.connected || (await new Promise((r) => c.once('reconnected', () => r(true)))));
  t.match(await c.sendTo(a!, 'short'), { msgSeq: 1 });
});

t.test('the interactive client says so when it gives up on a send', async (t) => {
  const srv = await startServer(t, { maxFrame: 1024 });
  const [a, b] = await users(srv.port, 'zhang san', 'li si');
  const A = await loggedIn(t, srv.port, a!);
  A.type(`chat:${b}:${'z'.repeat(2000)}`);
  await A.waitOut(/cannot send to \[\d+\]: not sent: the connection dropped every time it went out \(4 tries\)/, 30_000);
});

t.test('Ctrl+D at a prompt in a terminal: a newline before the exit', { skip: NO_SCRIPT }, async (t) => {
  const srv = await startServer(t);
  const [a] = await users(srv.port, 'zhang san');
  const p = clientInPty(t, ['127.0.0.1', String(srv.port)]);
  await p.waitOut('choice:');
  await loginInPty(p, a!, 'pw');
  p.write('\x04');
  t.equal(await p.exitCode(), 0);
  const out = stripAnsi(p.out);
  t.ok(out.endsWith('> \r\n'), `ends with the prompt's line ended: ${JSON.stringify(out.slice(-20))}`);
});
