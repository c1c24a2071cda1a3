/**
 * The client library and the console client's lines for disappearing messages: a timer event,
 * a message with its expiry, the expire event, and the tombstone a sync returns.
 */
import t, { type Test } from 'tap';
import { eventLine } from '../../lib/cli/client/format.js';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { startServer, waitFor } from '../fixtures/harness.js';

async function client(t: Test, port: number): Promise<ChatClient> {
  const c = await ChatClient.connect({ host: '127.0.0.1', port });
  t.teardown(() => c.close());
  return c;
}

t.test('timer, expiring message and expiry as client events and console lines', async (t) => {
  const srv = await startServer(t, { expiryIntervalMs: 50 });
  const ann = await client(t, srv.port);
  const ben = await client(t, srv.port);
  const ida = await ann.register('ann', 'pw');
  const idb = await ann.register('ben', 'pw');
  await ann.login(ida, 'pw');
  await ben.login(idb, 'pw');
  const seen: ChatEvent[] = [];
  ben.on('event', (e) => seen.push(e));
  const conv = `p:${ida}:${idb}`;
  t.match(await ann.setTimer(conv, 1), { errno: 0, ttl: 1, msgSeq: 1 });
  const sent = await ann.sendTo(idb, 'soon gone');
  await waitFor(() => seen.some((e) => e.kind === 'expire'), 20_000, () => JSON.stringify(seen));
  const [timer, msg, expiry] = seen;
  t.match(timer, { kind: 'timer', seq: 1, ttl: 1 });
  t.match(msg, { kind: 'chat', seq: sent.msgSeq, text: 'soon gone', expiresAt: sent.ts + 1000 });
  t.match(expiry, { kind: 'expire', seq: 3, expiredSeq: sent.msgSeq });
  const names = { name: (id: number) => (id === ida ? 'ann' : 'ben'), groupName: () => undefined };
  const line = (ev: ChatEvent) => eventLine(ev, { me: idb, names, english: true });
  t.equal(line(timer!), `${timer!.time} [${ida}]ann set disappearing messages to 1 s`);
  t.equal(line(expiry!), `${expiry!.time} #${sent.msgSeq} expired`);
  t.equal(line({ ...timer!, ttl: 0 }), `${timer!.time} [${ida}]ann turned disappearing messages off`);

  const page = await ben.history(conv, { after: 1, limit: 1 });
  const tomb = page.events[0];
  if (!tomb || 'gap' in tomb) throw new Error(`no event in ${JSON.stringify(page)}`);
  t.match(tomb, { kind: 'chat', text: '', expired: true });
  t.equal(line(tomb), `${tomb.time} [${ida}]ann said: [expired] #${sent.msgSeq}`);
});
