/**
 * Calls made within a few milliseconds, run together: a store that answers each with its own
 * transaction pays a commit per call; through this it pays one per window. A restart brings
 * thousands of token resumes within seconds, each a write, and they arrive about one per turn
 * of the event loop (measured: 9,779 turns for 10,000 resumes), so the window is a few turns,
 * not one (docs/SCALING.md, "Logins").
 */
interface Waiter<O> {
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

export class TickBatch<I, O> {
  readonly #run: (items: I[]) => O[];
  #items: I[] = [];
  #waiters: Array<Waiter<O>> = [];

  readonly #windowMs: number;
  readonly #max: number;
  #timer: NodeJS.Timeout | undefined;

  /**
   * `run` answers every item of a window, in order (all fail together when it throws); a
   * window closes `windowMs` after its first item or at its `max`th
   */
  constructor(run: (items: I[]) => O[], windowMs: number, max: number) {
    this.#run = run;
    this.#windowMs = windowMs;
    this.#max = max;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#items.push(item);
      this.#waiters.push({ resolve, reject });
      if (this.#items.length >= this.#max) setImmediate(this.#flush);
      else this.#timer ??= setTimeout(this.#flush, this.#windowMs);
    });
  }

  readonly #flush = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#items.length === 0) return;
    const items = this.#items;
    const waiters = this.#waiters;
    this.#items = [];
    this.#waiters = [];
    let out: O[];
    try {
      out = this.#run(items);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      return;
    }
    waiters.forEach((w, i) => w.resolve(out[i]!));
  };
}
