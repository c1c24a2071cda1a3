/**
 * The gate in front of password hashing. crypto.scrypt already runs on libuv's thread pool, so
 * a hash never blocks the event loop; but the pool runs four at once, and on a machine with
 * few cores four hashes take the CPU the event loop needs to move messages (docs/OPERATING.md,
 * "Password storage", has the measurement). So at most `concurrency` hashes run at once, at
 * most `maxWaiting` wait for their turn, and work past that is refused at once: the caller
 * answers errno 132 with `retryAfterMs`, which this gate estimates from recent hashes. Each
 * refusal is told a later time than the one before (one hash time apart per thread): a
 * thousand clients refused at once come back spread at the rate hashes finish, not all at the
 * same moment to be refused together again.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

/** refusals are spread over at most this many times the wait of the queue as it is */
const SPREAD_MAX = 10;
/** at most one log line of refusals this often */
const LOG_EVERY_MS = 1000;

export class HashGate {
  readonly #concurrency: number;
  readonly #maxWaiting: number;
  readonly #waiting: Array<() => void> = [];
  #running = 0;
  /** a moving average of one hash's time, ms */
  #avgMs = 100;
  /** the latest time a refusal told a client to come back (performance.now() ms) */
  #promised = 0;
  /** refusals not logged yet, the last one's line, and when a line was last written */
  #unlogged = 0;
  #lastLine: { log: Logger; fields: Record<string, unknown>; msg: string } | null = null;
  #loggedAt = -Infinity;
  #logTimer: NodeJS.Timeout | undefined;

  constructor(concurrency: number, maxWaiting: number) {
    this.#concurrency = concurrency;
    this.#maxWaiting = maxWaiting;
  }

  /** runs `work` in its turn; null, at once, when `maxWaiting` already wait */
  run<T>(work: () => Promise<T>): Promise<T> | null {
    if (this.full) return null;
    return this.#turn(work);
  }

  /** work that arrives now is refused */
  get full(): boolean {
    return this.#running >= this.#concurrency && this.#waiting.length >= this.#maxWaiting;
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

  /** what a refusal says: errmsg detail and retryAfterMs, each a turn later than the last one's */
  refusal(): { detail: string; retryAfterMs: number } {
    const now = performance.now();
    const soonest = now + this.retryAfterMs;
    // a flood of refused guesses must not push an honest client's turn out of reach
    this.#promised = Math.min(Math.max(soonest, this.#promised + this.#avgMs / this.#concurrency), now + SPREAD_MAX * this.retryAfterMs);
    const retryAfterMs = Math.ceil(this.#promised - now);
    return { detail: `too many password checks waiting, try again in ${Math.ceil(retryAfterMs / 1000)} s`, retryAfterMs };
  }

  /**
   * Logs a refusal: the first at once, then at most a line a second saying how many there were.
   * The log writes synchronously on the event loop (lib/log.ts), and a thousand refusals at once
   * written one line each stalled it (a full stderr pipe makes each write wait 100 ms). The
   * count covers every refusal of this gate, logins and registrations alike; the line is the
   * last one's.
   */
  logRefusal(log: Logger, fields: Record<string, unknown>, msg: string): void {
    this.#unlogged++;
    this.#lastLine = { log, fields, msg };
    const wait = this.#loggedAt + LOG_EVERY_MS - performance.now();
    if (wait <= 0) this.#flushLog();
    else this.#logTimer ??= setTimeout(() => this.#flushLog(), wait).unref();
  }

  #flushLog(): void {
    clearTimeout(this.#logTimer);
    this.#logTimer = undefined;
    const line = this.#lastLine;
    if (!line || this.#unlogged === 0) return;
    line.log.info({ ...line.fields, refused: this.#unlogged }, line.msg);
    this.#unlogged = 0;
    this.#loggedAt = performance.now();
  }

  get waiting(): number {
    return this.#waiting.length;
  }
}
