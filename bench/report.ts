/**
 * Result rows, the console table, and the generated part of docs/BENCHMARKS.md (between the
 * `bench:results` markers; everything else in that file is written by hand and kept).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { PhaseUsage } from './proc.js';
import { ROOT, fmtMs, fmtRate, type LatencySummary } from './util.js';

export interface Row {
  id: string;
  scenario: string;
  variant: string;
  sent?: number | undefined;
  acked?: number | undefined;
  received?: number | undefined;
  lost?: number | undefined;
  dup?: number | undefined;
  ooo?: number | undefined;
  rate?: number | undefined;
  /** what `rate` counts @default 'msg/s' */
  rateUnit?: string;
  latency?: LatencySummary | undefined;
  usage?: PhaseUsage | undefined;
  /** e.g. "0.42x relay", "17.1 KB/conn" */
  ratio?: string | undefined;
  target?: string | undefined;
  /** null: no target for this row */
  met?: boolean | null;
  /** how far off a missed target is */
  miss?: string | undefined;
  /** false when the row lost, duplicated or reordered a message, or got an error reply */
  correct?: boolean | undefined;
  command: string;
  notes: string[];
  /** when the row's run started (filled in by the runner) */
  run?: string;
}

export interface RunInfo {
  date: string;
  machine: string;
  command: string;
  quick: boolean;
  durationSec: number;
  /** how busy the machine was with other work (noiseNote) */
  noise?: string;
  /** `git describe --always --dirty` of the measured tree */
  revision?: string;
}

/** the measured tree's revision, e.g. `e99b509-dirty` (undefined outside a git checkout) */
export function revision(): string | undefined {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export function machineInfo(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus.length} x ${model}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

const num = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '-' : v.toLocaleString('en-US'));

function metCell(r: Row): string {
  if (r.met === undefined || r.met === null) return '';
  return r.met ? 'met' : `**missed**${r.miss ? ` (${r.miss})` : ''}`;
}

const HEAD = [
  'id',
  'scenario',
  'variant',
  'sent',
  'acked',
  'received',
  'lost',
  'dup',
  'ooo',
  'rate',
  'p50 ms',
  'p99 ms',
  'max ms',
  'server CPU s',
  'peak RSS MB',
  'ratio',
  'target',
  'result',
  'run',
  'command',
];

function cells(r: Row): string[] {
  const u = r.usage;
  return [
    r.id,
    r.scenario,
    r.variant,
    num(r.sent),
    num(r.acked),
    num(r.received),
    num(r.lost),
    num(r.dup),
    num(r.ooo),
    r.rate === undefined ? '-' : `${fmtRate(r.rate)} ${r.rateUnit ?? 'msg/s'}`,
    r.latency ? fmtMs(r.latency.p50) : '-',
    r.latency ? fmtMs(r.latency.p99) : '-',
    r.latency ? fmtMs(r.latency.max) : '-',
    u ? u.server.cpuSec.toFixed(2) : '-',
    u ? (u.server.peakRssKb / 1024).toFixed(0) : '-',
    r.ratio ?? '',
    r.target ?? '',
    metCell(r),
    r.run ?? '',
    `\`${r.command}\``,
  ];
}

export function markdownTable(rows: Row[]): string {
  const lines = [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${cells(r).map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  return lines.join('\n');
}

export function usageNote(u: PhaseUsage | undefined): string {
  if (!u) return '';
  const parts = [`wall ${u.wallSec.toFixed(1)} s`, `load generator CPU ${u.loadgenCpuSec.toFixed(2)} s`];
  if (u.servicesCpuSec > 0) parts.push(`MariaDB+Redis CPU ${u.servicesCpuSec.toFixed(2)} s`);
  if (u.dbStatements !== undefined) parts.push(`MariaDB statements ${u.dbStatements.toLocaleString('en-US')} (server-wide)`);
  parts.push(`everything else on the machine (other processes, interrupts) ${u.othersCpuSec.toFixed(2)} s`);
  return parts.join(', ');
}

export function notesList(rows: Row[]): string {
  const out: string[] = [];
  for (const r of rows) {
    const notes = [...r.notes];
    const u = usageNote(r.usage);
    if (u) notes.push(u);
    if (notes.length > 0) out.push(`- **${r.id}**: ${notes.join('; ')}`);
  }
  return out.join('\n');
}

/** how busy the machine was with work other than this benchmark, during the measured phases */
export function noiseNote(rows: Row[]): string {
  let others = 0;
  let wall = 0;
  for (const r of rows) {
    if (!r.usage) continue;
    others += r.usage.othersCpuSec;
    wall += r.usage.wallSec;
  }
  if (wall === 0) return '';
  const cores = others / wall;
  return `During the measured phases everything else on the machine (other processes, interrupt handling) used ${cores.toFixed(2)} of its ${os.cpus().length} cores on average${cores > 0.2 ? ' (numbers are disturbed accordingly; see "everything else" per row)' : ''}.`;
}

/** the scenario a row belongs to: the number its id starts with */
export function scenarioOf(r: Row): string {
  return /^\d+/.exec(r.id)?.[0] ?? r.id;
}

export function resultsSection(runs: RunInfo[], rows: Row[]): string {
  const lines: string[] = [];
  for (const info of runs) {
    const ids = rows.filter((r) => r.run === info.date).map((r) => r.id);
    lines.push(
      `- run **${info.date}**: \`${info.command}\`${info.revision ? ` at ${info.revision}` : ''} on ${info.machine}; ${info.quick ? 'quick (smoke) sizes' : 'full sizes'}, ${info.durationSec.toFixed(0)} s; rows ${ids.join(', ')}. ${info.noise ?? ''}`.trimEnd(),
    );
  }
  return [
    ...lines,
    '',
    'Each row\'s command reruns just its scenario (and replaces only that scenario\'s rows here).',
    '',
    markdownTable(rows),
    '',
    'Per-row details (CPU of everyone involved during the phase, extra counters):',
    '',
    notesList(rows),
  ].join('\n');
}

export const START = '<!-- bench:results:start (generated by `make bench`; edit outside these markers) -->';
export const END = '<!-- bench:results:end -->';

const DATA = '<!-- bench:data ';

/**
 * Replaces the generated section of docs/BENCHMARKS.md (creating the file if needed). The rows
 * of scenarios this run did not touch are kept from the previous section (its rows and runs are
 * stored as JSON in a comment there), so a partial run updates just its own scenarios.
 */
export function writeDoc(file: string, info: RunInfo, rows: Row[]): void {
  let text = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${START}\n${END}\n`;
  if (text.indexOf(START) === -1 || text.indexOf(END) < text.indexOf(START)) text = `${text.trimEnd()}\n\n${START}\n${END}\n`;
  const s = text.indexOf(START);
  const e = text.indexOf(END);
  const old = text.slice(s + START.length, e);
  let prev: { runs: RunInfo[]; rows: Row[] } = { runs: [], rows: [] };
  const d = old.indexOf(DATA);
  if (d !== -1) {
    try {
      prev = JSON.parse(old.slice(d + DATA.length, old.indexOf(' -->', d))) as typeof prev;
    } catch {
      // an unreadable previous section is replaced whole
    }
  }
  const rerun = new Set(rows.map(scenarioOf));
  const merged = [...prev.rows.filter((r) => !rerun.has(scenarioOf(r))), ...rows].sort(
    (a, b) => Number(scenarioOf(a)) - Number(scenarioOf(b)) || (a.run ?? '').localeCompare(b.run ?? '') || a.id.localeCompare(b.id, 'en', { numeric: true }),
  );
  const used = new Set(merged.map((r) => r.run));
  const runs = [...prev.runs.filter((r) => r.date !== info.date), info].filter((r) => used.has(r.date)).sort((a, b) => a.date.localeCompare(b.date));
  const data = JSON.stringify({ runs, rows: merged }).replace(/--/g, '-\\u002d');
  text = `${text.slice(0, s + START.length)}\n${resultsSection(runs, merged)}\n\n${DATA}${data} -->\n${text.slice(e)}`;
  writeFileSync(file, text);
}

/** a plain-text table for the console */
export function consoleTable(rows: Row[]): string {
  const head = ['id', 'variant', 'sent', 'acked', 'recv', 'lost', 'dup', 'ooo', 'rate', 'p50', 'p99', 'max', 'cpu s', 'rss MB', 'ratio', 'result'];
  const body = rows.map((r) => {
    const c = cells(r);
    return [c[0]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!, c[14]!, c[15]!, metCell(r).replace(/\*/g, '')];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cols: string[]) => cols.map((c, i) => (i <= 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(head), ...body.map(fmt)].join('\n');
}
