/**
 * Several load-generator processes (bench/conn-worker.ts) holding scenario 5's idle
 * connections: each user's connection lives in one of them, its socket bound to one of the
 * loopback source addresses (one ephemeral port range each).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LoginJob, WorkerCommand, WorkerReply } from './conn-worker.js';
import { withFdLimit } from './fd-limit.js';
import { ROOT } from './util.js';

/**
 * connections per source address: well under the 28,232 ports of the default ephemeral range,
 * since a socket bound to an address (port 0) costs the kernel a search for a free port that
 * grows as the range fills
 */
export const PER_SOURCE_ADDRESS = 10_000;

/**
 * loopback source addresses for `n` connections, from 127.0.0.`first` on. Closed connections
 * leave their ports in TIME_WAIT for a minute, and a bound socket cannot take one: connections
 * made again right after take the next addresses.
 */
export function sourceAddresses(n: number, first = 2): string[] {
  return Array.from({ length: Math.max(1, Math.ceil(n / PER_SOURCE_ADDRESS)) }, (_, i) => `127.0.0.${first + i}`);
}

export interface PoolLogin {
  ms: number;
  ok: number;
  failed: number;
  firstError: string;
  /** aligned with the ids logged in ('' where none came back) */
  tokens: string[];
}

class Worker {
  readonly child: ChildProcess;
  #pending: Array<(r: WorkerReply) => void> = [];

  constructor(nofile: number) {
    const script = path.join(ROOT, 'dist/bench/conn-worker.js');
    if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build`);
    const [cmd, args] = withFdLimit(process.execPath, [script], nofile);
    this.child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (r: WorkerReply) => this.#pending.shift()?.(r));
  }

  /** one command at a time per worker: replies come in order */
  ask(cmd: WorkerCommand): Promise<WorkerReply> {
    return new Promise((resolve) => {
      this.#pending.push(resolve);
      this.child.send(cmd);
    });
  }
}

export class ConnPool {
  readonly #workers: Worker[];

  /** `workers` processes, each allowed `nofile` descriptors */
  constructor(workers: number, nofile: number) {
    this.#workers = Array.from({ length: workers }, () => new Worker(nofile));
  }

  get pids(): number[] {
    return this.#workers.map((w) => w.child.pid!);
  }

  /** logs `ids` in (contiguous shares per worker), with a password or one token per id */
  async login(job: Omit<LoginJob, 'op' | 'ids' | 'tokens'> & { ids: number[]; tokens?: string[] }): Promise<PoolLogin> {
    const share = Math.ceil(job.ids.length / this.#workers.length);
    const t0 = performance.now();
    const replies = await Promise.all(
      this.#workers.map((w, i) => {
        const from = i * share;
        const ids = job.ids.slice(from, from + share);
        return w.ask({ ...job, op: 'login', ids, ...(job.tokens ? { tokens: job.tokens.slice(from, from + share) } : {}) });
      }),
    );
    const ms = performance.now() - t0;
    const out: PoolLogin = { ms, ok: 0, failed: 0, firstError: '', tokens: [] };
    for (const r of replies) {
      if (r.op !== 'login') continue;
      out.ok += r.ok;
      out.failed += r.failed;
      out.firstError ||= r.firstError;
      out.tokens.push(...r.tokens);
    }
    return out;
  }

  /** every v2 connection pings once per `everyMs` (0: stop) */
  async heartbeat(everyMs: number): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.ask({ op: 'heartbeat', everyMs })));
  }

  /** open connections, and PONGs received so far */
  async count(): Promise<{ alive: number; pongs: number }> {
    const replies = await Promise.all(this.#workers.map((w) => w.ask({ op: 'count' })));
    let alive = 0;
    let pongs = 0;
    for (const r of replies) {
      if (r.op !== 'count') continue;
      alive += r.alive;
      pongs += r.pongs;
    }
    return { alive, pongs };
  }

  /** closes every connection (the workers stay) */
  async closeAll(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.ask({ op: 'close' })));
  }

  /** ends the workers */
  stop(): void {
    for (const w of this.#workers) {
      if (w.child.connected) w.child.disconnect();
    }
  }
}
