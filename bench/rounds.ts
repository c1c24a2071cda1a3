/**
 * One round of an alternating comparison (bench/ab.ts, bench/ws.ts): a closed loop 50 x 2000
 * (window 50) and an open loop for 3 s over the same pairs, with the server CPU per message;
 * and the sums of the rounds per side.
 */
import { runPairs, type Pair } from './pairs.js';
import { PhaseMeter } from './proc.js';
import { fmtMs, fmtRate } from './util.js';

export interface Round {
  /** closed loop */
  rate: number;
  cpuPerMsg: number;
  /** open loop */
  p50: number;
  p99: number;
  openCpuPerMsg: number;
  othersCpuSec: number;
  /** lost, duplicated and out-of-order messages of both loops */
  bad: number;
}

export async function closedThenOpen(pairs: Pair[], serverPids: number[], v2: boolean, openRate: number): Promise<Round> {
  const m1 = new PhaseMeter(serverPids);
  const thr = await runPairs(pairs, { v2, closed: { perPair: 2000, window: 50 } });
  const u1 = m1.stop();
  const m2 = new PhaseMeter(serverPids);
  const lat = await runPairs(pairs, { v2, open: { rate: openRate, durationMs: 3000 } });
  const u2 = m2.stop();
  return {
    rate: thr.rate,
    cpuPerMsg: (u1.server.cpuSec * 1e6) / thr.received,
    p50: lat.latency.p50,
    p99: lat.latency.p99,
    openCpuPerMsg: (u2.server.cpuSec * 1e6) / lat.received,
    othersCpuSec: u1.othersCpuSec + u2.othersCpuSec,
    bad: thr.lost + thr.duplicated + thr.outOfOrder + lat.lost + lat.duplicated + lat.outOfOrder,
  };
}

export function roundLine(name: string, round: number, r: Round, openRate: number): string {
  return (
    `${name} round ${round}: closed ${fmtRate(r.rate)} msg/s, ${r.cpuPerMsg.toFixed(1)} us server CPU/msg | ` +
    `open ${openRate / 1000}k/s p50 ${fmtMs(r.p50)} p99 ${fmtMs(r.p99)} ms, ${r.openCpuPerMsg.toFixed(1)} us CPU/msg | ` +
    `everything else ${r.othersCpuSec.toFixed(1)} CPU-s${r.bad ? ` | ${r.bad} LOST/DUP/OOO` : ''}`
  );
}

/** the rounds of each side, summed; `mean` divides by the rounds */
export class RoundSums {
  readonly #sums = new Map<string, { rate: number; cpu: number; p99: number; n: number }>();

  add(name: string, r: Round): void {
    const acc = this.#sums.get(name) ?? { rate: 0, cpu: 0, p99: 0, n: 0 };
    acc.rate += r.rate;
    acc.cpu += r.cpuPerMsg;
    acc.p99 += r.p99;
    acc.n++;
    this.#sums.set(name, acc);
  }

  mean(name: string): { rate: number; cpu: number; p99: number } {
    const s = this.#sums.get(name)!;
    return { rate: s.rate / s.n, cpu: s.cpu / s.n, p99: s.p99 / s.n };
  }

  meanLine(name: string, label = name): string {
    const m = this.mean(name);
    return `${label}: mean ${fmtRate(m.rate)} msg/s, ${m.cpu.toFixed(1)} us server CPU/msg, open-loop p99 ${fmtMs(m.p99)} ms`;
  }
}
