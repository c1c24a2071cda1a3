/**
 * Attacks on a default server (issue: abuse resistance). Each subtest reproduces one attack
 * that worked before its fix and checks that it no longer does, and what an honest user sees.
 */
import t from 'tap';
import { barrier, LineClient, login, register, startServer } from '../fixtures/harness.js';
import { httpGet, parseMetrics } from './util.js';

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
  t.ok(series(m).length <= 5, `a handful of chat_frames_in_total series (${series(m).join(', ')})`);
  t.equal(m.get('chat_frames_in_total{msgid="unknown"}'), 5000, 'every made-up msgid counted under "unknown"');
  t.equal(m.get('chat_frames_in_total{msgid="4"}'), 1, 'a real msgid keeps its own label');
});

t.test('a bug is reported as an internal error, an outage as storage unavailable', async (t) => {
  const app = await startServer(t, { metricsPort: 0 });
  const scrape = async () => parseMetrics((await httpGet(app.metricsAddress!.port, '/metrics')).body);
  const c = await LineClient.connect(t, app.port);
  const id = await register(c, 'ida', 'pw', true);
  // a defect: something on the login path throws a TypeError
  const throttle = app.hub.loginThrottle;
  const original = throttle.fail.bind(throttle);
  throttle.fail = () => {
    throw new TypeError('a bug');
  };
  c.send({ msgid: 1, v: 2, id, password: 'wrong', cmid: 'l1' });
  t.match(await c.msg(2), { errno: 128, errmsg: 'internal server error', cmid: 'l1' }, 'LOGIN_MSG_ACK says internal error');
  throttle.fail = original;
  t.equal((await scrape()).get('chat_internal_errors_total'), 1, 'counted in chat_internal_errors_total');
  t.equal((await login(c, id, 'pw', true)).errno, 0, 'and the server goes on');

  // an outage: the database is gone
  await app.hub.store.close();
  c.send({ msgid: 26, v: 2, cmid: 'cl' });
  t.match(await c.msg(11), { errno: 114, cmid: 'cl' }, 'a request that needs the store: 114');
  t.equal((await scrape()).get('chat_internal_errors_total'), 1, 'not counted as a defect');
});
