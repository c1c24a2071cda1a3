/**
 * The expiry sweeper: disappearing messages become tombstones on a timer. Every tick it reads
 * at most `batch` chat events whose `expiresAt` has passed and submits an `expire` op for each
 * through the commit batcher, like a recall: the store erases the text and appends an expire
 * event naming the message, and the hub pushes that event to the conversation's members. The
 * expiry times are in the database, so a process that was down catches up at its first tick.
 *
 * In a cluster every process sweeps: the expire op is idempotent (it tombstones only a live
 * message that is due, under the conversation's row lock), so two processes that pick the same
 * message append one expire event between them, and no lock in Redis is needed (nor can a
 * process that died holding one stall expiry).
 */
import type { Logger } from 'pino';
import type { CommitOp, CommitResult, NewEvent, Store } from '../store/types.js';

export interface ExpiryDeps {
  store: Store;
  log: Logger;
  now: () => number;
  submit: (op: CommitOp) => Promise<CommitResult>;
  newEvent: (fields: Omit<NewEvent, 'mid' | 'ts'>) => NewEvent;
}

export class ExpirySweeper {
  readonly #deps: ExpiryDeps;
  readonly #intervalMs: number;
  readonly #batch: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | null = null;

  constructor(deps: ExpiryDeps, intervalMs: number, batch: number) {
    this.#deps = deps;
    this.#intervalMs = intervalMs;
    this.#batch = batch;
  }

  /** sweeps now (what expired while the process was down) and then every interval */
  start(): void {
    void this.sweep();
    this.#timer = setInterval(() => void this.sweep(), this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** one tick (or the one under way): resolves how many messages it expired */
  sweep(): Promise<number> {
    this.#running ??= this.#sweep().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #sweep(): Promise<number> {
    const { store, log, now, submit, newEvent } = this.#deps;
    let due;
    try {
      due = await store.dueExpiries(now(), this.#batch);
    } catch (err) {
      log.warn({ err }, 'reading due expiries failed; the next tick tries again');
      return 0;
    }
    const results = await Promise.allSettled(
      due.map(({ conv, seq, senderId }) =>
        submit({ op: 'expire', conv, seq, event: newEvent({ conv, kind: 'expire', senderId, text: '', ref: seq, cmid: null }) }),
      ),
    );
    let expired = 0;
    for (const r of results) {
      if (r.status === 'fulfilled' && r.value.op === 'expire' && r.value.event) expired++;
      else if (r.status === 'rejected') log.warn({ err: r.reason }, 'expiring a message failed; the next tick tries again');
    }
    if (expired > 0) log.debug({ expired }, 'messages expired');
    return expired;
  }
}
