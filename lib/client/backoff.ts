/**
 * Reconnect delays: from the first, doubling up to the largest, with ±25% jitter. A new outage
 * starts again at the first delay only after a connection that lasted (at least the largest
 * delay): a connection that drops right after it was made (a server that closes on something
 * the client resends) is not reopened at the first delay every time.
 */
export class Backoff {
  readonly #first: number;
  readonly #max: number;
  #delay = 0;
  #upSince = Date.now();

  constructor([first, max]: [number, number]) {
    this.#first = first;
    this.#max = max;
  }

  /** the delays of this outage start here */
  start(): void {
    if (this.#delay === 0 || Date.now() - this.#upSince >= this.#max) this.#delay = this.#first;
  }

  /**
   * A connection dropped: tries `open` after each delay until it succeeds (resolves it) or
   * `closing` says to stop (resolves null, closing what it opened meanwhile). Failed attempts
   * go to `onError`.
   */
  async reopen<T extends { close(): void }>(open: () => Promise<T>, closing: () => boolean, onError: (err: Error) => void): Promise<T | null> {
    this.start();
    while (!closing()) {
      await this.wait();
      if (closing()) return null;
      let conn: T;
      try {
        conn = await open();
      } catch (err) {
        onError(err as Error);
        continue;
      }
      if (closing()) {
        conn.close();
        return null;
      }
      this.#upSince = Date.now();
      return conn;
    }
    return null;
  }

  /** waits the next delay */
  async wait(): Promise<void> {
    const delay = this.#delay;
    this.#delay = Math.min(delay * 2, this.#max);
    await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() * 0.5)));
  }
}
