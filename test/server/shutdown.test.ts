/**
 * Graceful shutdown of a real process: SIGTERM -> v2 clients get NOTICE (msgid 30) before the
 * socket closes, legacy clients just see the close, exit code 0, and nothing acked is lost.
 * Runs the compiled server (bin/chatserver -> dist): build first.
 */
import path from 'node:path';
import t from 'tap';
import { LineClient, login, spawnServer, tempDir, waitFor, type Json } from '../fixtures/harness.js';
import { registerOnly, syncAll, user } from '../protocol/util.js';

t.test('SIGTERM: NOTICE to v2 clients before the close, exit code 0', async (t) => {
  const dir = tempDir(t);
  const srv = await spawnServer(t, ['--db', path.join(dir, 'chat.db')]);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const a2 = await LineClient.connect(t, srv.port);
  t.equal((await login(a2, a.id, 'secret', true)).errno, 0);
  const legacy = await user(t, srv.port, 'bob');
  // v2 but not logged in
  const anon = await LineClient.connect(t, srv.port);
  anon.send({ msgid: 28, v: 2, cmid: 'p' });
  await anon.msg(29);

  const order: Array<[string, string]> = [];
  const watch = (name: string, c: LineClient) => {
    c.socket.on('data', (d: string) => {
      if (d.includes('"msgid":30')) order.push([name, 'notice']);
    });
    c.socket.on('close', () => order.push([name, 'close']));
  };
  watch('a', a.c);
  watch('a2', a2);
  watch('anon', anon);
  watch('legacy', legacy.c);

  const code = await srv.stop('SIGTERM');
  t.equal(code, 0, 'exit code 0');
  for (const c of [a.c, a2, anon, legacy.c]) await c.waitClosed();
  for (const [name, c] of [
    ['a', a.c],
    ['a2', a2],
    ['anon', anon],
  ] as const) {
    const n = await c.msg(30, 100);
    t.match(n, { msgid: 30, v: 2, notice: 'shutdown', errno: 122 }, `${name}: a NOTICE`);
    t.type(n.errmsg, 'string');
    t.same(
      order.filter(([who]) => who === name).map(([, what]) => what),
      ['notice', 'close'],
      `${name}: the notice came before the close`,
    );
  }
  t.same(legacy.c.frames, [], 'legacy: no notice, just the close');
  t.match(srv.logs(), /shutting down/);
});

t.test('SIGTERM while messages are in flight: every acked message is in the log after a restart', async (t) => {
  const dir = tempDir(t);
  const db = path.join(dir, 'chat.db');
  const srv = await spawnServer(t, ['--db', db]);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const bId = await registerOnly(t, srv.port, 'bob');
  // a steady stream of sends until the server closes the connection: 20 frames every 10 ms,
  // well under the per-connection frame rate limit (5000/s)
  let sent = 0;
  const writer = (async () => {
    while (!a.c.closed && sent < 20_000) {
      a.c.raw(Array.from({ length: 20 }, () => JSON.stringify({ msgid: 6, v: 2, toid: bId, msg: `m${sent}`, cmid: `c${sent++}` }) + '\n').join(''));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  // stop once 100 messages are acked, with more still coming
  await waitFor(() => a.c.frames.some((f) => f.msgid === 12 && f.cmid === 'c99'), 20_000, () => 'the first 100 acks');
  const code = await srv.stop('SIGTERM');
  t.equal(code, 0);
  await a.c.waitClosed();
  await writer;
  // every ack that came before the close
  const acked = new Map<string, Json>();
  for (const f of a.c.frames) if (f.msgid === 12) acked.set(f.cmid as string, f);
  t.ok(a.c.frames.some((f) => f.msgid === 30), 'a NOTICE came');
  t.same(
    a.c.frames.filter((f) => f.msgid === 11 && f.errno !== 105 && f.errno !== 122),
    [],
    'no failures other than "log in first"/"shutting down" for frames after the shutdown began',
  );

  const again = await spawnServer(t, ['--db', db]);
  const c = await LineClient.connect(t, again.port);
  t.equal((await login(c, a.id, 'secret', true)).errno, 0);
  const conv = `p:${Math.min(a.id, bId)}:${Math.max(a.id, bId)}`;
  const { events } = await syncAll(c, conv, 500);
  t.comment(`sent ${sent}, acked ${acked.size}, the log holds ${events.length}`);
  t.ok(acked.size >= 100, 'at least the 100 acks waited for');
  const byCmid = new Map(events.map((e) => [e.cmid as string, e]));
  t.ok(byCmid.has('c0'), 'the first acked message is there');
  const lost = [...acked].filter(([cmid, ack]) => {
    const e = byCmid.get(cmid);
    return !e || e.msgSeq !== ack.msgSeq || e.mid !== ack.mid;
  });
  t.same(lost, [], `all ${acked.size} acked messages persisted at their acked seq`);
  t.ok(events.length >= acked.size, 'the log holds at least what was acked');
  t.same(
    events.map((e) => e.msgSeq),
    events.map((_, i) => i + 1),
    'the log has no holes',
  );
  t.same(
    events.map((e) => e.msg),
    events.map((_, i) => `m${i}`),
    'in send order',
  );
  t.equal(await again.stop('SIGTERM'), 0);
});
