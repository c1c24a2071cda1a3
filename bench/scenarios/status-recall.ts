/**
 * Scenario 6: scenario 1's v2 load with read markers and recalls mixed in. The plain load (the
 * reference) and the mixed load alternate on the same server and connections, `rounds` times
 * each, so both see the same database size and the same background noise; the verdict compares
 * their summed rates. Scenario 1's v2 rate of the same run is quoted beside it.
 */
import { closeAll, loginMany, openEnv } from '../env.js';
import { runPairs, type PairLoad } from '../pairs.js';
import { fmtRate, log } from '../util.js';
import { closedLoad, loadLabel, loadRow, makePairs, measured, pct, range, type Ctx } from './common.js';

export async function scenario6(ctx: Ctx, rounds = ctx.quick ? 1 : 2): Promise<void> {
  const z = ctx.sizes;
  const P = z.pairs;
  const title = '6 one-to-one with read markers and recalls';
  const where = ctx.targets ? 'target' : 'embedded, --sync normal';
  log(`scenario 6, ${where}, v2: plain and with read markers and recalls, alternating x${rounds}`);
  const env = await openEnv(ctx, { kind: 'embedded', label: 's6', users: 2 * P, hash: 'real' });
  try {
    const conns = await loginMany(env, range(0, 2 * P), true, () => env.endpoints[0]!);
    const pairs = makePairs(env, conns, 0);
    const plain = closedLoad(z, true);
    const mixed: PairLoad = closedLoad(z, true, { readEvery: z.readEvery, recallEvery: z.recallEvery });
    let refSum = 0;
    let mixSum = 0;
    const mixedRows = [];
    for (let round = 1; round <= rounds; round++) {
      const r = await measured(env, () => runPairs(pairs, plain));
      refSum += r.result.rate;
      loadRow(ctx, '6', title, `reference${rounds > 1 ? ` #${round}` : ''}: ${where}, v2, no reads or recalls, ${loadLabel(z)}`, r.result, r.usage, {
        target: '(reference)',
      });
      const m = await measured(env, () => runPairs(pairs, mixed));
      mixSum += m.result.rate;
      const x = m.result.extra;
      const mixOk = x.recallAcks === x.recallsSent && x.recallEvents === x.recallAcks && x.readAcks === x.readsSent;
      mixedRows.push({ row: loadRow(ctx, '6', title, `mixed${rounds > 1 ? ` #${round}` : ''}: ${where}, v2, a read marker every ${z.readEvery} received, a recall of every ${z.recallEvery}th message, ${loadLabel(z)}`, m.result, m.usage), mixOk, rate: m.result.rate });
    }
    // the verdict on every mixed row: the summed mixed rate against the summed reference rate
    const ratio = mixSum / refSum;
    for (const { row, mixOk, rate } of mixedRows) {
      const goal = ratio >= 0.85 && mixOk;
      row.ratio = `${(rate / (refSum / rounds)).toFixed(2)}x reference`;
      row.target = '>= 0.85x plain v2 (rounds summed)';
      // a row that lost, duplicated or reordered keeps its failure
      if (row.correct !== false) {
        row.met = goal;
        if (!goal) row.miss = mixOk ? `all rounds: ${pct(ratio)} of the plain rate, costs ${pct(1 - ratio)}` : 'reads or recalls not all answered';
      }
      row.notes.unshift(
        `all rounds: mixed ${fmtRate(mixSum / rounds)} msg/s vs plain ${fmtRate(refSum / rounds)} msg/s = ${ratio.toFixed(2)}x${ctx.s1V2 !== undefined ? `; scenario 1 v2 of this run: ${fmtRate(ctx.s1V2)} msg/s` : ''}`,
      );
    }
    closeAll(conns);
  } finally {
    await env.close();
  }
}
