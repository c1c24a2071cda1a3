/**
 * Group commit: every store write on the message path (appends, watermark moves, recalls)
 * is queued and the queue is committed as one transaction as soon as the event loop has
 * handled the current I/O (setImmediate). While a batch is in flight, the next one may start
 * (up to `maxInFlight`, 1 by default: see there) with the queued ops of conversations no running batch touches: a
 * conversation's ops stay in one batch at a time, in submission order, so its seqs, its
 * results and its pushes keep that order; batches of disjoint conversations need no order
 * between them (watermark moves are held per member, not per conversation: see keyOf).
 * `onCommitted` sees each batch before any of its submitters resumes, which is what keeps this
 * process's pushes in seq order. A synchronous store (SQLite) is never overlapped: its commit
 * is over before the loop reads more.
 *
 * The queue is bounded (`maxQueue`): while the database is slow or stalled, a submit past it is
 * refused at once with errno 114 instead of holding its sender and memory until the database
 * answers. A refused op was never queued, so nothing acked is lost.
 */
import { ChatError } from '../errors.js';
import type { CommitOp, CommitResult, Store } from '../store/types.js';

interface Pending {
  op: CommitOp;
  origin: string | undefined;
  resolve: (r: CommitResult) => void;
  reject: (e: unknown) => void;
}

export interface BatcherOptions {
  maxBatch: number;
  /**
   * batches committing at once at most @default 1. With 4, a legacy recipient in
   * test/ordering/concurrent.test.ts lost messages in 6 runs of 15 until a legacy sender's own
   * send stopped moving its DELIVERED watermark (hub.ts #afterCommit); since, 8 of 8 passed.
   * The default stays 1 until overlapping batches have run longer (docs/BENCHMARKS.md).
   */
  maxInFlight?: number;
  /**
   * ops waiting for a commit at most, besides those committing (the commits under way hold
   * `maxBatch` ops at most between them); 0: no bound
   */
  maxQueue: number;
  /**
   * called with each committed batch, in commit order, before submitters resume; `origins`
   * are the session ids given to submit()
   */
  onCommitted: (ops: CommitOp[], results: CommitResult[], origins: Array<string | undefined>) => void;
  onBatch?: (size: number, ms: number) => void;
}

export class CommitBatcher {
  readonly #store: Store;
  readonly #opts: BatcherOptions;
  #queue: Pending[] = [];
  /** batches committing now */
  #running = 0;
  /** ops in the batches committing now */
  #committing = 0;
  /** what the running batches hold (keyOf), with how many running batches hold each */
  readonly #busy = new Map<string, number>();
  #scheduled = false;
  #idleWaiters: Array<() => void> = [];
  /** submits refused because the queue was full */
  refused = 0;
  /** the most batches that were committing at once */
  maxOverlap = 0;

  constructor(store: Store, opts: BatcherOptions) {
    this.#store = store;
    this.#opts = opts;
  }

  /**
   * `origin`: the session on whose behalf the op runs, handed back to onCommitted. Rejects at
   * once with a ChatError (errno 114) when `maxQueue` ops are waiting.
   */
  submit(op: CommitOp, origin?: string): Promise<CommitResult> {
    const max = this.#opts.maxQueue;
    if (max > 0 && this.#queue.length >= max) {
      this.refused++;
      return Promise.reject(new ChatError('STORAGE_UNAVAILABLE', 'the commit queue is full'));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, origin, resolve, reject });
      this.#schedule();
    });
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** resolves once everything submitted so far is committed (or failed) */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled || this.#running >= (this.#opts.maxInFlight ?? 1)) return;
    this.#scheduled = true;
    setImmediate(() => void this.#flush());
  }

  /**
   * The queued ops whose conversations no running batch holds, in queue order, as many as
   * `maxBatch` less the ops already committing (so a stalled database holds no more than with
   * one batch in flight); the rest stay queued in their order.
   */
  #take(): Pending[] {
    const room = this.#opts.maxBatch - this.#committing;
    if (this.#busy.size === 0) return this.#queue.splice(0, room);
    const taken: Pending[] = [];
    const left: Pending[] = [];
    for (const p of this.#queue) {
      if (taken.length < room && !this.#busy.has(keyOf(p.op))) taken.push(p);
      else left.push(p);
    }
    this.#queue = left;
    return taken;
  }

  #hold(keys: Set<string>, by: number): void {
    for (const k of keys) {
      const n = (this.#busy.get(k) ?? 0) + by;
      if (n > 0) this.#busy.set(k, n);
      else this.#busy.delete(k);
    }
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    if (this.#running >= (this.#opts.maxInFlight ?? 1) || this.#queue.length === 0) return;
    const batch = this.#take();
    if (batch.length === 0) return; // every queued op waits for a running batch's conversation
    const keys = new Set(batch.map((p) => keyOf(p.op)));
    const { ops, owners } = coalescePositions(batch);
    const origins = owners.map((o) => o[0]!.origin);
    this.#running++;
    this.#committing += batch.length;
    this.maxOverlap = Math.max(this.maxOverlap, this.#running);
    this.#hold(keys, 1);
    // the rest of the queue may go at once, beside this batch
    if (this.#queue.length > 0) this.#schedule();
    const started = performance.now();
    try {
      const results = await this.#store.commit(ops);
      this.#opts.onBatch?.(ops.length, performance.now() - started);
      try {
        this.#opts.onCommitted(ops, results, origins);
      } finally {
        for (let i = 0; i < owners.length; i++) for (const p of owners[i]!) p.resolve(results[i]!);
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.#running--;
      this.#committing -= batch.length;
      this.#hold(keys, -1);
      if (this.#queue.length > 0) this.#schedule();
      else if (this.#running === 0) for (const w of this.#idleWaiters.splice(0)) w();
    }
  }
}

/**
 * What a batch holds while it runs: the conversation, for ops that append to its log; a
 * member's row for watermark moves, which need no order with the appends (a client moves a
 * watermark only to a seq already pushed, so committed).
 */
function keyOf(op: CommitOp): string {
  if (op.op === 'position') return `${op.conv}\u0000${op.userId}`;
  return op.op === 'append' ? op.event.conv : op.conv;
}

/**
 * Watermark moves for the same (user, conversation) in one batch become one op carrying the
 * highest positions; every submitter of the merged moves gets its result. A checked move (a
 * read marker) stays apart: it is validated on its own.
 */
function coalescePositions(batch: Pending[]): { ops: CommitOp[]; owners: Pending[][] } {
  const ops: CommitOp[] = [];
  const owners: Pending[][] = [];
  const byKey = new Map<string, number>();
  for (const p of batch) {
    const op = p.op;
    if (op.op !== 'position' || op.check) {
      ops.push(op);
      owners.push([p]);
      continue;
    }
    // moves of different origins stay apart: the origin decides who hears of the move
    const key = `${op.userId}|${op.conv}|${p.origin ?? ''}`;
    const at = byKey.get(key);
    if (at === undefined) {
      byKey.set(key, ops.length);
      ops.push({ ...op });
      owners.push([p]);
      continue;
    }
    const merged = ops[at] as Extract<CommitOp, { op: 'position' }>;
    merged.delivered = maxDefined(merged.delivered, op.delivered);
    merged.read = maxDefined(merged.read, op.read);
    owners[at]!.push(p);
  }
  return { ops, owners };
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}
