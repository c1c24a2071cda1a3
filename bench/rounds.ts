/**
 * One round of an alternating comparison (bench/ab.ts, bench/ws.ts): a closed loop 50 x 2000
 * (window 50; with window 1, one message in flight per pair as scenario 8, 50 x 400) and an
 * open loop for 3 s over the same pairs, with the server CPU per message; and the sums of the
 * rounds per side.
 */
import { runPairs, type Pair } from './pairs.js';
import { PhaseMeter } from './proc.js';
import { fmtMs, fmtRate } from './util.js';

export interface Round {
  /** closed loop */
  rate: number;
  cpuPerMsg: number;
  closedP50: number;
  closedP99: number;
  /** open loop */
  p50: number;
  p99: number;
  openCpuPerMsg: number;
  othersCpuSec: number;
  /** lost, duplicated and out-of-order messages of both loops */
  bad: number;
}

export async function closedThenOpen(pairs: Pair[], serverPids: number[], v2: boolean, openRate: number, window = 50): Promise<Round> {
  const m1 = new PhaseMeter(serverPids);
  const thr = await runPairs(pairs, { v2, closed: { perPair: window === 1 ? 400 : 2000, window } });
  const u1 = m1.stop();
  const m2 = new PhaseMeter(serverPids);
  const lat = await runPairs(pairs, { v2, open: { rate: openRate, durationMs: 3000 } });
  const u2 = m2.stop();
  return {
    rate: thr.rate,
    cpuPerMsg: (u1.server.cpuSec * 1e6) / thr.received,
    closedP50: thr.latency.p50,
    closedP99: thr.latency.p99,
    p50: lat.latency.p50,
    p99: lat.latency.p99,
    openCpuPerMsg: (u2.server.cpuSec * 1e6) / lat.received,
    othersCpuSec: u1.othersCpuSec + u2.othersCpuSec,
    bad: thr.lost + thr.duplicated + thr.outOfOrder + lat.lost + lat.duplicated + lat.outOfOrder,
  };
}

export function roundLine(name: string, round: number, r: Round, openRate: number): string {
  return (
    `${name} round ${round}: closed ${fmtRate(r.rate)} msg/s, p50 ${fmtMs(r.closedP50)} p99 ${fmtMs(r.closedP99)} ms, ${r.cpuPerMsg.toFixed(1)} us server CPU/msg | ` +
    `open ${openRate / 1000}k/s p50 ${fmtMs(r.p50)} p99 ${fmtMs(r.p99)} ms, ${r.openCpuPerMsg.toFixed(1)} us CPU/msg | ` +
    `everything else ${r.othersCpuSec.toFixed(1)} CPU-s${r.bad ? ` | ${r.bad} LOST/DUP/OOO` : ''}`
  );
}

/** the rounds of each side, summed; `mean` divides by the rounds */
export class RoundSums {
  readonly #sums = new Map<string, { rate: number; cpu: number; p99: number; closedP50: number; closedP99: number; n: number }>();

  add(name: string, r: Round): void {
    const acc = this.#sums.get(name) ?? { rate: 0, cpu: 0, p99: 0, closedP50: 0, closedP99: 0, n: 0 };
    acc.rate += r.rate;
    acc.cpu += r.cpuPerMsg;
    acc.p99 += r.p99;
    acc.closedP50 += r.closedP50;
    acc.closedP99 += r.closedP99;
    acc.n++;
    this.#sums.set(name, acc);
  }

  mean(name: string): { rate: number; cpu: number; p99: number; closedP50: number; closedP99: number } {
    const s = this.#sums.get(name)!;
    return { rate: s.rate / s.n, cpu: s.cpu / s.n, p99: s.p99 / s.n, closedP50: s.closedP50 / s.n, closedP99: s.closedP99 / s.n };
  }

  meanLine(name: string, label = name): string {
    const m = this.mean(name);
    return (
      `${label}: mean ${fmtRate(m.rate)} msg/s (closed-loop p50 ${fmtMs(m.closedP50)} p99 ${fmtMs(m.closedP99)} ms), ` +
      `${m.cpu.toFixed(1)} us server CPU/msg, open-loop p99 ${fmtMs(m.p99)} ms`
    );
  }
}
