/**
 * Session resume: a v2 client that reconnects with its token replaces its stale session at
 * once (the old connection, if the server still holds it open, gets NOTICE 30 "replaced" and is
 * closed), so the user's session count does not grow; at most 5 sessions, the 6th fresh login
 * gets errno 112 while a resume at the limit still works. Also across two processes.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { App } from '../../lib/app.js';
import { clusterEnv } from '../fixtures/cluster.js';
import { LineClient, startServer, waitForAsync, type Json } from '../fixtures/harness.js';
import { chatClient, pairConv, Proxy, PW, rawLogin, recordStream, registerUser, reqV2, until } from './util.js';

t.setTimeout(60_000);

function localSessions(srv: App, id: number): number {
  return [...srv.hub.localSessions(id)].filter((s) => !s.ended).length;
}

async function presenceCount(srv: App, id: number): Promise<number> {
  return (await srv.hub.presence.sessionsOf([id])).get(id)?.length ?? 0;
}

/** a v2 LOGIN on a new raw connection, optionally resuming `token`; returns the ack */
async function v2Login(t: Test, port: number, id: number, token?: string): Promise<{ c: LineClient; ack: Json }> {
  const c = await LineClient.connect(t, port);
  c.send({ msgid: 1, v: 2, id, password: PW, ...(token ? { token } : {}) });
  return { c, ack: await c.msg(2) };
}

t.test('a resume with the token replaces the old session on a still-open connection', async (t) => {
  const srv = await startServer(t);
  const [amy, bob] = await Promise.all(['amy', 'bob'].map((n) => registerUser(t, srv.port, n)));
  const first = await v2Login(t, srv.port, amy!);
  t.equal(first.ack.errno, 0);
  const token = first.ack.token as string;
  t.type(token, 'string', 'the v2 login reply carries a session token');
  t.equal(localSessions(srv, amy!), 1);

  const second = await v2Login(t, srv.port, amy!, token);
  t.equal(second.ack.errno, 0, 'the resume is accepted');
  t.not(second.ack.token, token, 'with a new token');
  t.match(await first.c.msg(30), { msgid: 30, v: 2, notice: 'replaced' }, 'the old connection is told it was replaced');
  await first.c.waitClosed();
  t.pass('and closed');
  t.equal(localSessions(srv, amy!), 1, 'still one session');
  t.equal(await presenceCount(srv, amy!), 1, 'presence says one');

  // the new session gets the pushes
  const B = (await rawLogin(t, srv.port, bob!, true)).c;
  await reqV2(B, { msgid: 6, toid: amy, msg: 'to the resumed session' });
  t.match(await second.c.msg(6), { msg: 'to the resumed session', msgSeq: 1 });

  // an old token (already replaced) replaces nothing: that login is a new session beside
  const third = await v2Login(t, srv.port, amy!, token);
  t.equal(third.ack.errno, 0, 'a stale token still logs in');
  t.equal(localSessions(srv, amy!), 2, 'as one more session');
  t.equal(second.c.frames.filter((f) => f.msgid === 30).length, 0, 'without ending the live one');
});

t.test('ChatClient behind a half-dead connection: the reconnect replaces the session the server still holds', async (t) => {
  const srv = await startServer(t);
  const [amy, bob] = await Promise.all(['amy', 'bob'].map((n) => registerUser(t, srv.port, n)));
  const proxy = await Proxy.start(t, srv.port);
  const client = await chatClient(t, proxy.port, { backoffMs: [100, 100] });
  const stream = recordStream(client);
  await client.login(amy!, PW);
  let reconnected = 0;
  client.on('reconnected', () => reconnected++);
  const B = (await rawLogin(t, srv.port, bob!, true)).c;
  await reqV2(B, { msgid: 6, toid: amy, msg: 'before' });
  await until(() => client.appliedSeq(pairConv(amy!, bob!)) === 1, 20_000, () => 'first');

  // the client's side of the connection dies; the server's side stays open (no FIN, no RST)
  const [stale] = proxy.orphan();
  await until(() => reconnected === 1, 20_000, () => 'reconnect');
  t.pass('the client reconnected and resumed');
  await until(() => stale!.upstreamClosed, 20_000, () => `the stale connection to close; it got ${stale!.orphanText}`);
  const notices = stale!.orphanText
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json)
    .filter((f) => f.msgid === 30);
  t.match(notices, [{ msgid: 30, notice: 'replaced' }], 'the stale session got NOTICE replaced, then its connection was closed');
  t.equal(localSessions(srv, amy!), 1, 'the user has one session, not two');
  t.equal(await presenceCount(srv, amy!), 1);

  await reqV2(B, { msgid: 6, toid: amy, msg: 'after' });
  await until(() => client.appliedSeq(pairConv(amy!, bob!)) === 2, 20_000, () => 'second');
  t.same(
    stream.get(pairConv(amy!, bob!))!.map((e) => [e.seq, e.text]),
    [
      [1, 'before'],
      [2, 'after'],
    ],
    'the resumed client goes on, once each',
  );
  t.same(client.errors, []);
});

t.test('at most 5 sessions: the 6th fresh login gets 112, a resume at the limit works', async (t) => {
  const srv = await startServer(t);
  const [amy, bob] = await Promise.all(['amy', 'bob'].map((n) => registerUser(t, srv.port, n)));
  const sessions: Array<{ c: LineClient; ack: Json }> = [];
  for (let i = 0; i < 5; i++) {
    const s = await v2Login(t, srv.port, amy!);
    t.equal(s.ack.errno, 0, `session ${i + 1} of 5`);
    sessions.push(s);
  }
  const sixth = await v2Login(t, srv.port, amy!);
  t.match(sixth.ack, { msgid: 2, errno: 112 }, 'the 6th: 112 too many sessions');
  t.equal(sixth.c.closed, false, 'the refused connection stays open');
  const bobs = await v2Login(t, srv.port, bob!);
  t.match((await v2Login(t, srv.port, amy!, bobs.ack.token as string)).ack, { errno: 112 }, "another user's token replaces nothing: 112");
  t.match((await v2Login(t, srv.port, amy!, 'no-such-token')).ack, { errno: 112 }, 'nor does an unknown one');
  t.match((await rawLogin(t, srv.port, amy!, false).catch((e: Error) => ({ ack: { errno: Number(/"errno":(\d+)/.exec(e.message)?.[1]) } }))).ack, { errno: 2 }, 'a legacy login beside them: 2 (account in use)');

  const resumed = await v2Login(t, srv.port, amy!, sessions[2]!.ack.token as string);
  t.equal(resumed.ack.errno, 0, 'resuming session 3 at the limit is accepted');
  t.match(await sessions[2]!.c.msg(30), { notice: 'replaced' });
  await sessions[2]!.c.waitClosed();
  t.equal(localSessions(srv, amy!), 5, 'still five');
  t.match((await v2Login(t, srv.port, amy!)).ack, { errno: 112 }, 'and a fresh one is still refused');

  // a logout frees a place
  t.match(await reqV2(sessions[0]!.c, { msgid: 3 }), { errno: 0 });
  await waitForAsync(async () => (await presenceCount(srv, amy!)) === 4, 20_000, () => 'the logout to free its place');
  t.equal((await v2Login(t, srv.port, amy!)).ack.errno, 0, 'after a logout a fresh login fits again');
  t.equal(localSessions(srv, amy!), 5);
});

t.test('across processes: the resume on one process ends the stale session on the other', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const nodes = await Promise.all([env.node(['--max-sessions', '2']), env.node(['--max-sessions', '2'])]);
  const [amy, bob] = await Promise.all(['amy', 'bob'].map((n, i) => registerUser(t, nodes[i]!.port, n)));
  const keep = await v2Login(t, nodes[0]!.port, amy!);
  let cur = await v2Login(t, nodes[0]!.port, amy!);
  t.equal(cur.ack.errno, 0);
  t.match((await v2Login(t, nodes[1]!.port, amy!)).ack, { errno: 112 }, 'two sessions is the limit here, cluster-wide');
  for (let i = 0; i < 4; i++) {
    const node = (i + 1) % 2;
    const next = await v2Login(t, nodes[node]!.port, amy!, cur.ack.token as string);
    t.equal(next.ack.errno, 0, `resume ${i + 1}, on process ${node}: accepted at the limit`);
    t.match(await cur.c.msg(30), { notice: 'replaced' }, 'the old session, wherever it was, is told');
    await cur.c.waitClosed();
    cur = next;
  }
  t.match((await v2Login(t, nodes[1]!.port, amy!)).ack, { errno: 112 }, 'the count never grew: a fresh login is still refused');
  // pushes reach both live sessions once
  const B = (await rawLogin(t, nodes[1]!.port, bob!, true)).c;
  await reqV2(B, { msgid: 6, toid: amy, msg: 'to both devices' });
  t.match(await keep.c.msg(6), { msg: 'to both devices' });
  t.match(await cur.c.msg(6), { msg: 'to both devices' });
  // a second copy would come before the next message
  await reqV2(B, { msgid: 6, toid: amy, msg: 'next' });
  t.match(await keep.c.msg(6, 20_000), { msg: 'next' });
  t.match(await cur.c.msg(6, 20_000), { msg: 'next' });
  t.equal([...keep.c.frames, ...cur.c.frames].filter((f) => f.msgid === 6).length, 0, 'once each');
});
