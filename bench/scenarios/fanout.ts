/**
 * Scenario 3: group fan-out over two cluster processes, groups of 10, 200 and 1000 members.
 */
import { closeAll, loginMany, openEnv } from '../env.js';
import { runGroup, type GroupLoad } from '../groups.js';
import { fmtMs, fmtRate, log, sleep } from '../util.js';
import { loadRow, measured, range, type Ctx } from './common.js';

export async function scenario3(ctx: Ctx): Promise<void> {
  const z = ctx.sizes;
  const title = '3 group fan-out, two processes';
  const biggest = Math.max(...z.groupSizes);
  log(`scenario 3, cluster, groups of ${z.groupSizes.join(', ')}`);
  const env = await openEnv(ctx, {
    kind: 'cluster',
    label: 's3',
    users: biggest,
    hash: 'cheap',
    groups: z.groupSizes.map((m) => ({ name: `g${m}`, members: m })),
  });
  const endpointOf = (k: number) => env.endpoints[k % env.endpoints.length]!;
  const where = ctx.targets ? 'target' : 'cluster';
  const stub = ctx.targets ? [] : ['login hashing stubbed (bench/cheap-scrypt.ts preload): not on the message path'];
  try {
    for (const v2 of [false, true]) {
      const sizes = v2 ? [biggest] : z.groupSizes;
      const conns = await loginMany(env, range(0, biggest), v2, endpointOf, 200);
      const flavour = v2 ? 'v2' : 'legacy';
      for (const m of sizes) {
        const gi = z.groupSizes.indexOf(m);
        const groupid = env.groupIds[gi]!;
        const sender = conns[0]!;
        const members = conns.slice(1, m);
        const one: GroupLoad = { v2, messages: z.groupMsgs, window: 1, gapMs: 20 };
        const lat = await measured(env, () => runGroup(sender, members, groupid, one));
        const p99 = lat.result.latency.p99;
        const goal = m >= 1000 && !v2 ? p99 < 100 : null;
        loadRow(ctx, '3', title, `${where}, group of ${m} (half on each process), ${flavour}, ${z.groupMsgs} messages one at a time`, lat.result, lat.usage, {
          rateUnit: 'deliveries/s',
          target: m >= 1000 && !v2 ? 'p99 < 100 ms' : '(reported)',
          goal,
          ...(goal === false ? { goalMiss: `p99 ${fmtMs(p99)} ms, ${(p99 / 100).toFixed(1)}x the target` } : {}),
          notes: [`a message reached all ${m - 1} other members in p50 ${fmtMs(lat.result.extra.everyoneP50!)} ms, max ${fmtMs(lat.result.extra.everyoneMax!)} ms`, ...stub],
        });
        if (m >= 100) {
          const burst = await measured(env, () => runGroup(sender, members, groupid, { v2, messages: z.groupBurst, window: z.groupWindow }));
          loadRow(ctx, '3', title, `${where}, group of ${m}, ${flavour}, ${z.groupBurst} messages, ${z.groupWindow} in flight`, burst.result, burst.usage, {
            rateUnit: 'deliveries/s',
            target: '(reported)',
            notes: [`= ${fmtRate(burst.result.rate / (m - 1))} group messages/s`, ...stub],
          });
        }
      }
      closeAll(conns);
      await sleep(1000);
    }
  } finally {
    await env.close();
  }
}


