/**
 * Scenarios 1 (one-to-one, sender and recipient on the same process: embedded, --sync normal
 * and full) and 2 (one-to-one across two cluster processes), legacy and v2, closed-loop
 * throughput and open-loop latency.
 */
import { closeAll, loginMany, openEnv } from '../env.js';
import { runPairs } from '../pairs.js';
import { fmtMs, fmtRate, log, sleep } from '../util.js';
import { closedLoad, loadLabel, loadRow, makePairs, measured, pct, range, relayBaseline, type Ctx } from './common.js';

export async function scenario1(ctx: Ctx): Promise<void> {
  const z = ctx.sizes;
  const P = z.pairs;
  const title = '1 one-to-one, same process';
  await relayBaseline(ctx, '1');
  const relay = ctx.relayRate!;
  // a --target server has its own durability: one round
  for (const sync of ctx.targets ? (['normal'] as const) : (['normal', 'full'] as const)) {
    log(`scenario 1, embedded, --sync ${sync}`);
    const env = await openEnv(ctx, { kind: 'embedded', label: `s1${sync}`, users: 4 * P, hash: 'real', sync });
    try {
      let legacyRate = NaN;
      for (const v2 of [false, true]) {
        const first = v2 ? 2 * P : 0;
        const conns = await loginMany(env, range(first, first + 2 * P), v2, () => env.endpoints[0]!);
        const pairs = makePairs(env, conns, first);
        const flavour = v2 ? 'v2' : 'legacy';
        const where = ctx.targets ? 'target server' : `embedded, --sync ${sync}`;
        const thr = await measured(env, () => runPairs(pairs, closedLoad(z, v2)));
        const rate = thr.result.rate;
        if (!v2) {
          legacyRate = rate;
          const ratio = rate / relay;
          const goal = sync === 'normal' ? ratio >= 0.6 : null;
          loadRow(ctx, '1', title, `${where}, ${flavour}, ${loadLabel(z)}`, thr.result, thr.usage, {
            ratio: `${ratio.toFixed(2)}x relay`,
            target: sync === 'normal' ? '>= 0.60x relay' : '(reported)',
            goal,
            ...(goal === false ? { goalMiss: `${pct(ratio)} of the relay; ${fmtRate(0.6 * relay - rate)} msg/s short` } : {}),
          });
          if (sync === 'normal') ctx.s1Legacy = rate;
        } else {
          const ratio = rate / legacyRate;
          const goal = ratio >= 0.5;
          loadRow(ctx, '1', title, `${where}, ${flavour} (acks, delivered receipts), ${loadLabel(z)}`, thr.result, thr.usage, {
            ratio: `${ratio.toFixed(2)}x legacy, ${(rate / relay).toFixed(2)}x relay`,
            target: '>= 0.50x legacy',
            goal,
            ...(goal ? {} : { goalMiss: `${pct(ratio)} of the legacy rate` }),
          });
          if (sync === 'normal') ctx.s1V2 = rate;
        }
        if (sync === 'normal') {
          const lat = await measured(env, () => runPairs(pairs, { v2, open: { rate: z.rate1, durationMs: z.latencyMs } }));
          const p99 = lat.result.latency.p99;
          const goal = v2 ? null : p99 < 10;
          loadRow(ctx, '1', title, `${where}, ${flavour}, open loop ${fmtRate(z.rate1)} msg/s for ${z.latencyMs / 1000} s`, lat.result, lat.usage, {
            target: v2 ? '(reported)' : 'p99 < 10 ms',
            goal,
            ...(goal === false ? { goalMiss: `p99 ${fmtMs(p99)} ms, ${(p99 / 10).toFixed(1)}x the target` } : {}),
          });
        }
        closeAll(conns);
        await sleep(300);
      }
    } finally {
      await env.close();
    }
  }
}



export async function scenario2(ctx: Ctx): Promise<void> {
  const z = ctx.sizes;
  const P = z.pairs;
  const title = '2 one-to-one, across two processes';
  await relayBaseline(ctx, '2');
  const relay = ctx.relayRate!;
  log('scenario 2, cluster');
  const env = await openEnv(ctx, { kind: 'cluster', label: 's2', users: 4 * P, hash: 'real' });
  const [a, b] = [env.endpoints[0]!, env.endpoints[1]!];
  // pair i: sender on a and recipient on b for even i, the other way round for odd i
  const endpointOf = (k: number) => ((Math.floor(k / 2) % 2 === 0) === (k % 2 === 0) ? a : b);
  try {
    let legacyRate = NaN;
    for (const v2 of [false, true]) {
      const first = v2 ? 2 * P : 0;
      const conns = await loginMany(env, range(first, first + 2 * P), v2, endpointOf);
      const pairs = makePairs(env, conns, first);
      const flavour = v2 ? 'v2' : 'legacy';
      const thr = await measured(env, () => runPairs(pairs, closedLoad(z, v2)));
      const rate = thr.result.rate;
      if (!v2) {
        legacyRate = rate;
        const ratio = rate / relay;
        const goal = rate >= 30_000 && ratio >= 0.3;
        loadRow(ctx, '2', title, `cluster (MariaDB + Redis, 2 processes), ${flavour}, ${loadLabel(z)}`, thr.result, thr.usage, {
          ratio: `${ratio.toFixed(2)}x relay`,
          target: '>= 30,000 msg/s and >= 0.30x relay',
          goal,
          ...(goal ? {} : { goalMiss: `${fmtRate(rate)} msg/s = ${pct(rate / 30_000)} of 30,000; ${pct(ratio)} of the relay` }),
        });
      } else {
        const ratio = rate / legacyRate;
        loadRow(ctx, '2', title, `cluster, ${flavour} (acks, delivered receipts), ${loadLabel(z)}`, thr.result, thr.usage, {
          ratio: `${ratio.toFixed(2)}x legacy`,
          target: '>= 0.50x legacy',
          goal: ratio >= 0.5,
          ...(ratio >= 0.5 ? {} : { goalMiss: `${pct(ratio)} of the legacy rate` }),
        });
      }
      const lat = await measured(env, () => runPairs(pairs, { v2, open: { rate: z.rate2, durationMs: z.latencyMs } }));
      const p99 = lat.result.latency.p99;
      const goal = v2 ? null : p99 < 25;
      loadRow(ctx, '2', title, `cluster, ${flavour}, open loop ${fmtRate(z.rate2)} msg/s for ${z.latencyMs / 1000} s`, lat.result, lat.usage, {
        target: v2 ? '(reported)' : 'p99 < 25 ms',
        goal,
        ...(goal === false ? { goalMiss: `p99 ${fmtMs(p99)} ms, ${(p99 / 25).toFixed(1)}x the target` } : {}),
      });
      closeAll(conns);
      await sleep(500);
    }
  } finally {
    await env.close();
  }
}


