/**
 * The gate in front of password hashing. crypto.scrypt already runs on libuv's thread pool, so
 * a hash never blocks the event loop; but the pool runs four at once, and on a machine with
 * few cores four hashes take the CPU the event loop needs to move messages (docs/OPERATING.md,
 * "Password storage", has the measurement). So at most `concurrency` hashes run at once, at
 * most `maxWaiting` wait for their turn, and work past that is refused at once: the caller
 * answers errno 132 with `retryAfterMs`, which this gate estimates from recent hashes.
 */
import { performance } from 'node:perf_hooks';

export class HashGate {
  readonly #concurrency: number;
  readonly #maxWaiting: number;
  readonly #waiting: Array<() => void> = [];
  #running = 0;
  /** a moving average of one hash's time, ms */
  #avgMs = 100;

  constructor(concurrency: number, maxWaiting: number) {
    this.#concurrency = concurrency;
    this.#maxWaiting = maxWaiting;
  }

  /** runs `work` in its turn; null, at once, when `maxWaiting` already wait */
  run<T>(work: () => Promise<T>): Promise<T> | null {
    if (this.#running >= this.#concurrency && this.#waiting.length >= this.#maxWaiting) return null;
    return this.#turn(work);
  }

  async #turn<T>(work: () => Promise<T>): Promise<T> {
    // a finished hash hands its place straight to the next in line
    if (this.#running < this.#concurrency) this.#running++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.#avgMs = 0.8 * this.#avgMs + 0.2 * (performance.now() - started);
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }

  /** about how long until work that arrives now would get its turn, ms */
  get retryAfterMs(): number {
    return Math.ceil(((this.#waiting.length + 1) / this.#concurrency) * this.#avgMs);
  }

  /** what a refusal says: errmsg detail and retryAfterMs */
  refusal(): { detail: string; retryAfterMs: number } {
    const retryAfterMs = this.retryAfterMs;
    return { detail: `too many password checks waiting, try again in ${Math.ceil(retryAfterMs / 1000)} s`, retryAfterMs };
  }

  get waiting(): number {
    return this.#waiting.length;
  }
}
