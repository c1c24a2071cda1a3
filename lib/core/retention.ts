/**
 * Retention (`--retention-days`): events older than that are pruned in the background, in
 * small batches. A pass walks every conversation and deletes its oldest events, at most `batch`
 * per store call (one short transaction that locks only the rows it deletes), pausing between
 * batches so the message path never waits long behind it. Positions (delivered, read) are seqs
 * and stay valid; a sync over a pruned range gets placeholders that say so. Status needs no
 * pruning: it is watermarks per member, not a row per message.
 *
 * In a cluster every process prunes: a prune is idempotent (it starts after what was pruned,
 * under that row's lock), so two passes at once cost some reads, never a wrong deletion.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Store } from '../store/types.js';

export interface RetentionDeps {
  store: Store;
  log: Logger;
  now: () => number;
}

export interface RetentionOptions {
  /** events older than this many ms are pruned */
  keepMs: number;
  /** events per store call */
  batch: number;
  /** pause after each batch that deleted something, ms */
  pauseMs: number;
  /** a pass every this many ms (and one at start) */
  intervalMs: number;
}

/** conversations read per page of a pass */
const CONV_PAGE = 200;

export class Pruner {
  readonly #deps: RetentionDeps;
  readonly #opts: RetentionOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | null = null;
  #stopping = false;

  constructor(deps: RetentionDeps, opts: RetentionOptions) {
    this.#deps = deps;
    this.#opts = opts;
  }

  start(): void {
    void this.run();
    this.#timer = setInterval(() => void this.run(), this.#opts.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  /** one pass (or the one under way): resolves how many events it pruned */
  run(): Promise<number> {
    this.#running ??= this.#pass()
      .catch((err: unknown) => {
        this.#deps.log.warn({ err }, 'pruning failed; the next pass goes on from there');
        return 0;
      })
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }

  async #pass(): Promise<number> {
    const { store, log, now } = this.#deps;
    const { batch, pauseMs, keepMs } = this.#opts;
    const before = now() - keepMs;
    let pruned = 0;
    let after = '';
    for (;;) {
      const convs = await store.conversationsAfter(after, CONV_PAGE);
      for (const conv of convs) {
        for (;;) {
          if (this.#stopping) return pruned;
          const n = await store.prune(conv, before, batch);
          pruned += n;
          if (n === 0) break;
          await sleep(pauseMs);
        }
      }
      if (convs.length < CONV_PAGE) break;
      after = convs[convs.length - 1]!;
    }
    if (pruned > 0) log.info({ pruned, before }, 'events past the retention pruned');
    return pruned;
  }
}
