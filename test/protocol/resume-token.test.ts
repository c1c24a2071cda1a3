/**
 * v2 session tokens as resume credentials: a LOGIN with `token` and no password resumes, on
 * any process of a cluster; each resume rotates the token (the presented one is dead after);
 * tokens expire after --token-ttl, die with LOGINOUT, are stored only as SHA-256 hashes; and a
 * token that resumes nothing counts against the login budgets like a wrong password.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { clusterEnv } from '../fixtures/cluster.js';
import { LineClient, startServer, tempDir, type Json } from '../fixtures/harness.js';
import { PW, rawLogin, registerUser, reqV2 } from '../ordering/util.js';

t.setTimeout(60_000);

/** a v2 LOGIN on a new connection with just `id` and `token` (and `password` when given) */
async function resume(t: Test, port: number, id: number, token: string, password?: string): Promise<{ c: LineClient; ack: Json }> {
  const c = await LineClient.connect(t, port);
  c.send({ msgid: 1, v: 2, id, token, ...(password !== undefined ? { password } : {}) });
  return { c, ack: await c.msg(2) };
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

t.test('a token resumes without the password, once: each resume gets the next token', async (t) => {
  const srv = await startServer(t);
  const amy = await registerUser(t, srv.port, 'amy');
  const first = await rawLogin(t, srv.port, amy, true);
  const token = first.ack.token as string;
  t.match(token, /^[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');

  const second = await resume(t, srv.port, amy, token);
  t.match(second.ack, { msgid: 2, errno: 0, id: amy, name: 'amy' }, 'resumed with no password');
  const next = second.ack.token as string;
  t.match(next, /^[A-Za-z0-9_-]{43}$/);
  t.not(next, token, 'a fresh token');
  t.match(await first.c.msg(30), { notice: 'replaced' }, "the device's old session is replaced");

  t.match((await resume(t, srv.port, amy, token)).ack, { errno: 1, errmsg: 'id or password is invalid!' }, 'the presented token is retired');
  const withPw = await resume(t, srv.port, amy, token, PW);
  t.match(withPw.ack, { errno: 0 }, 'a retired token with the right password: a password login');
  t.notOk(second.c.frames.some((f) => f.msgid === 30), 'beside the resumed session, not replacing it');
  t.match((await resume(t, srv.port, amy, next, 'wrong password')).ack, { errno: 0 }, 'a live token is tried first, whatever the password');
});

t.test('tokens are stored only as SHA-256 hashes, per user and device', async (t) => {
  const db = path.join(tempDir(t), 'chat.db');
  const srv = await startServer(t, { db });
  const amy = await registerUser(t, srv.port, 'amy');
  const a = await rawLogin(t, srv.port, amy, true);
  const b = await resume(t, srv.port, amy, a.ack.token as string);
  const token = b.ack.token as string;
  const file = new Database(db, { readonly: true });
  t.teardown(() => file.close());
  const rows = file.prepare<[], Record<string, unknown>>('SELECT * FROM session_tokens').all();
  t.equal(rows.length, 1, 'one device: the rotation replaced its row');
  t.match(rows[0], { hash: sha256(token), user_id: amy, device: String, created: Number, expires: Number, last_used: Number });
  t.notOk(JSON.stringify(rows).includes(token), 'the token itself is not stored');
  t.notOk(JSON.stringify(rows).includes(a.ack.token as string), 'nor the retired one');
});

t.test('a token expires --token-ttl after it was issued', async (t) => {
  let clock = Date.now();
  const srv = await startServer(t, { tokenTtlMs: 60_000 }, { now: () => clock });
  const amy = await registerUser(t, srv.port, 'amy');
  const token = (await rawLogin(t, srv.port, amy, true)).ack.token as string;
  clock += 59_999;
  const resumed = await resume(t, srv.port, amy, token);
  t.match(resumed.ack, { errno: 0 }, 'valid just before');
  clock += 60_000;
  t.match((await resume(t, srv.port, amy, resumed.ack.token as string)).ack, { errno: 1 }, 'expired 60 s after it was issued');
});

t.test('LOGINOUT revokes the session token', async (t) => {
  const srv = await startServer(t);
  const amy = await registerUser(t, srv.port, 'amy');
  const a = await rawLogin(t, srv.port, amy, true);
  const other = await rawLogin(t, srv.port, amy, true);
  t.match(await reqV2(a.c, { msgid: 3 }), { errno: 0 });
  t.match((await resume(t, srv.port, amy, a.ack.token as string)).ack, { errno: 1 }, 'the logged-out token resumes nothing');
  t.match((await resume(t, srv.port, amy, other.ack.token as string)).ack, { errno: 0 }, "the other device's token still works");
});

t.test('a token that resumes nothing counts against the login budget; a live one is not counted', async (t) => {
  const srv = await startServer(t, { loginAttemptsPerAccountAddress: 3 });
  const amy = await registerUser(t, srv.port, 'amy');
  const live = (await rawLogin(t, srv.port, amy, true)).ack.token as string;
  for (let i = 0; i < 2; i++) t.match((await resume(t, srv.port, amy, 'x'.repeat(43))).ack, { errno: 1 }, `bad token ${i + 1}: errno 1`);
  t.match((await resume(t, srv.port, amy, 'not a token')).ack, { errno: 1 }, 'a malformed one too');
  t.match((await resume(t, srv.port, amy, 'y'.repeat(43))).ack, { errno: 118, retryAfterMs: Number }, 'the fourth: the budget is spent');
  t.match((await resume(t, srv.port, amy, 'y'.repeat(43), PW)).ack, { errno: 118 }, 'so is a password login');
  t.match((await resume(t, srv.port, amy, live)).ack, { errno: 0 }, "the owner's live token still resumes");
});

t.test('a legacy LOGIN needs its password; a token does not stand in for it', async (t) => {
  const srv = await startServer(t);
  const amy = await registerUser(t, srv.port, 'amy');
  const token = (await rawLogin(t, srv.port, amy, true)).ack.token as string;
  const c = await LineClient.connect(t, srv.port);
  c.send({ msgid: 1, id: amy, token });
  t.match(await c.msg(2), { errno: 1, msgid: 2 });
});

t.test('cluster: after its process is killed, a session resumes with its token on another process', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const nodes = await Promise.all([env.node(), env.node()]);
  const [amy, bob] = await Promise.all(['amy', 'bob'].map((n) => registerUser(t, nodes[0]!.port, n)));
  const a = await rawLogin(t, nodes[0]!.port, amy!, true);
  nodes[0]!.child.kill('SIGKILL');
  await a.c.waitClosed();
  const resumed = await resume(t, nodes[1]!.port, amy!, a.ack.token as string);
  t.match(resumed.ack, { errno: 0, id: amy }, 'resumed on the other process without the password');
  const B = (await rawLogin(t, nodes[1]!.port, bob!, true)).c;
  await reqV2(B, { msgid: 6, toid: amy, msg: 'welcome back' });
  t.match(await resumed.c.msg(6), { msg: 'welcome back' }, 'and delivering');
  t.match((await resume(t, nodes[1]!.port, amy!, a.ack.token as string)).ack, { errno: 1 }, 'the token it presented is retired cluster-wide');
});
