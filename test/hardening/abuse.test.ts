/**
 * Attacks on a default server (issue: abuse resistance). Each subtest reproduces one attack
 * that worked before its fix and checks that it no longer does, and what an honest user sees.
 */
import path from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { barrier, delay, LineClient, login, register, spawnServer, startServer, tempDir, waitFor } from '../fixtures/harness.js';
import { httpGet, MB, parseMetrics, rssBytes, selfSignedCert } from './util.js';

t.test('made-up msgids do not create metric series', async (t) => {
  const app = await startServer(t, { metricsPort: 0 });
  const scrape = async () => parseMetrics((await httpGet(app.metricsAddress!.port, '/metrics')).body);
  const series = (m: Map<string, number>) => [...m.keys()].filter((k) => k.startsWith('chat_frames_in_total{'));
  const c = await LineClient.connect(t, app.port);
  // before login, legacy: every frame is dropped unanswered, but it used to get its own series
  for (let i = 0; i < 5000; i++) c.send({ msgid: 1000 + i });
  c.send({ msgid: 4, v: 2, name: 'x'.repeat(80), password: 'p', cmid: 'v2' });
  await c.next((f) => f.msgid === 5);
  await barrier(c, true);
  const m = await scrape();
  const n = series(m).length;
  t.ok(n <= 5, `a handful of chat_frames_in_total series (${n})`);
  t.equal(m.get('chat_frames_in_total{msgid="unknown"}'), 5000, 'every made-up msgid counted under "unknown"');
  t.equal(m.get('chat_frames_in_total{msgid="4"}'), 1, 'a real msgid keeps its own label');
});

t.test('a bug is reported as an internal error, an outage as storage unavailable', async (t) => {
  const app = await startServer(t, { metricsPort: 0 });
  const scrape = async () => parseMetrics((await httpGet(app.metricsAddress!.port, '/metrics')).body);
  const c = await LineClient.connect(t, app.port);
  const id = await register(c, 'ida', 'pw', true);
  // a defect: something on the login path throws a TypeError
  const limits = app.hub.authLimits;
  const original = limits.admitLogin.bind(limits);
  limits.admitLogin = () => {
    throw new TypeError('a bug');
  };
  c.send({ msgid: 1, v: 2, id, password: 'wrong', cmid: 'l1' });
  t.match(await c.msg(2), { errno: 128, errmsg: 'internal server error', cmid: 'l1' }, 'LOGIN_MSG_ACK says internal error');
  limits.admitLogin = original;
  t.equal((await scrape()).get('chat_internal_errors_total'), 1, 'counted in chat_internal_errors_total');
  t.equal((await login(c, id, 'pw', true)).errno, 0, 'and the server goes on');

  // an outage: the database is gone
  await app.hub.store.close();
  c.send({ msgid: 26, v: 2, cmid: 'cl' });
  t.match(await c.msg(11), { errno: 114, cmid: 'cl' }, 'a request that needs the store: 114');
  t.equal((await scrape()).get('chat_internal_errors_total'), 1, 'not counted as a defect');
});

t.test('silent sockets cannot keep an honest client out', async (t) => {
  const app = await startServer(t, { maxConnections: 20, maxConnectionsPerAddress: 10, loginTimeoutMs: 1500 });
  // the attacker, from 127.0.0.1: 20 sockets that never send a byte, one v2 socket that pings and never logs in
  const silent = await Promise.all(Array.from({ length: 20 }, () => LineClient.connect(t, app.port)));
  await waitFor(() => silent.filter((c) => c.closed).length >= 10, 10_000, () => 'the sockets past the per-address cap to be closed');

  const honest = await LineClient.connect(t, app.port, '127.0.0.1', '127.0.0.2');
  const id = await register(honest, 'honest', 'pw', true);
  t.equal((await login(honest, id, 'pw', true)).errno, 0, 'a client from another address gets in and logs in');

  await waitFor(() => silent.every((c) => c.closed), 10_000, () => 'the silent sockets to be closed at the login timeout');
  t.same(silent.flatMap((c) => c.frames), [], 'a silent (legacy) socket is closed without a word');

  const pinger = await LineClient.connect(t, app.port, '127.0.0.1', '127.0.0.3');
  pinger.send({ msgid: 28, v: 2 });
  await pinger.msg(29);
  t.match(await pinger.msg(11, 10_000), { errno: 129, errmsg: 'not logged in in time, closing', reqmsgid: null }, 'a v2 one is told why');
  await pinger.waitClosed();
  t.notOk(honest.closed, 'the logged-in client stays');
});

t.test('the per-address cap: one more connection is refused, v2 is told why', async (t) => {
  const app = await startServer(t, { maxConnectionsPerAddress: 3 });
  const held = await Promise.all(Array.from({ length: 3 }, () => LineClient.connect(t, app.port)));
  const extra = await LineClient.connect(t, app.port);
  extra.send({ msgid: 28, v: 2, cmid: 'p' });
  t.match(await extra.msg(11), { errno: 130, errmsg: 'too many connections from your address' });
  await extra.waitClosed();
  held[0]!.close();
  await waitFor(() => app.server.connectionCount === 2, 5000, () => 'the closed one to leave');
  const again = await LineClient.connect(t, app.port);
  again.send({ msgid: 28, v: 2, cmid: 'p2' });
  t.match(await again.msg(29), { cmid: 'p2' }, 'a freed slot is taken again');
});

t.test('TLS: a handshake that never comes is dropped, and handshakes count against the caps', async (t) => {
  const made = selfSignedCert(t);
  if (!made) return;
  const { key, cert } = made;
  const app = await startServer(t, { tlsCert: cert, tlsKey: key, tlsHandshakeTimeoutMs: 500, maxConnectionsPerAddress: 2 });
  // plain TCP sockets that never start the handshake
  const stalled = await Promise.all([0, 1].map(() => LineClient.connect(t, app.port)));
  const third = await LineClient.connect(t, app.port);
  await third.waitClosed(2000);
  t.pass('a third handshake from the same address is dropped at once');
  const started = performance.now();
  await Promise.all(stalled.map((c) => c.waitClosed(10_000)));
  const took = performance.now() - started;
  t.ok(took < 5000, `the stalled handshakes are dropped after the handshake timeout (${Math.round(took)} ms)`);
  const ok = tls.connect({ host: '127.0.0.1', port: app.port, rejectUnauthorized: false });
  t.teardown(() => ok.destroy());
  await new Promise<void>((resolve, reject) => {
    ok.once('secureConnect', () => resolve());
    ok.once('error', reject);
  });
  ok.write('{"msgid":28,"v":2,"cmid":"tls"}\n');
  const line = await new Promise<string>((resolve) => ok.once('data', (d: Buffer) => resolve(d.toString())));
  t.match(JSON.parse(line), { msgid: 29, cmid: 'tls' }, 'then a real TLS client gets in');
});

t.test('one connection cannot make the process hold what it sends: frames queued behind slow logins', async (t) => {
  // a costly password check (~0.5 s), so that the wrong logins below keep the connection busy
  const srv = await spawnServer(t, ['--db', path.join(tempDir(t), 'chat.db'), '--scrypt-params', 'ln=14,r=8,p=16', '--login-attempts-per-account-address', '0']);
  const c = await LineClient.connect(t, srv.port);
  const id = await register(c, 'flood', 'pw', true);
  // wrong logins on four connections at once first: scrypt's 16 MiB of working memory on each
  // of libuv's four threads is part of the baseline
  const warm = await Promise.all([0, 1, 2, 3].map(() => LineClient.connect(t, srv.port)));
  const answers = await Promise.all(warm.map((w) => login(w, id, 'warm-up', true)));
  t.same(answers.map((a) => a.errno), [1, 1, 1, 1], 'four wrong logins to warm up');
  const before = rssBytes(srv.child.pid!);
  // eight more wrong logins, each a slow password check: every frame behind them waits its turn
  for (let i = 0; i < 8; i++) c.send({ msgid: 1, v: 2, id, password: `guess${i}` });
  const ping = JSON.stringify({ msgid: 28, v: 2, pad: 'x'.repeat(60_000) }) + '\n';
  let written = 0;
  let peak = before;
  const until = Date.now() + 4000;
  while (written < 3000 && Date.now() < until) {
    const more = c.socket.write(ping);
    written++;
    if (written % 50 === 0) peak = Math.max(peak, rssBytes(srv.child.pid!));
    if (!more) {
      // the server stopped reading: wait for it (or give up once the time is over)
      await Promise.race([new Promise((r) => c.socket.once('drain', r)), delay(Math.max(0, until - Date.now()))]);
    }
  }
  peak = Math.max(peak, rssBytes(srv.child.pid!));
  const grew = (peak - before) / MB;
  t.ok(grew < 40, `the server's memory grew by ${grew.toFixed(1)} MiB with ${written} frames of 60 KB written (before the fix: hundreds)`);
  t.ok(written < 3000, `the server stopped reading: only ${written} of 3,000 frames went out in 4 s`);
  // an honest client on another connection is not held up
  const other = await LineClient.connect(t, srv.port);
  other.send({ msgid: 28, v: 2, cmid: 'other' });
  t.match(await other.msg(29), { cmid: 'other' }, 'another connection is answered at once');
});
