/** Small helpers shared by the benchmark: paths, timing, percentiles, formatting. */
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../lib/root.js';

/** the repository root (works from bench/ and dist/bench/) */
export const ROOT = REPO_ROOT;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** true when host:port of a URL accepts a TCP connection within a second */
export function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || defaultPort) });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * The ports a chatserver bound, from its "listening" log line (pino JSON), or null before it
 * logged it. Servers are started on port 0 and report the port the kernel chose, so no other
 * process can take it between a choice and the bind.
 */
export function listeningPorts(logs: string): { port: number; metricsPort: number | null; wsPort: number | null } | null {
  for (const line of logs.split('\n')) {
    if (!line.includes('"listening"')) continue;
    try {
      const e = JSON.parse(line) as { msg?: unknown; port?: unknown; metricsPort?: unknown; wsPort?: unknown };
      if (e.msg === 'listening' && typeof e.port === 'number') {
        return { port: e.port, metricsPort: typeof e.metricsPort === 'number' ? e.metricsPort : null, wsPort: typeof e.wsPort === 'number' ? e.wsPort : null };
      }
    } catch {
      // not a complete JSON line yet
    }
  }
  return null;
}

/**
 * A TCP port that was free a moment ago on 127.0.0.1. Another process can take it before the
 * caller binds it: only for programs that cannot bind port 0 and report it (redis-server,
 * mariadbd, nginx), whose starts retry on another port when the bind fails.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function waitFor(cond: () => boolean, ms: number, what: () => string = () => 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await sleep(5);
  }
}

/** latency samples (ms) in a growable Float64Array */
export class Samples {
  #data: Float64Array;
  #n = 0;
  constructor(capacity = 1024) {
    this.#data = new Float64Array(Math.max(16, capacity));
  }
  add(v: number): void {
    if (this.#n === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#n++] = v;
  }
  get count(): number {
    return this.#n;
  }
  summary(): LatencySummary {
    if (this.#n === 0) return { p50: NaN, p99: NaN, max: NaN, n: 0 };
    const s = this.#data.slice(0, this.#n).sort();
    const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
    return { p50: q(0.5), p99: q(0.99), max: s[s.length - 1]!, n: this.#n };
  }
}

export interface LatencySummary {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function fmtRate(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return Math.round(v).toLocaleString('en-US');
}

export function randomId(n = 6): string {
  return Math.random()
    .toString(36)
    .slice(2, 2 + n)
    .padEnd(n, '0');
}

/** a line to stderr with the time since the start of the run */
const t0 = Date.now();
export function log(msg: string): void {
  process.stderr.write(`[bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
}

/** runs `main` when `moduleUrl` is the script node was started with; exit 0 when it resolves, 1 with the error when it throws */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
