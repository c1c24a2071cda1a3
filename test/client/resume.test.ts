/**
 * ChatClient reconnects with its session token alone (no password, so the server hashes
 * nothing), and logs in with the password when the token is refused (expired or revoked).
 */
import t from 'tap';
import type { WireConnection, WireFrame } from '../../lib/client/connection.js';
import { startServer } from '../fixtures/harness.js';
import { ChatReplyError } from '../../lib/client/client.js';
import { StorageError } from '../../lib/errors.js';
import { captureWires, chatClient, pairConv, PW, registerUser, until } from '../ordering/util.js';

/** the LOGIN frames a wire sent */
function recordLogins(w: WireConnection): WireFrame[] {
  const logins: WireFrame[] = [];
  const send = w.send.bind(w);
  w.send = (f: WireFrame) => {
    if (f.msgid === 1) logins.push(f);
    send(f);
  };
  return logins;
}

/** the LOGIN frames of each wire opened from now on, recorded from the moment it opens */
function loginsOfNewWires(capture: ReturnType<typeof captureWires>): WireFrame[][] {
  const logins: WireFrame[][] = [];
  const original = capture.wires.push.bind(capture.wires);
  capture.wires.push = (...ws: WireConnection[]) => {
    for (const w of ws) logins.push(recordLogins(w));
    return original(...ws);
  };
  return logins;
}

t.test('a reconnect resumes with the token alone; a refused token falls back to the password', async (t) => {
  const srv = await startServer(t);
  const amy = await registerUser(t, srv.port, 'amy');
  const capture = captureWires();
  t.teardown(() => capture.restore());
  const client = await chatClient(t, srv.port, { backoffMs: [50, 50] });
  let reconnected = 0;
  client.on('reconnected', () => reconnected++);
  await client.login(amy, PW);

  const logins = loginsOfNewWires(capture);
  capture.wires[0]!.close();
  await until(() => reconnected === 1, 20_000, () => 'the first reconnect');
  t.equal(logins[0]!.length, 1, 'one LOGIN');
  t.match(logins[0]![0], { msgid: 1, v: 2, id: amy, token: /^[A-Za-z0-9_-]{43}$/ }, 'with the token');
  t.notOk('password' in logins[0]![0]!, 'and no password');

  t.equal(await srv.hub.store.revokeUserSessionTokens(amy), 1, 'the token is revoked behind its back');
  capture.wires[1]!.close();
  await until(() => reconnected === 2, 20_000, () => 'the second reconnect');
  t.equal(logins[1]!.length, 2, 'two LOGINs');
  t.notOk('password' in logins[1]![0]!, 'the token first');
  t.match(logins[1]![1], { msgid: 1, id: amy, password: PW }, 'then the password');
  t.notOk('token' in logins[1]![1]!);
  t.equal(client.userId, amy, 'logged in again');
  t.same(client.errors, []);
});

t.test('a resume refused "not now" (storage unavailable) is tried again on the same connection; sends made meanwhile go out once after it', async (t) => {
  const srv = await startServer(t);
  const amy = await registerUser(t, srv.port, 'amy');
  const ben = await registerUser(t, srv.port, 'ben');
  const capture = captureWires();
  t.teardown(() => capture.restore());
  const client = await chatClient(t, srv.port, { backoffMs: [50, 50], resendAfterMs: 30 });
  let reconnected = 0;
  client.on('reconnected', () => reconnected++);
  await client.login(amy, PW);

  // the token lookup fails twice, as when MariaDB is away
  const store = srv.hub.store;
  const rotate = store.rotateSessionToken.bind(store);
  let failures = 2;
  store.rotateSessionToken = (...args) => (failures-- > 0 ? Promise.reject(new StorageError('rotateSessionToken', new Error('MariaDB is away'))) : rotate(...args));
  t.teardown(() => {
    store.rotateSessionToken = rotate;
  });
  const logins = loginsOfNewWires(capture);
  capture.wires[0]!.close();
  // a send while it resumes: not sent on the new connection before its session is back
  await until(() => logins.length === 1, 20_000, () => 'the new connection');
  const sent = client.sendTo(ben, 'while resuming');
  await until(() => reconnected === 1, 20_000, () => 'the reconnect');
  t.equal(logins.length, 1, 'one new connection');
  t.equal(logins[0]!.length, 3, 'three LOGINs on it: two refused, the third resumes');
  t.same(
    client.errors.map((e) => (e instanceof ChatReplyError ? e.errno : e.message)),
    [114, 114],
    'the two refusals reach the error event',
  );
  const ack = await sent;
  t.equal(ack.duplicate, false, 'the send is acked');
  t.equal(client.userId, amy, 'logged in again');
  const stored = (await store.readRange(pairConv(amy, ben), 0, 1000, 100)).filter((e) => e.text === 'while resuming');
  t.equal(stored.length, 1, 'stored once');
});
