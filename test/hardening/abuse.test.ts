/**
 * Attacks on a default server (issue: abuse resistance). Each subtest reproduces one attack
 * that worked before its fix and checks that it no longer does, and what an honest user sees.
 */
import t from 'tap';
import { barrier, LineClient, startServer } from '../fixtures/harness.js';
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
