/**
 * A short smoke version of the benchmark (bench/, issue #7): tiny versions of scenarios 1
 * (same process, relay baseline included), 2 (cluster across two processes), 4 (offline
 * drain) and 6 (read markers and recalls mixed in) against spawned bin/chatserver processes.
 * It fails on any loss, duplicate, disorder, missing ack or error reply; the performance
 * targets are the full benchmark's business (`make bench`), not asserted here.
 */
import t, { type Test } from 'tap';
import { runTmpDir } from '../../bench/env.js';
import type { Row } from '../../bench/report.js';
import { SMOKE, type Ctx } from '../../bench/scenarios/common.js';
import { scenario4 } from '../../bench/scenarios/offline.js';
import { scenario1, scenario2 } from '../../bench/scenarios/one-to-one.js';
import { scenario6 } from '../../bench/scenarios/status-recall.js';
import { MYSQL_URL, REDIS_URL, needServices, uniqueSuffix } from '../fixtures/services.js';

function context(t: Test): Ctx {
  const tmp = runTmpDir();
  t.teardown(tmp.remove);
  return {
    runId: `smoke${uniqueSuffix()}`.toLowerCase().replace(/[^a-z0-9]/g, ''),
    mysqlUrl: MYSQL_URL,
    redisUrl: REDIS_URL,
    tmpDir: tmp.dir,
    cpuProfDir: null,
    targets: null,
    sizes: SMOKE,
    quick: true,
    rows: [],
    ids: new Map(),
    cmd: (s) => `npm run bench -- --scenario ${s} --quick`,
  };
}

function checkRows(t: Test, rows: Row[], expected: number): void {
  t.equal(rows.length, expected, `${expected} rows: ${rows.map((r) => r.id).join(', ')}`);
  for (const r of rows) {
    const what = `${r.id} ${r.variant}`;
    t.ok(r.correct, `${what}: correct${r.correct ? '' : ` (${r.miss ?? ''})`}`);
    t.equal(r.lost ?? 0, 0, `${what}: nothing lost`);
    t.equal(r.dup ?? 0, 0, `${what}: nothing duplicated`);
    t.equal(r.ooo ?? 0, 0, `${what}: nothing out of order`);
    if (r.received !== undefined && r.sent !== undefined) t.equal(r.received, r.sent, `${what}: everything received`);
    if (r.acked !== undefined && r.sent !== undefined) t.equal(r.acked, r.sent, `${what}: every v2 send acked`);
    t.ok(r.rate !== undefined && r.rate > 0, `${what}: a rate`);
  }
}

t.test('scenarios 1 and 6: one-to-one on one embedded process, then with reads and recalls', async (t) => {
  const ctx = context(t);
  await scenario1(ctx);
  await scenario6(ctx);
  // relay 2 + embedded --sync normal 4 + --sync full 2, then scenario 6: plain and mixed (one round)
  checkRows(t, ctx.rows, 10);
  const mixed = ctx.rows.find((r) => r.id === '6b')!;
  t.match(mixed.notes.join(' '), /recallEvents [1-9]/, 'recall events reached the recipients');
  t.match(mixed.notes.join(' '), /readAcks [1-9]/, 'read markers were acknowledged');
});

t.test('scenario 4: offline backlog drained at login, embedded', async (t) => {
  const ctx = context(t);
  await scenario4(ctx, ['embedded']);
  checkRows(t, ctx.rows, 3);
});

t.test('scenarios 2 and 4 in the cluster: two processes, MariaDB and Redis', async (t) => {
  if (!(await needServices(t, 'mysql', 'redis'))) return;
  const ctx = context(t);
  // the relay row of scenario 2 is scenario 1's baseline
  await scenario2(ctx);
  await scenario4(ctx, ['cluster']);
  checkRows(t, ctx.rows, 2 + 4 + 3);
});
