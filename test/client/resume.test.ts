/**
 * ChatClient reconnects with its session token alone (no password, so the server hashes
 * nothing), and logs in with the password when the token is refused (expired or revoked).
 */
import t from 'tap';
import type { WireConnection, WireFrame } from '../../lib/client/connection.js';
import { startServer } from '../fixtures/harness.js';
import { captureWires, chatClient, PW, registerUser, until } from '../ordering/util.js';

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

t.test('a reconnect resumes with the token alone; a refused token falls back to the password', async (t) => {
  const srv = await startServer(t);
  const amy = await registerUser(t, srv.port, 'amy');
  const capture = captureWires();
  t.teardown(() => capture.restore());
  const client = await chatClient(t, srv.port, { backoffMs: [50, 50] });
  let reconnected = 0;
  client.on('reconnected', () => reconnected++);
  await client.login(amy, PW);

  // each wire's LOGINs are recorded from the moment it opens
  const logins: WireFrame[][] = [];
  const original = capture.wires.push.bind(capture.wires);
  capture.wires.push = (...ws: WireConnection[]) => {
    for (const w of ws) logins.push(recordLogins(w));
    return original(...ws);
  };
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
