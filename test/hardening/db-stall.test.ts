/**
 * A database that stops answering: a private mariadbd of this test's own, stopped with SIGSTOP
 * (it keeps its port and connections and answers nothing), under one cluster process with a
 * small commit queue and a short query timeout. The two limits are given as CHAT_* variables,
 * so the code from before they existed runs this test too, and fails it: there a send waits for
 * the database for ever and every send of a flood stays queued in the process.
 *
 * While it is stopped: sends past the queue are refused at once with errno 114 (`...: the
 * commit queue is full`); the queued ones get 114 when their commit times out; nothing is acked;
 * a flood of 10,000 sends of 16 KB (156 MB) grows the process by less than half of that (35 MB
 * measured; 197 MB with the queue unbounded); /readyz answers 503 rather than hanging. After
 * SIGCONT: every acked send is in the log once, at its acked seq, and reached the recipient
 * once, in order; refused sends resent with their cmid are stored once, the rest never; new
 * sends are acked.
 */
import t from 'tap';
import type { SendAck } from '../../lib/client/client.js';
import { delay, LineClient, spawnServer, waitFor, type Json } from '../fixtures/harness.js';
import { annAndBob, crashEntries, gotInOrder, httpGet, logEntries, MB, metric, parseMetrics, privateCluster, rssBytes, seqsByCmid, untilReady, wholeLog } from './util.js';

t.setTimeout(240_000);

const QUEUE = 20;
const QUERY_TIMEOUT_MS = 1000;
const FLOOD = 10_000;
const FLOOD_TEXT = 'x'.repeat(16 * 1024);
const QUEUE_FULL = 'storage unavailable, try again: the commit queue is full';

/** the answers (error replies and acks) to the sends whose cmid starts with `prefix`, by cmid */
function answers(c: LineClient, prefix: string): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const f of c.frames) {
    if ((f.msgid === 11 || f.msgid === 12) && typeof f.cmid === 'string' && f.cmid.startsWith(prefix)) out.set(f.cmid, f);
  }
  return out;
}

/** writes every frame, waiting for the socket to drain when its buffer is full */
async function writeAll(c: LineClient, frames: Json[]): Promise<void> {
  for (const f of frames) {
    if (!c.socket.write(JSON.stringify(f) + '\n')) await new Promise((resolve) => c.socket.once('drain', resolve));
  }
}

t.test('MariaDB stops answering: bounded queue, 114 at once, queries time out; nothing acked lost', async (t) => {
  const cluster = await privateCluster(t);
  if (!cluster) return;
  const { db } = cluster;
  const node = await spawnServer(
    t,
    [...cluster.args, '--metrics-port', '0', '--frame-rate', '100000', '--frame-burst', '100000'],
    { CHAT_MAX_COMMIT_QUEUE: String(QUEUE), CHAT_DB_QUERY_TIMEOUT: String(QUERY_TIMEOUT_MS) },
  );
  const metricsPort = node.metricsPort!;
  const scrape = async () => parseMetrics((await httpGet(metricsPort, '/metrics')).body);

  const { ann, bob, annId, bobId, conv, bobGot } = await annAndBob(t, node.port, node.port);

  // ann chats all along through the library, as an honest client: each send until acked (the
  // library resends a send refused with 114 under the same cmid)
  const steady: SendAck[] = [];
  let chatting = true;
  const chat = (async () => {
    for (let i = 0; chatting; i++) {
      steady.push(await ann.sendTo(bobId, `steady ${i}`));
      await delay(50);
    }
  })();
  await waitFor(() => steady.length >= 5, 30_000, () => 'five acks before the stall');

  // a second session of ann's on a raw connection, to see every answer to a flood of sends
  const flooder = await LineClient.connect(t, node.port);
  flooder.send({ msgid: 1, v: 2, id: annId, password: 'pw', cmid: 'login' });
  t.match(await flooder.msg(2), { errno: 0 });
  const send = (cmid: string, msg: string): Json => ({ msgid: 6, v: 2, toid: bobId, msg, cmid });

  // ---- the stall
  db.pause();
  const ackedAtStall = steady.length;

  // 200 sends at once: the queue takes 20 (and a commit in progress 20 more), the rest is refused
  await writeAll(flooder, Array.from({ length: 200 }, (_, i) => send(`fa:${i}`, `fa:${i}`)));
  await waitFor(() => answers(flooder, 'fa:').size === 200, 60_000, () => `answers to ${answers(flooder, 'fa:').size} of 200 sends while the database is stopped`);
  const first = [...answers(flooder, 'fa:').values()];
  t.same(first.filter((f) => f.msgid !== 11 || f.errno !== 114), [], 'all 200 answered errno 114 while the database is stopped, none acked');
  const full = first.filter((f) => f.errmsg === QUEUE_FULL);
  t.ok(full.length >= 100, `most refused at once, the commit queue being full (${full.length} of 200)`);
  t.ok(full.length < 200, `the queued ones got 114 when their commit timed out (${200 - full.length}) instead of waiting for ever`);

  const ready = await httpGet(metricsPort, '/readyz');
  t.equal(ready.status, 503, '/readyz answers 503 (its query timed out) rather than hanging');
  t.match(JSON.parse(ready.body), { ok: false, store: false, bus: true });

  // a flood of 10,000 sends of 16 KB: refused, not held
  const rssBefore = rssBytes(node.child.pid!);
  let maxQueued = 0;
  const sampler = setInterval(() => {
    void scrape().then(
      (m) => (maxQueued = Math.max(maxQueued, metric(m, 'chat_commit_queue'))),
      () => undefined,
    );
  }, 100);
  await writeAll(flooder, Array.from({ length: FLOOD }, (_, i) => send(`fb:${i}`, FLOOD_TEXT)));
  // every frame before a PING is handled before it is answered
  flooder.send({ msgid: 28, v: 2, cmid: 'after-flood' });
  await flooder.next((f) => f.msgid === 29 && f.cmid === 'after-flood', 120_000);
  clearInterval(sampler);
  const grown = rssBytes(node.child.pid!) - rssBefore;
  const floodBytes = FLOOD * FLOOD_TEXT.length;
  t.ok(grown < floodBytes / 2, `the process grew ${(grown / MB).toFixed(1)} MB over a flood of ${floodBytes / MB} MB of sends`);
  t.ok(maxQueued <= QUEUE, `chat_commit_queue stayed at most ${QUEUE} (the highest sample: ${maxQueued})`);
  await waitFor(() => answers(flooder, 'fb:').size === FLOOD, 60_000, () => `answers to ${answers(flooder, 'fb:').size} of ${FLOOD} flood sends`);
  const flood = [...answers(flooder, 'fb:').values()];
  t.same(flood.filter((f) => f.msgid !== 11 || f.errno !== 114), [], `all ${FLOOD} answered errno 114, none acked`);
  const refusedHere = [...first, ...flood].filter((f) => f.errmsg === QUEUE_FULL).length;
  t.ok(metric(await scrape(), 'chat_commit_queue_refused_total') >= refusedHere, `chat_commit_queue_refused_total counts the ${refusedHere} refusals`);
  const appendFailed = logEntries(node.logs()).filter((e) => e.msg === 'append failed').length;
  t.ok(appendFailed < FLOOD / 10, `refusals are not logged one by one (${appendFailed} 'append failed' lines, for the timed-out commits)`);
  // (one send may have been committed just before the stop, its ack still on its way)
  t.ok(steady.length <= ackedAtStall + 1, 'the honest client got no ack while the database was stopped');
  t.equal(node.child.exitCode, null, 'the server is alive');

  // ---- back
  db.resume();
  await untilReady(metricsPort);
  t.pass('/readyz: 200 again by itself');
  await waitFor(() => steady.length >= ackedAtStall + 5, 60_000, () => `acks after the stall: ${steady.length - ackedAtStall}`);
  t.pass('the honest client chats again: its sends refused meanwhile are acked after it resent them');
  chatting = false;
  await chat;

  // resend every send whose commit timed out (it may have been stored without an ack), and a
  // few refused at once, under their cmids, one at a time
  const refused = [...first, ...flood];
  flooder.frames.length = 0;
  const resend = [...refused.filter((f) => f.errmsg !== QUEUE_FULL), ...refused.filter((f) => f.errmsg === QUEUE_FULL).slice(0, 5)].map((f) => f.cmid as string);
  const resent = new Map<string, Json>();
  for (const cmid of resend) {
    for (;;) {
      flooder.send(send(cmid, cmid.startsWith('fa:') ? cmid : FLOOD_TEXT));
      const answer = await flooder.next((f) => (f.msgid === 11 || f.msgid === 12) && f.cmid === cmid);
      if (answer.msgid === 12) {
        resent.set(cmid, answer);
        break;
      }
      t.equal(answer.errno, 114, `a resend of ${cmid} is acked or refused for now`);
      await delay(100);
    }
  }
  t.pass(`all ${resend.length} resent sends acked`);
  const fresh = await ann.sendTo(bobId, 'after the stall');
  t.equal(fresh.duplicate, false, 'a new send is acked');

  // ---- nothing lost, nothing twice
  const history = await wholeLog(bob, conv);
  const seqsOf = seqsByCmid(history);
  const acked = [...steady, fresh].map((a) => ({ cmid: a.cmid, seq: a.msgSeq }));
  for (const [cmid, f] of resent) acked.push({ cmid, seq: f.msgSeq as number });
  t.same(
    acked.filter((a) => (seqsOf.get(a.cmid) ?? []).join() !== String(a.seq)),
    [],
    `every one of the ${acked.length} acked sends is in the log once, at the seq its ack named`,
  );
  t.same(
    history.filter((h) => h.cmid !== undefined && /^f[ab]:/.test(h.cmid) && !resent.has(h.cmid)),
    [],
    'no refused send that was not resent is in the log',
  );
  await gotInOrder(t, bobGot, history, 'the recipient got every message in order, once');

  t.equal(node.child.exitCode, null, 'the server is still alive');
  t.same(crashEntries(node.logs()), [], 'no uncaught exception, unhandled rejection or fatal entry');
});
