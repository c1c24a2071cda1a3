/**
 * The v2 idle timeout (--idle-timeout 1500 here): a v2 connection that goes silent is told
 * errno 126 and closed within the timeout plus one sweep (the server checks once a second);
 * one that PINGs (the ChatClient's heartbeat) stays; a legacy connection, which has no way to
 * ping, is never cut by it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { LineClient, login, register, startServer, waitFor, type Json } from '../fixtures/harness.js';
import { user } from '../protocol/util.js';

const IDLE = 1500;
/** the server sweeps for idle connections once a second */
const SWEEP = 1000;

/**
 * Sends a connection's last frame and waits for its answer: the server (in this process, on
 * this clock) took the frame between `sent` and `answered`, and its idle time counts from then.
 */
async function lastFrame(send: () => Promise<Json>): Promise<{ sent: number; answered: number }> {
  const sent = performance.now();
  await send();
  return { sent, answered: performance.now() };
}

t.test('a silent v2 connection is closed with errno 126; a pinging one and a legacy one stay', async (t) => {
  const srv = await startServer(t, { idleTimeoutMs: IDLE });
  // the server's timers run on this event loop: how late they may fire is what it is here
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  t.teardown(() => lag.disable());

  // the close of each silent connection, and whether errno 126 came first
  const closedAt = new Map<string, number>();
  const order: string[] = [];
  const watch = (name: string, c: LineClient) => {
    c.socket.on('data', (d: string) => {
      if (d.includes('"errno":126')) order.push(`${name}:126`);
    });
    c.socket.on('close', () => {
      closedAt.set(name, performance.now());
      order.push(`${name}:close`);
    });
  };
  // silent v2, logged in
  const silentC = await LineClient.connect(t, srv.port);
  watch('silent', silentC);
  const silentId = await register(silentC, 'silent', 'secret', true);
  const silentLast = await lastFrame(() => login(silentC, silentId, 'secret', true));
  // silent v2, never logged in (one PING makes it v2)
  const anon = await LineClient.connect(t, srv.port);
  watch('anon', anon);
  const anonLast = await lastFrame(() => {
    anon.send({ msgid: 28, v: 2, cmid: 'hello' });
    return anon.msg(29);
  });

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

  // a v2 connection silent from after the pinger's and the legacy one's last frames: once the
  // server has closed it, they too have been idle for longer than the timeout
  const canary = await LineClient.connect(t, srv.port);
  canary.send({ msgid: 28, v: 2, cmid: 'canary' });
  await canary.msg(29);

  // the bound only ends a hang: the timing itself is checked below
  await waitFor(() => silentC.closed && anon.closed, 30_000, () => 'the silent v2 connections to be closed');
  const late = lag.max / 1e6;
  for (const [name, c, last] of [
    ['logged-in', silentC, silentLast],
    ['anonymous', anon, anonLast],
  ] as const) {
    const err = await c.msg(11, 100);
    t.match(err, { msgid: 11, v: 2, errno: 126, errmsg: /idle/ }, `${name}: errno 126 "idle too long" before the close`);
    const closed = closedAt.get(name === 'logged-in' ? 'silent' : 'anon')!;
    t.ok(closed - last.sent >= IDLE, `${name}: closed ${Math.round(closed - last.sent)} ms after its last frame was sent (timeout ${IDLE})`);
    t.ok(
      closed - last.answered <= IDLE + SWEEP + late + 250,
      `${name}: closed ${Math.round(closed - last.answered)} ms after its last frame was answered (timeout ${IDLE} + one sweep ${SWEEP} + timers late by up to ${Math.round(late)})`,
    );
  }
  t.same(
    order.filter((x) => x.startsWith('silent')),
    ['silent:126', 'silent:close'],
    'the error reply came before the close',
  );

  await waitFor(() => canary.closed, 30_000, () => 'the canary to be closed');
  t.notOk(pingerDropped, 'the pinging ChatClient was never dropped');
  t.ok(pinger.connected, 'and is connected');
  t.notOk(legacy.c.closed, 'the silent legacy connection is still open');
  legacy.c.send({ msgid: 6, id: legacy.id, toid: pid, msg: 'still here' });
  await waitFor(() => pingerGot.length === 1, 10_000, () => 'the legacy message to arrive');
  t.equal(pingerGot[0]!.text, 'still here', 'the legacy connection still works, and the pinging one still receives');
  t.equal(srv.server.connectionCount, 2, 'the server holds exactly the two live connections');
});
