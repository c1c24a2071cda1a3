/**
 * Graceful shutdown of a real process under load: SIGTERM while three v2 ChatClients have
 * sends in flight (one-to-one and group). Exit code 0; each client got NOTICE 30 "shutdown"
 * (errno 122) before its connection closed; after a restart on the same --db every acked
 * message is in the log at the seq and mid its ack named, the logs have no holes, and nothing
 * is there twice.
 */
import path from 'node:path';
import t from 'tap';
import { ChatClient, type SendAck } from '../../lib/client/client.js';
import type { WireFrame } from '../../lib/client/connection.js';
import { delay, spawnServer, tempDir, waitFor } from '../fixtures/harness.js';

t.setTimeout(110_000);

/** every event of a conversation, by paged history */
async function readLog(c: ChatClient, conv: string): Promise<Array<{ seq: number; cmid?: string; mid?: string; gap?: true }>> {
  const out: Array<{ seq: number; cmid?: string; mid?: string; gap?: true }> = [];
  for (let after = 0; ; ) {
    const page = await c.history(conv, { after, limit: 500 });
    for (const e of page.events) out.push('gap' in e ? { seq: e.seq, gap: true } : { seq: e.seq, mid: e.mid, ...(e.cmid ? { cmid: e.cmid } : {}) });
    if (!page.more || page.events.length === 0) return out;
    after = page.events[page.events.length - 1]!.seq;
  }
}

t.test('SIGTERM with sends in flight: NOTICE before close, exit 0, every acked message kept', async (t) => {
  const db = path.join(tempDir(t), 'chat.db');
  const srv = await spawnServer(t, ['--db', db]);
  const names = ['ann', 'bob', 'cat'] as const;
  const clients = await Promise.all(names.map(() => ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false })));
  t.teardown(() => clients.forEach((c) => c.close()));
  clients.forEach((c) => c.on('error', () => undefined)); // a catch-up cut by the shutdown
  const ids: number[] = [];
  for (const [i, c] of clients.entries()) ids.push(await c.register(names[i]!, 'pw'));
  for (const [i, c] of clients.entries()) await c.login(ids[i]!, 'pw');
  const [ann, bob, cat] = clients as [ChatClient, ChatClient, ChatClient];
  const groupid = await ann.createGroup('team');
  await bob.joinGroup(groupid);
  await cat.joinGroup(groupid);

  // what each client saw, in order
  const seen: string[][] = names.map(() => []);
  clients.forEach((c, i) => {
    c.on('notice', (f: WireFrame) => seen[i]!.push(`notice:${String(f.notice)}:${String(f.errno)}`));
    c.on('disconnected', () => seen[i]!.push('closed'));
  });

  // each keeps up to 20 sends in flight: ann -> bob, bob -> the group, cat -> ann
  const acks: SendAck[] = [];
  let running = true;
  let attempted = 0;
  const pump = async (send: (n: number) => Promise<SendAck>) => {
    const inFlight = new Set<Promise<unknown>>();
    for (let n = 0; running; n++) {
      attempted++;
      const p: Promise<unknown> = send(n).then(
        (a) => acks.push(a),
        () => undefined, // unanswered at the close: may or may not be in the log
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= 20) await Promise.race(inFlight);
      if (n % 20 === 0) await delay(1);
    }
  };
  const pumps = [
    pump((n) => ann.sendTo(ids[1]!, `ann ${n}`)),
    pump((n) => bob.sendGroup(groupid, `bob ${n}`)),
    pump((n) => cat.sendTo(ids[0]!, `cat ${n}`)),
  ];
  await waitFor(() => acks.length >= 300, 20_000, () => `${acks.length} acks`);
  const code = await srv.stop('SIGTERM');
  t.equal(code, 0, 'exit code 0');
  await waitFor(() => seen.every((s) => s.includes('closed')), 20_000, () => JSON.stringify(seen));
  running = false;
  clients.forEach((c) => c.close()); // rejects what is still unanswered, ending the pumps
  await Promise.all(pumps);
  for (const [i, s] of seen.entries()) {
    t.same(s, ['notice:shutdown:122', 'closed'], `${names[i]}: NOTICE 30 "shutdown" (errno 122), then the close`);
  }
  t.comment(`${attempted} sends attempted, ${acks.length} acked before the close`);
  t.match(srv.logs(), /"shutting down"/, 'the log says why');

  // the same database, a new process
  const again = await spawnServer(t, ['--db', db]);
  const reader = await ChatClient.connect({ host: '127.0.0.1', port: again.port, reconnect: false });
  t.teardown(() => reader.close());
  await reader.login(ids[0]!, 'pw'); // ann is in all three: ann-bob, the group, cat-ann
  const convs = new Set(acks.map((a) => a.conv));
  t.equal(convs.size, 3, 'sends landed in all three conversations');
  for (const conv of convs) {
    const log = await readLog(reader, conv);
    const byCmid = new Map<string, Array<{ seq: number; mid?: string }>>();
    for (const e of log) if (e.cmid) byCmid.set(e.cmid, [...(byCmid.get(e.cmid) ?? []), e]);
    const mine = acks.filter((a) => a.conv === conv);
    t.same(
      mine.filter((a) => {
        const found = byCmid.get(a.cmid) ?? [];
        return found.length !== 1 || found[0]!.seq !== a.msgSeq || found[0]!.mid !== a.mid;
      }),
      [],
      `${conv}: all ${mine.length} acked messages are in the log once, at their acked seq and mid`,
    );
    t.same(
      log.map((e) => e.seq),
      log.map((_, i) => i + 1),
      `${conv}: ${log.length} events, no holes`,
    );
    t.notOk(log.some((e) => e.gap), `${conv}: no placeholders (nothing was allocated and lost)`);
    t.equal(new Set(log.map((e) => e.cmid)).size, log.length, `${conv}: no cmid twice`);
  }
  t.equal(await again.stop('SIGTERM'), 0, 'the second process also exits 0');
});
