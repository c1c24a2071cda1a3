/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, written by `npm run bench -- --cpu-prof`):
 * self time per function (with file:line) and per file, the top N of each.
 *
 *   node dist/bench/profile.js <file.cpuprofile>... [--top 25]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './util.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** total minus idle */
  busyMs: number;
  functions: Array<{ name: string; where: string; ms: number; pct: number }>;
  files: Array<{ where: string; ms: number; pct: number }>;
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const p = url.startsWith('file://') ? new URL(url).pathname : url;
  if (p.startsWith(ROOT)) return path.relative(ROOT, p);
  return p.replace(/^.*\/node_modules\//, 'node_modules/');
}

const cache = new Map<string, CpuProfile>();

/**
 * Self time per function and per file; `window` ([from, to] in microseconds of the monotonic
 * clock, as PhaseUsage.windowUs) keeps only the samples of one phase.
 */
export function summarise(file: string, top = 25, window?: [number, number]): ProfileSummary {
  let prof = cache.get(file);
  if (!prof) {
    prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    cache.set(file, prof);
  }
  const byId = new Map<number, ProfileNode>();
  for (const n of prof.nodes) byId.set(n.id, n);
  const self = new Map<number, number>();
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (window && (t < window[0] || t > window[1])) continue;
    const id = prof.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const files = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    total += us;
    if (cf.functionName === '(idle)') idle += us;
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName}@${where}`;
    const e = fn.get(key) ?? { name: cf.functionName || '(anonymous)', where, us: 0 };
    e.us += us;
    fn.set(key, e);
    const f = cf.url ? shortUrl(cf.url) : cf.functionName;
    files.set(f, (files.get(f) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number) => (busy > 0 ? (us / busy) * 100 : 0);
  return {
    file,
    totalMs: total / 1000,
    busyMs: busy / 1000,
    functions: [...fn.values()]
      .filter((e) => e.name !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, pct: pct(e.us) })),
    files: [...files.entries()]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ where, ms: us / 1000, pct: pct(us) })),
  };
}

export function formatSummary(s: ProfileSummary, title = path.basename(s.file)): string {
  const lines = [`${title}: ${s.busyMs.toFixed(0)} ms busy of ${s.totalMs.toFixed(0)} ms profiled`, '  self time by function (% of busy):'];
  for (const f of s.functions) lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}  ${f.where}`);
  lines.push('  self time by file:');
  for (const f of s.files) lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.ms.toFixed(0).padStart(7)} ms  ${f.where}`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const t = args.indexOf('--top');
  const top = t === -1 ? 25 : Number(args[t + 1]);
  const files = args.filter((a, i) => a !== '--top' && (t === -1 || i !== t + 1));
  if (files.length === 0) {
    console.error('usage: node dist/bench/profile.js <file.cpuprofile>... [--top N]');
    process.exit(2);
  }
  for (const f of files) console.log(formatSummary(summarise(f, top)) + '\n');
}
