/**
 * Per-client limits that keep one client from hurting the others: a token bucket for frames
 * per connection, and brute-force throttling of failed logins per account and per address.
 */

/** frames per second with a burst; `take()` is false when the bucket is empty */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(ratePerSec: number, burst: number, now = performance.now()) {
    this.#rate = ratePerSec / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  take(now = performance.now()): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#rate);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * Takes a token even when there is none: the bucket goes into debt, and waitMs() says how
   * long the client must be held off to pay it back (for clients that are slowed, not refused).
   */
  takeOnCredit(now = performance.now()): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#rate) - 1;
    this.#at = now;
  }

  /** ms until one token is there */
  waitMs(): number {
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#rate);
  }
}

export interface ThrottleOptions {
  /** failures tolerated before replies to further failures are delayed */
  freeFailures: number;
  /** the first delay, doubled with each further failure @default 250 */
  baseDelayMs: number;
  maxDelayMs: number;
  /** a failure is forgotten after this long */
  windowMs: number;
  /** most tracked keys; the oldest are forgotten first */
  maxKeys: number;
}

/**
 * Failed logins per key (an account, an address). A correct password is never delayed; a wrong
 * one is answered only after a delay that doubles with each failure past the free ones, so
 * guessing gets slower and slower, while the account's owner logs in at once.
 */
export class LoginThrottle {
  readonly #opts: ThrottleOptions;
  readonly #failures = new Map<string, { count: number; last: number }>();

  constructor(opts: ThrottleOptions) {
    this.#opts = opts;
  }

  /** how long to hold the failure reply for these keys (after recording this failure) */
  fail(keys: string[], now = Date.now()): number {
    let worst = 0;
    for (const key of keys) {
      const prev = this.#failures.get(key);
      const count = prev && now - prev.last < this.#opts.windowMs ? prev.count + 1 : 1;
      this.#failures.delete(key);
      this.#failures.set(key, { count, last: now });
      worst = Math.max(worst, count);
    }
    while (this.#failures.size > this.#opts.maxKeys) this.#failures.delete(this.#failures.keys().next().value!);
    const over = worst - this.#opts.freeFailures;
    return over <= 0 ? 0 : Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** (over - 1));
  }

  /** a successful login clears the account's record (not the address's) */
  succeed(key: string): void {
    this.#failures.delete(key);
  }
}
