/**
 * scrypt on worker threads of the lowest CPU priority. crypto.scrypt runs on libuv's thread
 * pool, whose threads have the event loop's priority: on a machine with few cores a hash in
 * progress takes the core the event loop needs to move messages, and chat latency follows the
 * login rate (docs/OPERATING.md, "Password storage", has the measurement). Each worker here
 * lowers its own thread's nice value (Linux: setpriority(2) on a thread id applies to that thread
 * alone, and lowering needs no privilege), so the scheduler gives the event loop the core first
 * and hashes take what is left. How many hashes run at once is the HashGate's business
 * (hash-gate.ts); this pool only starts a thread per hash running.
 */
import { Worker } from 'node:worker_threads';
import type { ScryptOptions } from 'node:crypto';

/** the worker, plain JavaScript: evaluated, so it needs no file beside the compiled one */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// a process's --import preloads run in its main thread only (Node 20); load them here too,
// so a preload that replaces scrypt (the benchmark's cheap-scrypt) applies to these threads
Promise.all(workerData.preloads.map((p) => import(p))).then(() => {
  const crypto = require('node:crypto');
  let niced = null;
  try {
    const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
    require('node:os').setPriority(tid, workerData.nice);
    niced = require('node:os').getPriority(tid);
  } catch (err) {
    niced = String(err && err.message);
  }
  parentPort.postMessage({ ready: true, niced });
  parentPort.on('message', (job) => {
    try {
      const key = crypto.scryptSync(job.password, job.salt, job.keylen, job.opts);
      parentPort.postMessage({ id: job.id, key: new Uint8Array(key) });
    } catch (err) {
      parentPort.postMessage({ id: job.id, error: String(err && err.message) });
    }
  });
});
`;

type Reply = { ready: true; niced: number | string } | { id: number; key: Uint8Array } | { id: number; error: string };

interface Pending {
  resolve: (key: Buffer) => void;
  reject: (err: Error) => void;
}

class ScryptThread {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  /** the thread's nice value once it reported it, or why it could not set it */
  niced: number | string | null = null;

  constructor(nice: number, preloads: string[], onGone: (t: ScryptThread, err: Error) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { nice, preloads } });
    // an idle pool does not keep the process alive
    this.worker.unref();
    this.worker.on('message', (m: Reply) => {
      if ('ready' in m) {
        this.niced = m.niced;
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('key' in m) p.resolve(Buffer.from(m.key.buffer, m.key.byteOffset, m.key.byteLength));
      else p.reject(new Error(m.error));
    });
    this.worker.on('error', (err) => onGone(this, err));
    this.worker.on('exit', (code) => onGone(this, new Error(`scrypt worker exited with code ${code}`)));
  }
}

/** `--import` preloads of this process (a worker's own execArgv does not run them on Node 20) */
function importPreloads(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (a === '--import' && execArgv[i + 1] !== undefined) out.push(execArgv[++i]!);
    else if (a.startsWith('--import=')) out.push(a.slice('--import='.length));
  }
  return out;
}

export class ScryptPool {
  readonly #size: number;
  readonly #nice: number;
  readonly #preloads = importPreloads(process.execArgv);
  readonly #threads: ScryptThread[] = [];
  #nextId = 1;
  #closed = false;

  /** `size` threads at most (started on first use), each at CPU priority `nice` (0..19) */
  constructor(size: number, nice: number) {
    this.#size = size;
    this.#nice = nice;
  }

  /** crypto.scrypt's result, computed on one of the pool's threads */
  derive(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('the scrypt pool is closed'));
    const thread = this.#pick();
    const id = this.#nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      if (thread.pending.size === 1) thread.worker.ref();
      thread.worker.postMessage({ id, password, salt, keylen, opts });
    }).finally(() => {
      if (thread.pending.size === 0) thread.worker.unref();
    });
  }

  /** nice values the started threads report (a string: why a thread could not lower its own) */
  get priorities(): Array<number | string | null> {
    return this.#threads.map((t) => t.niced);
  }

  /** the least busy thread, a new one while there are fewer than `size` and all are busy */
  #pick(): ScryptThread {
    let best: ScryptThread | undefined;
    for (const t of this.#threads) if (!best || t.pending.size < best.pending.size) best = t;
    if (best && (best.pending.size === 0 || this.#threads.length >= this.#size)) return best;
    const thread = new ScryptThread(this.#nice, this.#preloads, (t, err) => this.#gone(t, err));
    this.#threads.push(thread);
    return thread;
  }

  /** a thread that failed or exited: its hashes fail, the next one starts a new thread */
  #gone(thread: ScryptThread, err: Error): void {
    const i = this.#threads.indexOf(thread);
    if (i >= 0) this.#threads.splice(i, 1);
    for (const p of thread.pending.values()) p.reject(err);
    thread.pending.clear();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const threads = this.#threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}
