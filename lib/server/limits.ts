/**
 * The frame-rate limit that keeps one client from hurting the others: a token bucket per
 * connection. (Login attempts and registrations are bounded in auth-limits.ts.)
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
