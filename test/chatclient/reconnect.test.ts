/**
 * A dropped connection: the server (a real bin/chatserver with a fixed --db) is stopped and a
 * new one started on the same port. The interactive clients say so once, briefly, reconnect,
 * and a message typed during the outage arrives exactly once; so does one sent after it. A
 * tail keeps running through the outage.
 */
import path from 'node:path';
import t from 'tap';
import { delay, tempDir, waitFor } from '../fixtures/harness.js';
import { client, loggedIn, passwordFile, serverOn, users } from './fixtures/util.js';

t.test('server restart: notices, resend, exactly once', async (t) => {
  const db = path.join(tempDir(t), 'chat.db');
  let srv = await serverOn(t, db);
  const port = srv.port;
  const [a, b] = await users(port, 'ann', 'ben');
  const A = await loggedIn(t, port, a!);
  const B = await loggedIn(t, port, b!);
  const tail = client(t, ['--port', String(port), '--user', String(b), '--password-file', passwordFile(t), 'tail', '--json']);
  // the tail is a second device of ben's: it gets what arrives once it is logged in
  await waitFor(() => srv.logs().split('"logged in"').length - 1 >= 3, 10_000, () => srv.logs());
  A.type(`chat:${b}:before`);
  await B.waitOut('said: before #1');
  await tail.waitOut('"text":"before"');

  t.equal(await srv.stop('SIGTERM'), 0, 'the server stopped');
  await A.waitOut('[connection lost, reconnecting…]');
  await B.waitOut('[connection lost, reconnecting…]');
  A.type(`chat:${b}:during the outage`);
  await A.waitOut('[not connected: the message will be sent when the connection is back]');
  await delay(300);

  srv = await serverOn(t, db, port);
  await A.waitOut('[reconnected]', 15_000);
  await B.waitOut('[reconnected]', 15_000);
  await B.waitOut(/said: during the outage #2\n/, 10_000);
  A.type(`chat:${b}:after`);
  await B.waitOut('said: after #3');
  B.type(`chat:${a}:back to you`);
  await A.waitOut('said: back to you #4');
  // #3 and #4 came after the resent #2 on every screen: a second copy of it would have been before them
  await waitFor(() => tail.out.includes('"text":"back to you"') && tail.out.endsWith('\n'), 20_000, () => tail.out);

  t.equal(A.count('[connection lost, reconnecting…]'), 1, 'told once');
  t.equal(A.count('[reconnected]'), 1);
  t.equal(B.count('during the outage'), 1, 'the message typed during the outage arrived exactly once');
  t.equal(A.count('during the outage #2'), 1, 'and its sender shows it once');
  t.equal(B.count('said: after #3'), 1);
  t.equal(B.count('said: before #1'), 1);
  const seqs = tail.out
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { seq: number }).seq);
  t.same(seqs, [1, 2, 3, 4], 'tail: every message once, in order, through the outage');
  t.match(tail.err, '[connection lost, reconnecting…]\n[reconnected]\n');

  // the store kept everything across the restart
  B.type(`history:${a}`);
  await B.waitOut(`#1-#4 of 4`);
  A.type('quit');
  B.type('quit');
  t.equal(await A.exitCode(), 0);
  t.equal(await B.exitCode(), 0);
  tail.kill('SIGTERM');
  t.equal(await tail.exitCode(), 0, 'tail exits 0 when killed with SIGTERM');
});
