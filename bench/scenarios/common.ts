/**
 * What every scenario shares: sizes, the run context, phase measurement, result rows with
 * their correctness check (no loss, no duplicate, no disorder, no error), pairs, and the relay
 * baseline that scenarios 1 and 2 compare with.
 */
import type { BenchConn } from '../conn.js';
import { closeAll, loginMany, openEnv, type BenchEnv, type EnvConfig } from '../env.js';
import { runPairs, type LoadResult, type Pair, type PairLoad } from '../pairs.js';
import { PhaseMeter, type PhaseUsage } from '../proc.js';
import type { Row } from '../report.js';
import { fmtMs, fmtRate, log } from '../util.js';

export interface Sizes {
  pairs: number;
  perPair: number;
  window: number;
  /** scenario 1 open-loop rate, msg/s */
  rate1: number;
  /** scenario 2 open-loop rate, msg/s */
  rate2: number;
  latencyMs: number;
  groupSizes: number[];
  /** one-at-a-time messages per group */
  groupMsgs: number;
  /** burst messages per group (window groupWindow) */
  groupBurst: number;
  groupWindow: number;
  offlineUsers: number;
  offlineSenders: number;
  /** messages each offline user gets (spread over the senders) */
  offlinePerUser: number;
  /** idle connection counts, legacy */
  conns: number[];
  /** idle connection count, v2 (0: skip) */
  connsV2: number;
  /** logins measured with the real password hashing */
  loginSample: number;
  /** members of the group whose members all log in (legacy) */
  bigGroup: number;
  /** scenario 6 mix */
  readEvery: number;
  recallEvery: number;
  /** scenario 8: messages per pair, one in flight */
  oneInFlight: number;
}

export const FULL: Sizes = {
  pairs: 50,
  perPair: 2000,
  window: 50,
  rate1: 10_000,
  rate2: 5_000,
  latencyMs: 5_000,
  groupSizes: [10, 200, 1000],
  groupMsgs: 20,
  groupBurst: 100,
  groupWindow: 10,
  offlineUsers: 20,
  offlineSenders: 10,
  offlinePerUser: 1000,
  conns: [100_000],
  connsV2: 100_000,
  loginSample: 100,
  bigGroup: 1000,
  readEvery: 10,
  recallEvery: 20,
  oneInFlight: 400,
};

/** a few seconds per scenario (`--quick`) */
export const QUICK: Sizes = {
  pairs: 5,
  perPair: 200,
  window: 20,
  rate1: 2_000,
  rate2: 1_000,
  latencyMs: 1_000,
  groupSizes: [10, 50],
  groupMsgs: 3,
  groupBurst: 10,
  groupWindow: 5,
  offlineUsers: 4,
  offlineSenders: 2,
  offlinePerUser: 100,
  conns: [300],
  connsV2: 300,
  loginSample: 10,
  bigGroup: 50,
  readEvery: 10,
  recallEvery: 20,
  oneInFlight: 50,
};

export interface Ctx extends EnvConfig {
  sizes: Sizes;
  quick: boolean;
  rows: Row[];
  /** the command that reruns one scenario */
  cmd: (scenario: string) => string;
  /** relay legacy closed-loop rate of this run */
  relayRate?: number;
  /** scenario 1 rates of this run (embedded, --sync normal) */
  s1Legacy?: number;
  s1V2?: number;
  /** row id counters */
  ids: Map<string, number>;
}

/** the CI smoke test (test/bench/smoke.test.ts): tinier still */
export const SMOKE: Sizes = {
  ...QUICK,
  pairs: 4,
  perPair: 100,
  window: 20,
  rate1: 1_000,
  rate2: 500,
  latencyMs: 500,
  offlineUsers: 3,
  offlineSenders: 2,
  offlinePerUser: 40,
};

export const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** row ids: 1a, 1b, ... per scenario */
export function nextId(ctx: Ctx, scenario: string): string {
  const n = ctx.ids.get(scenario) ?? 0;
  ctx.ids.set(scenario, n + 1);
  return `${scenario}${String.fromCharCode(97 + n)}`;
}

export async function measured<T>(env: BenchEnv, fn: () => Promise<T>): Promise<{ result: T; usage: PhaseUsage }> {
  const q0 = env.dbStatements ? await env.dbStatements() : NaN;
  const meter = new PhaseMeter(env.serverPids, env.servicePids, env.serverNames);
  const result = await fn();
  const usage = meter.stop();
  if (env.dbStatements) usage.dbStatements = (await env.dbStatements()) - q0 - 1;
  return { result, usage };
}

/** no loss, no duplicates, no disorder, no errors, every v2 send acked */
export function correct(r: LoadResult): boolean {
  return r.lost === 0 && r.duplicated === 0 && r.outOfOrder === 0 && r.errors === 0 && (Number.isNaN(r.acked) || r.acked === r.sent);
}

export function correctnessMiss(r: LoadResult): string {
  const bad: string[] = [];
  if (r.lost) bad.push(`${r.lost} lost`);
  if (r.duplicated) bad.push(`${r.duplicated} duplicated`);
  if (r.outOfOrder) bad.push(`${r.outOfOrder} out of order`);
  if (r.errors) bad.push(`${r.errors} errors, first: ${r.firstError ?? ''}`);
  if (!Number.isNaN(r.acked) && r.acked !== r.sent) bad.push(`${r.sent - r.acked} not acked`);
  return bad.join(', ');
}

export function loadRow(
  ctx: Ctx,
  scenario: string,
  title: string,
  variant: string,
  r: LoadResult,
  usage: PhaseUsage,
  opts: { ratio?: string; target?: string; goal?: boolean | null; goalMiss?: string; notes?: string[]; rateUnit?: string } = {},
): Row {
  const ok = correct(r);
  let met: boolean | null = opts.goal === undefined ? null : opts.goal;
  let miss = opts.goalMiss;
  if (!ok) {
    met = false;
    miss = correctnessMiss(r) + (miss ? `; ${miss}` : '');
  }
  const notes = [...(opts.notes ?? [])];
  const ex = Object.entries(r.extra).filter(([k, v]) => v !== 0 && k !== 'sendLagMaxMs' && !Number.isNaN(v));
  if (ex.length > 0) notes.push(ex.map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(1)}`).join(', '));
  if (r.extra.sendLagMaxMs) notes.push(`load generator send lag max ${fmtMs(r.extra.sendLagMaxMs)} ms`);
  if (r.firstError) notes.push(`first error: ${r.firstError.slice(0, 200)}`);
  const row: Row = {
    id: nextId(ctx, scenario),
    scenario: title,
    variant,
    sent: r.sent,
    acked: Number.isNaN(r.acked) ? undefined : r.acked,
    received: r.received,
    lost: r.lost,
    dup: r.duplicated,
    ooo: r.outOfOrder,
    rate: r.rate,
    rateUnit: opts.rateUnit ?? 'msg/s',
    latency: r.latency,
    usage,
    ratio: opts.ratio,
    target: opts.target,
    met,
    miss,
    correct: ok,
    command: ctx.cmd(scenario),
    notes,
  };
  ctx.rows.push(row);
  log(`${row.id} ${variant}: ${fmtRate(r.rate)} ${row.rateUnit}, p99 ${fmtMs(r.latency.p99)} ms, lost ${r.lost}, dup ${r.duplicated}, ooo ${r.outOfOrder}${met === false ? `, MISSED ${miss ?? ''}` : ''}`);
  return row;
}

export const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;

/** pairs from consecutive connections: conns[2i] sends to conns[2i+1] */
export function makePairs(env: BenchEnv, conns: BenchConn[], firstUser: number): Pair[] {
  const pairs: Pair[] = [];
  for (let i = 0; i + 1 < conns.length; i += 2) {
    pairs.push({ sender: conns[i]!, recipient: conns[i + 1]!, senderId: env.userIds[firstUser + i]!, recipientId: env.userIds[firstUser + i + 1]! });
  }
  return pairs;
}

export function closedLoad(z: Sizes, v2: boolean, extra: Partial<PairLoad> = {}): PairLoad {
  return { v2, closed: { perPair: z.perPair, window: z.window }, ...extra };
}

export function loadLabel(z: Sizes): string {
  return `closed loop ${z.pairs}x${z.perPair}, window ${z.window}`;
}



/** the relay's rows go under the scenario that needed them first in this run (1, or 2 alone) */
export async function relayBaseline(ctx: Ctx, scenario: '1' | '2'): Promise<void> {
  if (ctx.relayRate !== undefined) return;
  const z = ctx.sizes;
  const P = z.pairs;
  log('relay baseline');
  const env = await openEnv({ ...ctx, targets: null }, { kind: 'relay', label: 'relay', users: 2 * P, hash: 'real' });
  try {
    const conns = await loginMany(env, range(0, 2 * P), false, () => env.endpoints[0]!);
    const pairs = makePairs(env, conns, 0);
    const thr = await measured(env, () => runPairs(pairs, closedLoad(z, false)));
    ctx.relayRate = thr.result.rate;
    loadRow(ctx, scenario, 'baseline: minimal relay', `relay (bench/relay.ts), legacy, ${loadLabel(z)}`, thr.result, thr.usage, {
      ratio: '1.00x relay',
      notes: ['no storage: the ceiling the load generator and the loopback allow on this machine'],
    });
    const lat = await measured(env, () => runPairs(pairs, { v2: false, open: { rate: z.rate1, durationMs: z.latencyMs } }));
    loadRow(ctx, scenario, 'baseline: minimal relay', `relay, legacy, open loop ${fmtRate(z.rate1)} msg/s for ${z.latencyMs / 1000} s`, lat.result, lat.usage);
    closeAll(conns);
  } finally {
    await env.close();
  }
}
