/**
 * Scenario 5: N idle logged-in connections on one process, memory per connection; and the
 * login rate with the server's real password hashing.
 */
import { performance } from 'node:perf_hooks';
import { closeAll, loginMany, openEnv, type EnvRequest } from '../env.js';
import { PhaseMeter, fdLimit, readProc, resetPeak } from '../proc.js';
import type { Row } from '../report.js';
import { fmtRate, log, sleep } from '../util.js';
import { nextId, range, type Ctx } from './common.js';

export async function scenario5(ctx: Ctx): Promise<void> {
  const z = ctx.sizes;
  const title = '5 idle logged-in connections, one process';
  const limit = fdLimit();
  const cap = limit - 500;
  const configs: Array<{ n: number; v2: boolean }> = [...z.conns.map((n) => ({ n, v2: false })), ...(z.connsV2 ? [{ n: z.connsV2, v2: true }] : [])];
  for (const c of configs) {
    if (c.n > cap) {
      log(`ulimit -n is ${limit}: ${c.n} connections capped at ${cap} (raise it: ulimit -n 65536)`);
      c.n = cap;
    }
  }
  const most = Math.max(...configs.map((c) => c.n));
  const warmN = Math.min(200, most);
  const users = most + warmN;
  log(`scenario 5, up to ${most} idle connections (ulimit -n ${limit})`);
  let seededDb: { file: string; userIds: number[] } | null = null;
  const stub = ctx.targets ? [] : ['login hashing stubbed (bench/cheap-scrypt.ts preload; see row of real logins)'];
  for (const c of configs) {
    const req: EnvRequest = { kind: 'embedded', label: 's5', users, hash: 'cheap', ...(seededDb ? { reuseDb: seededDb } : {}) };
    const env = await openEnv(ctx, req);
    // registered once into one db file, reused by every server of this scenario
    if (env.dbFile) seededDb ??= { file: env.dbFile, userIds: env.userIds };
    const pid = env.serverPids[0];
    const ep = env.endpoints[0]!;
    try {
      // warm the server's code paths, so the baseline includes compiled code and caches
      const warm = await loginMany(env, range(most, most + warmN), c.v2, () => ep, 100);
      closeAll(warm);
      await sleep(1500);
      const before = pid ? readProc(pid) : null;
      if (pid) resetPeak(pid);
      const meter = new PhaseMeter(env.serverPids, [], env.serverNames);
      const t0 = performance.now();
      const conns = await loginMany(env, range(0, c.n), c.v2, () => ep, 500);
      const loginMs = performance.now() - t0;
      await sleep(3000);
      const after = pid ? readProc(pid) : null;
      const idle0 = pid ? readProc(pid) : null;
      await sleep(5000);
      const idle1 = pid ? readProc(pid) : null;
      const usage = meter.stop();
      const perConnKb = before && after ? (after.rssKb - before.rssKb) / c.n : NaN;
      const goal = Number.isFinite(perConnKb) ? perConnKb < 20 : null;
      const alive = conns.filter((x) => !x.closed).length;
      const row: Row = {
        id: nextId(ctx, '5'),
        scenario: title,
        variant: `${ctx.targets ? 'target' : 'embedded'}, ${c.n.toLocaleString('en-US')} ${c.v2 ? 'v2' : 'legacy'} connections logged in, then idle (rate: logins/s)`,
        received: alive,
        lost: c.n - alive,
        rate: (c.n / loginMs) * 1000,
        rateUnit: 'logins/s',
        usage,
        ratio: Number.isFinite(perConnKb) ? `${perConnKb.toFixed(1)} KB/conn` : undefined,
        target: '< 20 KB RSS per connection',
        met: alive < c.n ? false : goal,
        correct: alive === c.n,
        miss: goal === false ? `${perConnKb.toFixed(1)} KB per connection, ${(perConnKb / 20).toFixed(2)}x the target` : undefined,
        command: ctx.cmd('5'),
        notes: [
          before && after
            ? `VmRSS ${(before.rssKb / 1024).toFixed(0)} MB before the connections (after a warm-up of ${warmN}), ${(after.rssKb / 1024).toFixed(0)} MB with them: ${perConnKb.toFixed(1)} KB each added, ${(after.rssKb / c.n).toFixed(1)} KB each counting the whole process`
            : 'no /proc figures for this server',
          idle0 && idle1 ? `server CPU while idle: ${(idle1.cpuSec - idle0.cpuSec).toFixed(2)} s over 5 s` : '',
          ...stub,
        ].filter(Boolean),
      };
      ctx.rows.push(row);
      log(`${row.id} ${row.variant}: ${row.ratio ?? '?'}, ${fmtRate(row.rate!)} logins/s`);
      closeAll(conns);
      await sleep(500);
    } finally {
      await env.close();
    }
  }

  // the real cost of a login: no preload, the server's scrypt
  log('scenario 5, login rate with the real password hashing');
  const env = await openEnv(ctx, { kind: 'embedded', label: 's5real', users: z.loginSample, hash: 'real' });
  try {
    const meter = new PhaseMeter(env.serverPids, [], env.serverNames);
    const t0 = performance.now();
    const conns = await loginMany(env, range(0, z.loginSample), false, () => env.endpoints[0]!, z.loginSample);
    const ms = performance.now() - t0;
    const usage = meter.stop();
    const rate = (z.loginSample / ms) * 1000;
    ctx.rows.push({
      id: nextId(ctx, '5'),
      scenario: title,
      variant: `${ctx.targets ? 'target' : 'embedded'}, ${z.loginSample} legacy logins at once with the real scrypt (N=16384, r=8)`,
      received: conns.filter((x) => !x.closed).length,
      rate,
      rateUnit: 'logins/s',
      usage,
      target: '(reported)',
      met: null,
      command: ctx.cmd('5'),
      notes: [`at this rate 10,000 users need ${fmtRate(10_000 / rate)} s to log in (a reconnect storm after a restart takes as long)`],
    });
    log(`login rate with real scrypt: ${rate.toFixed(1)} logins/s`);
    closeAll(conns);
  } finally {
    await env.close();
  }
}


