/**
 * The operator's endpoint of a real process (--metrics-port): /metrics in the Prometheus text
 * format with the chat_* series and the process's own (event loop lag included), values that
 * move with traffic; /healthz 200; /readyz 200 with store and bus fine (its 503 is in
 * mariadb-outage.test.ts); nothing else answered.
 */
import path from 'node:path';
import t from 'tap';
import { LineClient, login, register, spawnServer, tempDir } from '../fixtures/harness.js';
import { sendV2 } from '../protocol/util.js';
import { httpGet, metric, parseMetrics } from './util.js';

t.test('/metrics, /healthz and /readyz', async (t) => {
  const srv = await spawnServer(t, ['--db', path.join(tempDir(t), 'chat.db'), '--metrics-port', '0']);
  const metricsPort = srv.metricsPort!;
  const scrape = async () => {
    const r = await httpGet(metricsPort, '/metrics');
    t.equal(r.status, 200);
    return { text: r.body, m: parseMetrics(r.body), type: r.headers['content-type'] };
  };

  const before = await scrape();
  t.match(before.type, /^text\/plain; version=0\.0\.4/, 'Prometheus text format');
  for (const name of [
    'chat_connections',
    'chat_sessions',
    'chat_outgoing_queue_bytes',
    'chat_commit_queue',
    'chat_frames_in_total',
    'chat_frames_out_total',
    'chat_error_replies_total',
    'chat_commit_batch_ops',
    'chat_commit_seconds',
    'chat_bus_publish_seconds',
    'chat_nodejs_eventloop_lag_seconds',
    'chat_process_resident_memory_bytes',
    'chat_process_open_fds',
    'chat_nodejs_heap_size_used_bytes',
  ]) {
    t.match(before.text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exported`);
  }
  t.equal(metric(before.m, 'chat_connections'), 0, 'no connections yet');
  t.equal(metric(before.m, 'chat_sessions'), 0, 'no sessions yet');
  const lag = before.m.get('chat_nodejs_eventloop_lag_seconds');
  t.ok(typeof lag === 'number' && lag >= 0 && lag < 1, `event loop lag is a small number of seconds (${lag})`);

  // traffic: two v2 users chat, one sends junk, one legacy connection idles
  const a = await LineClient.connect(t, srv.port);
  const b = await LineClient.connect(t, srv.port);
  const idle = await LineClient.connect(t, srv.port);
  const ida = await register(a, 'ann', 'pw', true);
  const idb = await register(b, 'bob', 'pw', true);
  t.equal((await login(a, ida, 'pw', true)).errno, 0);
  t.equal((await login(b, idb, 'pw', true)).errno, 0);
  for (let i = 0; i < 3; i++) t.equal((await sendV2(a, { msgid: 6, toid: idb, msg: `m${i}` })).msgid, 12);
  for (let i = 0; i < 3; i++) await b.msg(6);
  a.send('this is not json');
  t.match(await a.msg(11), { errno: 100 });
  a.send({ msgid: 99, v: 2, cmid: 'unknown' });
  t.match(await a.msg(11), { errno: 102 });
  void idle;

  const after = await scrape();
  const m = after.m;
  t.equal(metric(m, 'chat_connections'), 3, 'chat_connections: 3');
  t.equal(metric(m, 'chat_sessions'), 2, 'chat_sessions: 2');
  t.equal(metric(m, 'chat_frames_in_total{msgid="6"}'), 3, 'chat_frames_in_total{msgid="6"}: 3');
  t.equal(metric(m, 'chat_frames_in_total{msgid="1"}'), 2, 'two LOGINs');
  t.equal(metric(m, 'chat_frames_in_total{msgid="4"}'), 2, 'two REGs');
  t.equal(metric(m, 'chat_frames_in_total{msgid="unknown"}'), 1, 'the unknown msgid too, under one label');
  t.equal(metric(m, 'chat_frames_in_total{msgid="-1"}'), 1, 'the frame that was not JSON counts as msgid -1');
  t.equal(metric(m, 'chat_frames_out_total{msgid="12"}'), 3, 'three CHAT_ACKs out');
  t.equal(metric(m, 'chat_frames_out_total{msgid="6"}'), 3, 'three pushes out');
  t.equal(metric(m, 'chat_error_replies_total{errno="100"}'), 1, 'chat_error_replies_total{errno="100"}: the junk');
  t.equal(metric(m, 'chat_error_replies_total{errno="102"}'), 1, 'chat_error_replies_total{errno="102"}: the unknown msgid');
  t.ok(metric(m, 'chat_commit_batch_ops_count') >= 1, `chat_commit_batch_ops counts commits (${metric(m, 'chat_commit_batch_ops_count')})`);
  t.ok(metric(m, 'chat_commit_batch_ops_sum') >= 3, `and their ops (${metric(m, 'chat_commit_batch_ops_sum')}: 3 appends and the positions)`);
  t.equal(metric(m, 'chat_commit_seconds_count'), metric(m, 'chat_commit_batch_ops_count'), 'chat_commit_seconds: one observation per commit');
  t.ok(metric(m, 'chat_commit_batch_ops_bucket{le="2000"}') === metric(m, 'chat_commit_batch_ops_count'), 'every batch fits the largest bucket (--max-batch 2000)');
  t.equal(metric(m, 'chat_bus_publish_seconds_count'), 0, 'no bus publishes in embedded mode');
  t.ok(metric(m, 'chat_process_open_fds') > 5, 'the process reports its descriptors');

  // health
  const health = await httpGet(metricsPort, '/healthz');
  t.equal(health.status, 200, '/healthz: 200');
  t.equal(health.body, 'ok\n');
  const ready = await httpGet(metricsPort, '/readyz');
  t.equal(ready.status, 200, '/readyz: 200');
  t.same(JSON.parse(ready.body), { ok: true, store: true, bus: true }, 'store and bus are fine');
  t.equal((await httpGet(metricsPort, '/other')).status, 404, 'anything else: 404');
  t.equal((await httpGet(metricsPort, '/metrics', 'POST')).status, 405, 'POST: 405');

  // the gauges come back down
  a.close();
  b.close();
  idle.close();
  let final = parseMetrics((await httpGet(metricsPort, '/metrics')).body);
  for (let i = 0; i < 50 && metric(final, 'chat_connections') !== 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    final = parseMetrics((await httpGet(metricsPort, '/metrics')).body);
  }
  t.equal(metric(final, 'chat_connections'), 0, 'chat_connections back to 0');
  t.equal(metric(final, 'chat_sessions'), 0, 'chat_sessions back to 0');
});
