/**
 * MariaDB killed under two cluster processes (a private mariadbd of this test's own, never the
 * shared one; the shared Redis with this test's own key prefix): while it is down, v2 requests
 * that need it are answered errno 114 "storage unavailable" (LOGIN in its own ack, the rest as
 * error replies), /readyz says 503, nothing crashes; a send retried with the same cmid is acked
 * once MariaDB is back, exactly once; nothing acked before the crash is lost; service returns
 * by itself. (Redis outages: test/cluster/redis-outage.test.ts.)
 */
import t from 'tap';
import { ChatReplyError, type SendAck } from '../../lib/client/client.js';
import { delay, LineClient, spawnServer, waitFor } from '../fixtures/harness.js';
import { annAndBob, crashEntries, gotInOrder, httpGet, privateCluster, seqsByCmid, unrefDelay, untilReady, wholeLog } from './util.js';

t.setTimeout(110_000);


interface Sent {
  cmid: string;
  text: string;
  ack: SendAck | null;
  /** errnos of the error replies before the ack */
  refusals: number[];
}

t.test('MariaDB down and back: 114 meanwhile, acked sends kept, retried sends acked once', async (t) => {
  const cluster = await privateCluster(t);
  if (!cluster) return;
  const { db } = cluster;
  const node = () => spawnServer(t, [...cluster.args, '--session-ttl', '3000', '--metrics-port', '0']);
  // one after the other: the first creates the schema
  const n1 = await node();
  const n2 = await node();
  const metrics = [n1.metricsPort!, n2.metricsPort!];
  for (const p of metrics) t.equal((await httpGet(p!, '/readyz')).status, 200, `node on metrics port ${p}: ready`);

  const { ann, bob, annId, bobId, conv, bobGot } = await annAndBob(t, n1.port, n2.port);

  // a raw v2 connection of ann's, to see the refusal itself (the library keeps a refused send
  // pending and resends it, so its callers never see a 114)
  const raw = await LineClient.connect(t, n1.port);
  raw.send({ msgid: 1, v: 2, id: annId, password: 'pw', cmid: 'raw-login' });
  t.match(await raw.msg(2), { errno: 0 });

  // ann sends all along through the library, each send until it is acked
  const sent: Sent[] = [];
  let sending = true;
  const sendUntilAcked = async (s: Sent): Promise<void> => {
    for (;;) {
      try {
        const r = await ann.request({ msgid: 6, toid: bobId, msg: s.text, cmid: s.cmid }, { send: true });
        s.ack = { conv: r.conv as string, msgSeq: r.msgSeq as number, mid: r.mid as string, ts: r.ts as number, cmid: r.cmid as string, duplicate: r.duplicate === true };
        return;
      } catch (err) {
        if (!(err instanceof ChatReplyError)) throw err;
        s.refusals.push(err.errno);
        await delay(200);
      }
    }
  };
  const sender = (async () => {
    for (let i = 0; sending; i++) {
      const s: Sent = { cmid: `m${i}`, text: `message ${i}`, ack: null, refusals: [] };
      sent.push(s);
      await sendUntilAcked(s);
      await delay(20);
    }
  })();
  await waitFor(() => sent.filter((s) => s.ack).length >= 10, 10_000, () => 'ten acks before the crash');
  const ackedBefore = sent.filter((s) => s.ack).map((s) => ({ ...s.ack! }));

  // ---- the crash
  await db.stop('SIGKILL');
  const downSince = sent.length;
  const probe = { msgid: 6, v: 2, toid: bobId, msg: 'probe during the outage', cmid: 'probe' };
  raw.send(probe);
  t.match(await raw.msg(11), { errno: 114, reqmsgid: 6, cmid: 'probe' }, 'a send while MariaDB is down: errno 114 "storage unavailable"');
  t.ok(sent.slice(downSince).every((s) => s.ack === null || s === sent[downSince]), 'nothing new is acked while it is down');

  // other requests that need it
  const loginer = await LineClient.connect(t, n1.port);
  loginer.send({ msgid: 1, v: 2, id: bobId, password: 'pw', cmid: 'login-down' });
  t.match(await loginer.msg(2), { msgid: 2, errno: 114, cmid: 'login-down' }, 'a v2 LOGIN: errno 114 in its own ack');
  const syncErr = await bob.history(conv, { after: 0 }).then(
    () => null,
    (err: unknown) => err,
  );
  t.ok(syncErr instanceof ChatReplyError && syncErr.errno === 114, 'a SYNC: errno 114');
  // a send through the library's own sendTo while the database is down
  const libSend = ann.sendTo(bobId, 'library send during the outage').then(
    (ack) => ({ ack, err: null }),
    (err: unknown) => ({ ack: null, err }),
  );
  t.type(await bob.ping(), 'number', 'a PING needs no storage and is answered');
  for (const p of metrics) {
    const ready = await httpGet(p!, '/readyz');
    t.equal(ready.status, 503, '/readyz: 503 while MariaDB is down');
    t.match(JSON.parse(ready.body), { ok: false, store: false, bus: true }, 'naming the store');
    t.equal((await httpGet(p!, '/healthz')).status, 200, '/healthz: still 200 (the process is alive)');
  }
  await delay(1000);
  t.equal(n1.child.exitCode, null, 'node 1 is alive');
  t.equal(n2.child.exitCode, null, 'node 2 is alive');

  // ---- back
  await db.start();
  await waitFor(() => sent.filter((s) => s.ack).length >= ackedBefore.length + 10, 30_000, () => 'ten more acks after the restart');
  for (const p of metrics) {
    await untilReady(p!);
    t.pass('/readyz: 200 again by itself');
  }
  sending = false;
  await sender;
  raw.send(probe);
  t.match(await raw.msg(12), { cmid: 'probe', conv }, 'the refused send, resent with its cmid, is acked after it');
  const lib = await Promise.race([libSend, unrefDelay(12_000).then(() => ({ ack: null, err: new Error('no answer within 12 s') }))]);
  t.ok(lib.ack, `ChatClient.sendTo during the outage is acked once the database is back (the library resends it); got ${lib.ack ? 'an ack' : String(lib.err)}`);

  // ---- nothing lost, nothing twice
  const acked = sent.filter((s) => s.ack);
  t.equal(acked.length, sent.length, `every send was acked in the end (${sent.length})`);
  const history = await wholeLog(bob, conv);
  const byCmid = seqsByCmid(history);
  t.same(
    ackedBefore.filter((a) => !(byCmid.get(a.cmid) ?? []).includes(a.msgSeq)),
    [],
    `all ${ackedBefore.length} sends acked before the crash are in the log at their acked seq`,
  );
  t.same(
    acked.filter((s) => (byCmid.get(s.cmid) ?? []).length !== 1 || byCmid.get(s.cmid)![0] !== s.ack!.msgSeq),
    [],
    'every acked send is in the log exactly once, at the seq its ack named',
  );
  // the sender's own cmids, not a prefix: the library's random cmid may begin with 'm' too
  const senderCmids = new Set(sent.map((s) => s.cmid));
  t.same(
    history
      .filter((h) => !h.cmid || !senderCmids.has(h.cmid))
      .map((h) => h.text ?? `(gap ${h.seq})`)
      .sort(),
    ['probe during the outage', ...(lib.ack ? ['library send during the outage'] : [])].sort(),
    'and nothing else (no copies of retried sends)',
  );
  // bob, on the other process, got them all in order
  await gotInOrder(t, bobGot, history, 'the recipient on the other process got every message in order, once');

  t.equal(n1.child.exitCode, null, 'node 1 is still alive');
  t.equal(n2.child.exitCode, null, 'node 2 is still alive');
  for (const [name, n] of [
    ['node 1', n1],
    ['node 2', n2],
  ] as const) {
    t.same(crashEntries(n.logs()), [], `${name}: no uncaught exception, unhandled rejection or fatal entry`);
  }
});
