/**
 * Scenario 8: one message in flight per pair (a person's pace). 50 pairs in a closed loop with a
 * window of 1: each sender sends its next message only when its previous one was pushed to its
 * recipient, so every message's latency is the whole wait for its commit and push. Measured on
 * the relay (push at once, store nothing: the in-run stand-in for the original C++ server, which
 * cannot be built here), an embedded server (legacy and v2) and two cluster processes (legacy,
 * every message crossing Redis), all in one run.
 */
import { closeAll, loginMany, openEnv, type EnvRequest } from '../env.js';
import { runPairs } from '../pairs.js';
import { fmtMs, fmtRate, log, sleep } from '../util.js';
import { loadRow, makePairs, measured, range, type Ctx } from './common.js';

/** the original C++ server at one in flight per pair (issue 14, an outside tool, a busy machine) */
const ORIGINAL = { rate: 21_200, p50: 1.6, p99: 8.4 };

interface Phase {
  kind: EnvRequest['kind'];
  v2: boolean;
  label: string;
}

/** `cluster`: MariaDB and Redis are reachable (else the cluster phase is left out) */
export async function scenario8(ctx: Ctx, cluster: boolean): Promise<void> {
  const z = ctx.sizes;
  const P = z.pairs;
  const perPair = z.oneInFlight;
  const title = '8 one message in flight per pair';
  const load = `closed loop ${P}x${perPair}, window 1`;
  const phases: Phase[] = [
    ...(ctx.targets ? [] : [{ kind: 'relay' as const, v2: false, label: 'relay (bench/relay.ts), legacy' }]),
    { kind: 'embedded', v2: false, label: ctx.targets ? 'target server, legacy' : 'embedded, --sync normal, legacy' },
    { kind: 'embedded', v2: true, label: ctx.targets ? 'target server, v2' : 'embedded, --sync normal, v2 (acks, delivered receipts)' },
    ...(ctx.targets || !cluster ? [] : [{ kind: 'cluster' as const, v2: false, label: 'cluster (MariaDB + Redis, 2 processes, every message across), legacy' }]),
  ];
  let relayRate = NaN;
  for (const ph of phases) {
    log(`scenario 8, ${ph.label}`);
    const env = await openEnv(ph.kind === 'relay' ? { ...ctx, targets: null } : ctx, { kind: ph.kind, label: `s8${ph.kind}${ph.v2 ? 'v2' : ''}`, users: 2 * P, hash: 'cheap' });
    const [a, b] = [env.endpoints[0]!, env.endpoints[1] ?? env.endpoints[0]!];
    // as scenario 2: pair i's sender on a and recipient on b for even i, the other way round for odd i
    const endpointOf = (k: number) => ((Math.floor(k / 2) % 2 === 0) === (k % 2 === 0) ? a : b);
    try {
      const conns = await loginMany(env, range(0, 2 * P), ph.v2, endpointOf);
      const pairs = makePairs(env, conns, 0);
      const run = await measured(env, () => runPairs(pairs, { v2: ph.v2, closed: { perPair, window: 1 } }));
      const r = run.result;
      const { p50, p99 } = r.latency;
      const vsOriginal = `${(r.rate / ORIGINAL.rate).toFixed(2)}x the original's rate, p50 ${(p50 / ORIGINAL.p50).toFixed(2)}x`;
      if (ph.kind === 'relay') {
        relayRate = r.rate;
        loadRow(ctx, '8', title, `${ph.label}, ${load}`, r, run.usage, {
          ratio: '1.00x relay',
          target: '(reference)',
          notes: ['push at once, store nothing: the in-run stand-in for the original C++ server', vsOriginal],
        });
      } else {
        const goal = ph.kind === 'embedded' && !ph.v2 ? r.rate >= ORIGINAL.rate && p50 <= ORIGINAL.p50 : null;
        loadRow(ctx, '8', title, `${ph.label}, ${load}`, r, run.usage, {
          ...(Number.isNaN(relayRate) ? {} : { ratio: `${(r.rate / relayRate).toFixed(2)}x relay` }),
          target: goal === null ? '(reported)' : `>= ${fmtRate(ORIGINAL.rate)} msg/s and p50 <= ${ORIGINAL.p50} ms (the original C++ server)`,
          goal,
          ...(goal === false ? { goalMiss: `${fmtRate(r.rate)} msg/s, p50 ${fmtMs(p50)} ms, p99 ${fmtMs(p99)} ms` } : {}),
          notes: [vsOriginal],
        });
      }
      closeAll(conns);
      await sleep(300);
    } finally {
      await env.close();
    }
  }
}
