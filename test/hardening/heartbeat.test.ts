/**
 * The v2 idle timeout (--idle-timeout 1500 here): a v2 connection that goes silent is told
 * errno 126 and closed within the timeout plus one sweep (the server checks once a second);
 * one that PINGs (the ChatClient's heartbeat) stays; a legacy connection, which has no way to
 * ping, is never cut by it.
 */
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { delay, LineClient, startServer, waitFor } from '../fixtures/harness.js';
import { user } from '../protocol/util.js';

const IDLE = 1500;
/** the server sweeps for idle connections once a second */
const SWEEP = 1000;

t.test('a silent v2 connection is closed with errno 126; a pinging one and a legacy one stay', async (t) => {
  const srv = await startServer(t, { idleTimeoutMs: IDLE });

  // silent v2, logged in
  const silent = await user(t, srv.port, 'silent', { v2: true });
  const silentSince = performance.now();
  // silent v2, never logged in (one PING makes it v2)
  const anon = await LineClient.connect(t, srv.port);
  anon.send({ msgid: 28, v: 2, cmid: 'hello' });
  await anon.msg(29);
  const anonSince = performance.now();
  // a ChatClient that pings every 400 ms
  const pinger = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false, pingIntervalMs: 400 });
  t.teardown(() => pinger.close());
  const pid = await pinger.register('pinger', 'pw');
  await pinger.login(pid, 'pw');
  let pingerDropped = false;
  pinger.on('disconnected', () => (pingerDropped = true));
  const pingerGot: ChatEvent[] = [];
  pinger.on('event', (e) => pingerGot.push(e));
  // a legacy connection, logged in, silent
  const legacy = await user(t, srv.port, 'legacy');

  const closedAt = new Map<string, number>();
  const order: string[] = [];
  for (const [name, c] of [
    ['silent', silent.c],
    ['anon', anon],
  ] as const) {
    c.socket.on('data', (d: string) => {
      if (d.includes('"errno":126')) order.push(`${name}:126`);
    });
    c.socket.on('close', () => {
      closedAt.set(name, performance.now());
      order.push(`${name}:close`);
    });
  }

  await waitFor(() => silent.c.closed && anon.closed, IDLE + SWEEP + 2000, () => 'the silent v2 connections to be closed');
  for (const [name, c, since] of [
    ['logged-in', silent.c, silentSince],
    ['anonymous', anon, anonSince],
  ] as const) {
    const err = await c.msg(11, 100);
    t.match(err, { msgid: 11, v: 2, errno: 126, errmsg: /idle/ }, `${name}: errno 126 "idle too long" before the close`);
    const after = closedAt.get(name === 'logged-in' ? 'silent' : 'anon')! - since;
    t.ok(after >= IDLE - 50 && after <= IDLE + SWEEP + 500, `${name}: closed ${Math.round(after)} ms after its last frame (timeout ${IDLE} + one sweep ${SWEEP})`);
  }
  t.same(
    order.filter((x) => x.startsWith('silent')),
    ['silent:126', 'silent:close'],
    'the error reply came before the close',
  );

  // two more idle periods: the pinging client and the legacy one are still there
  await delay(2 * IDLE);
  t.notOk(pingerDropped, 'the pinging ChatClient was never dropped');
  t.ok(pinger.connected, 'and is connected');
  t.notOk(legacy.c.closed, 'the silent legacy connection is still open');
  legacy.c.send({ msgid: 6, id: legacy.id, toid: pid, msg: 'still here' });
  await waitFor(() => pingerGot.length === 1, 5000, () => 'the legacy message to arrive');
  t.equal(pingerGot[0]!.text, 'still here', 'the legacy connection still works, and the pinging one still receives');
  t.equal(srv.server.connectionCount, 2, 'the server holds exactly the two live connections');
});
