/**
 * Slow readers against a real server process (--max-out-bytes 256 KiB, --drain-timeout 2000):
 * two clients that never read (one v2, one legacy) are sent 50,000 and 25,000 one-to-one
 * messages of ~200 bytes. The server's memory stays bounded, both readers are cut off, a third
 * pair keeps chatting with low latency meanwhile, and after reconnecting each reader gets every
 * message in order: v2 by sync (ChatClient), legacy from what its old socket had plus the
 * `offlinemsg` of its next logins (at-least-once: a message may come twice, none is missing).
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { delay, LineClient, login, register, spawnServer, tempDir, waitFor, type Json } from '../fixtures/harness.js';
import { deliveredSeq, pairConv } from '../ordering/util.js';
import { parseList } from '../protocol/util.js';
import { countLines, httpGet, logEntries, MB, metric, parseMetrics, percentile, RawClient, rssBytes } from './util.js';

t.setTimeout(110_000);

const TO_V2 = 50_000;
const TO_LEGACY = 25_000;
/** the bound on the server's resident memory while it serves the flood */
const RSS_LIMIT = 256 * MB;
/** the bound on what the server holds queued for all its sockets (two readers capped at 256 KiB each) */
const QUEUE_LIMIT = 2 * MB;
const PAD = 'x'.repeat(180);

t.test('slow readers are cut off, memory stays bounded, others are not slowed, nothing is lost', async (t) => {
  const dir = tempDir(t);
  const srv = await spawnServer(t, [
    '--db', path.join(dir, 'chat.db'),
    '--max-out-bytes', String(256 * 1024),
    '--drain-timeout', '2000',
    // the sender below is a flood on purpose; the frame rate limit has tests of its own
    '--frame-rate', '1000000', '--frame-burst', '1000000',
    '--metrics-port', '0',
  ]);
  const metricsPort = srv.metricsPort!;
  const pid = srv.child.pid!;
  const reg = await LineClient.connect(t, srv.port);
  const ids: Record<string, number> = {};
  for (const name of ['sender', 'reader', 'oldreader', 'ann', 'bob']) ids[name] = await register(reg, name, 'pw');
  reg.close();

  // the readers log in, then stop reading
  const reader = await RawClient.connect(t, srv.port);
  reader.write({ msgid: 1, v: 2, id: ids.reader, password: 'pw', cmid: 'l' });
  t.equal((await reader.readUntil((f) => f.msgid === 2)).errno, 0, 'v2 reader logged in');
  reader.stopReading();
  const oldreader = await RawClient.connect(t, srv.port);
  oldreader.write({ msgid: 1, id: ids.oldreader, password: 'pw' });
  t.equal((await oldreader.readUntil((f) => f.msgid === 2)).errno, 0, 'legacy reader logged in');
  oldreader.stopReading();

  // the pair that keeps chatting
  const ann = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false });
  const bob = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false });
  t.teardown(() => {
    ann.close();
    bob.close();
  });
  ann.on('error', (err) => t.fail(`ann: ${err.message}`));
  bob.on('error', (err) => t.fail(`bob: ${err.message}`));
  await ann.login(ids.ann!, 'pw');
  await bob.login(ids.bob!, 'pw');
  const bobGot: ChatEvent[] = [];
  let onBob: (() => void) | null = null;
  bob.on('event', (e) => {
    bobGot.push(e);
    onBob?.();
  });
  let round = 0;
  const roundTrip = async (): Promise<number> => {
    const text = `ping ${round++}`;
    const started = performance.now();
    const arrived = new Promise<void>((resolve) => {
      onBob = () => {
        if (bobGot[bobGot.length - 1]?.text === text) resolve();
      };
    });
    await ann.sendTo(ids.bob!, text);
    await arrived;
    return performance.now() - started;
  };
  const baseline: number[] = [];
  for (let i = 0; i < 20; i++) baseline.push(await roundTrip());

  // memory, sampled all along
  const rss: number[] = [rssBytes(pid)];
  const sampler = setInterval(() => {
    try {
      rss.push(rssBytes(pid));
    } catch {
      // the process is gone: the assertions below say so
    }
  }, 50);
  t.teardown(() => clearInterval(sampler));
  // and what the server holds queued for its sockets, from its own gauge
  const queued: number[] = [];
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      const r = await httpGet(metricsPort, '/metrics').catch(() => null);
      if (r) queued.push(metric(parseMetrics(r.body), 'chat_outgoing_queue_bytes'));
      await delay(100);
    }
  })();

  // the flood: one v2 sender, at most WINDOW sends unacknowledged
  const sender = await LineClient.connect(t, srv.port);
  t.equal((await login(sender, ids.sender!, 'pw', true)).errno, 0);
  sender.socket.removeAllListeners('data'); // count acks instead of keeping 60,000 frames
  const counts = countLines(sender.socket, ['{"msgid":12', '{"msgid":11']);
  const WINDOW = 2000;
  const total = TO_V2 + TO_LEGACY;
  const floodStarted = performance.now();
  const flood = (async () => {
    let sent = 0;
    let toV2 = 0;
    let toLegacy = 0;
    while (sent < total) {
      await waitFor(() => sent - counts[0]! - counts[1]! < WINDOW, 60_000, () => `acks stalled at ${counts[0]}`);
      const lines: string[] = [];
      for (let i = 0; i < 250 && sent < total; i++, sent++) {
        const legacy = toLegacy < TO_LEGACY && sent % 3 === 2;
        const n = legacy ? toLegacy++ : toV2++;
        lines.push(
          JSON.stringify({ msgid: 6, v: 2, toid: legacy ? ids.oldreader : ids.reader, msg: `${legacy ? 'L' : 'V'}${n} ${PAD}`, cmid: `s${sent}` }),
        );
      }
      sender.raw(lines.join('\n') + '\n');
      await delay(0);
    }
    await waitFor(() => counts[0]! + counts[1]! === total, 60_000, () => `acked ${counts[0]} of ${total}`);
  })();

  const during: number[] = [];
  let flooding = true;
  void flood.finally(() => (flooding = false));
  while (flooding) during.push(await roundTrip());
  await flood;
  const floodMs = performance.now() - floodStarted;
  t.equal(counts[1], 0, 'no send failed');
  t.equal(counts[0], total, `all ${total} sends acked (in ${Math.round(floodMs)} ms)`);

  // both readers were cut off by the server
  const cutUsers = (): number[] => {
    const entries = logEntries(srv.logs());
    const conns = new Set(entries.filter((e) => /^slow reader/.test(String(e.msg))).map((e) => e.conn));
    return entries.filter((e) => e.msg === 'disconnected' && conns.has(e.conn)).map((e) => e.user as number);
  };
  await waitFor(
    () => cutUsers().length >= 2,
    30_000,
    () => `both readers cut off; the log has ${JSON.stringify(logEntries(srv.logs()).filter((e) => (e.level as number) >= 40))}`,
  );
  t.same(cutUsers().sort(), [ids.reader, ids.oldreader].sort(), 'the server cut off both slow readers, and nobody else');
  for (const e of logEntries(srv.logs()).filter((e) => /^slow reader/.test(String(e.msg)))) t.comment(`${String(e.msg)} (queued ${String(e.queued ?? '-')})`);
  clearInterval(sampler);
  scraping = false;
  await scraper;
  const maxQueued = Math.max(...queued);
  t.comment(`chat_outgoing_queue_bytes: max ${maxQueued} over ${queued.length} scrapes`);
  t.ok(queued.length >= 3 && maxQueued < QUEUE_LIMIT, `bytes queued to sockets stayed under ${QUEUE_LIMIT / MB} MB (max ${maxQueued})`);
  const peak = Math.max(...rss);
  t.comment(`server RSS: start ${(rss[0]! / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB over ${rss.length} samples`);
  t.ok(peak < RSS_LIMIT, `the server's RSS stayed under ${RSS_LIMIT / MB} MB (peak ${(peak / MB).toFixed(0)} MB)`);
  t.equal(srv.child.exitCode, null, 'the server is still running');

  // the third pair: chatted throughout, in order, without slowing down
  const base50 = percentile(baseline, 50);
  const mid50 = percentile(during, 50);
  const mid95 = percentile(during, 95);
  t.comment(
    `pair latency: before the flood p50 ${base50.toFixed(1)} ms; during it (${during.length} round trips) p50 ${mid50.toFixed(1)} ms, p95 ${mid95.toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms`,
  );
  t.ok(during.length >= 5, 'the pair kept chatting during the flood');
  t.ok(mid50 < 250 && mid95 < 1000, 'round trips stay short while the slow readers are served (p50 < 250 ms, p95 < 1 s)');
  t.same(
    bobGot.map((e) => e.text),
    Array.from({ length: round }, (_, i) => `ping ${i}`),
    'the pair got every message in order',
  );

  // v2: the old socket had a prefix in order; a reconnect syncs the rest
  await reader.readToEnd();
  const early = reader.lines.map((l) => JSON.parse(l) as Json).filter((f) => f.msgid === 6);
  t.same(
    early.map((f) => f.msgSeq),
    early.map((_, i) => i + 1),
    `the cut-off v2 socket had seqs 1..${early.length} in order before the close`,
  );
  t.ok(early.length < TO_V2, 'and not everything: it was cut off');
  const again = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false });
  t.teardown(() => again.close());
  const got: ChatEvent[] = [];
  again.on('event', (e) => got.push(e));
  const info = await again.login(ids.reader!, 'pw');
  t.equal(info.convs[0]?.lastSeq, TO_V2, 'the login summary knows all of them');
  await waitFor(() => got.length >= TO_V2, 60_000, () => `synced ${got.length} of ${TO_V2}`);
  const bad = got.findIndex((e, i) => e.seq !== i + 1 || e.text !== `V${i} ${PAD}`);
  t.equal(bad, -1, `the v2 reader got all ${TO_V2} messages in order after reconnecting`);
  t.equal(got.length, TO_V2, 'each once');

  // legacy: what its old socket had, then offlinemsg at each login until nothing is left
  await oldreader.readToEnd();
  const seen: number[] = oldreader.lines.map((l) => JSON.parse(l) as Json).filter((f) => f.msgid === 6).map((f) => f.msgSeq as number);
  const onOld = seen.length;
  const db = new Database(path.join(dir, 'chat.db'), { readonly: true, timeout: 5000 });
  t.teardown(() => db.close());
  const delivered = () => deliveredSeq(db, pairConv(ids.sender!, ids.oldreader!), ids.oldreader!);
  let logins = 0;
  for (;;) {
    const c = await LineClient.connect(t, srv.port);
    let ack: Json;
    do {
      ack = await login(c, ids.oldreader!, 'pw');
      if (ack.errno === 2) await delay(50); // the cut-off session is still being closed
    } while (ack.errno === 2);
    t.equal(ack.errno, 0);
    logins++;
    const offline = parseList(ack.offlinemsg);
    const seqs = offline.map((f) => f.msgSeq as number);
    seen.push(...seqs);
    // the login reply counts as delivered once written: the next login starts past it
    const upTo = Math.max(0, ...seqs);
    await waitFor(() => delivered() >= upTo, 30_000, () => `delivered ${delivered()} of ${upTo}`);
    c.close();
    if (offline.length === 0 || logins > 20) break;
  }
  t.comment(`legacy reader: ${onOld} on the old socket, ${seen.length - onOld} more over ${logins} logins`);
  const firstSeen: number[] = [];
  let skippedAhead = false;
  let max = 0;
  for (const [i, s] of seen.entries()) {
    if (s > max + 1 && !skippedAhead) t.comment(`first seq skipped at ${i}: ${JSON.stringify(seen.slice(Math.max(0, i - 3), i + 3))}`);
    if (s > max + 1) skippedAhead = true;
    if (s > max) {
      firstSeen.push(s);
      max = s;
    }
  }
  t.notOk(skippedAhead, 'the legacy reader never skipped ahead: no seq missing before one it got');
  t.equal(max, TO_LEGACY, `and got all ${TO_LEGACY} in the end`);
  t.equal(firstSeen.length, TO_LEGACY, 'every seq at least once');
});

t.test('a reader that stops reading is cut off after --drain-timeout, under the byte cap', async (t) => {
  const DRAIN = 1000;
  const N = 20_000;
  const srv = await spawnServer(t, [
    '--db', path.join(tempDir(t), 'chat.db'),
    '--max-out-bytes', String(64 * MB),
    '--drain-timeout', String(DRAIN),
    '--frame-rate', '1000000', '--frame-burst', '1000000',
  ]);
  const reg = await LineClient.connect(t, srv.port);
  const senderId = await register(reg, 'sender', 'pw');
  const readerId = await register(reg, 'reader', 'pw');
  reg.close();
  const reader = await RawClient.connect(t, srv.port);
  reader.write({ msgid: 1, v: 2, id: readerId, password: 'pw', cmid: 'l' });
  t.equal((await reader.readUntil((f) => f.msgid === 2)).errno, 0);
  reader.stopReading();
  const sender = await LineClient.connect(t, srv.port);
  t.equal((await login(sender, senderId, 'pw', true)).errno, 0);
  sender.socket.removeAllListeners('data');
  const acks = countLines(sender.socket, ['{"msgid":12']);
  for (let sent = 0; sent < N; ) {
    await waitFor(() => sent - acks[0]! < 2000, 30_000);
    const lines: string[] = [];
    for (let i = 0; i < 500; i++, sent++) lines.push(JSON.stringify({ msgid: 6, v: 2, toid: readerId, msg: `D${sent} ${PAD}`, cmid: `d${sent}` }));
    sender.raw(lines.join('\n') + '\n');
    await delay(0);
  }
  await waitFor(() => acks[0] === N, 30_000, () => `acked ${acks[0]} of ${N}`);
  const cut = () => logEntries(srv.logs()).find((e) => /^slow reader/.test(String(e.msg)));
  await waitFor(() => cut() !== undefined, DRAIN + 30_000, () => 'a slow-reader cut');
  t.equal(cut()!.msg, 'slow reader: no drain within the timeout, disconnecting', 'cut off by the drain timeout, not the byte cap');
  await reader.readToEnd();
  t.pass('the server closed the connection');
  const again = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false });
  t.teardown(() => again.close());
  const got: ChatEvent[] = [];
  again.on('event', (e) => got.push(e));
  await again.login(readerId, 'pw');
  await waitFor(() => got.length >= N, 30_000, () => `synced ${got.length} of ${N}`);
  t.equal(
    got.findIndex((e, i) => e.seq !== i + 1 || e.text !== `D${i} ${PAD}`),
    -1,
    `after reconnecting it has all ${N} in order`,
  );
});
