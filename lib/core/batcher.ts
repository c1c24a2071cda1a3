/**
 * Group commit: every store write on the message path (appends, watermark moves, recalls)
 * is queued and the queue is committed as one transaction per event-loop tick. One batch is
 * in flight at a time, so while the database works the next batch fills up; results come back
 * in submission order, and `onCommitted` sees each batch before any submitter resumes, which
 * is what keeps this process's pushes in seq order.
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
  /** ops waiting for a commit at most (the one in progress not counted); 0: no bound */
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
  #inFlight = false;
  #scheduled = false;
  #idleWaiters: Array<() => void> = [];
  /** submits refused because the queue was full */
  refused = 0;

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
    if (!this.#inFlight && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    if (this.#inFlight || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, this.#opts.maxBatch);
    const { ops, owners } = coalescePositions(batch);
    const origins = owners.map((o) => o[0]!.origin);
    this.#inFlight = true;
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
      this.#inFlight = false;
      if (this.#queue.length > 0) this.#schedule();
      else for (const w of this.#idleWaiters.splice(0)) w();
    }
  }
}

/**
 * Watermark moves for the same (user, conversation) in one batch become one op carrying the
 * highest positions; every submitter of the merged moves gets its result.
 */
function coalescePositions(batch: Pending[]): { ops: CommitOp[]; owners: Pending[][] } {
  const ops: CommitOp[] = [];
  const owners: Pending[][] = [];
  const byKey = new Map<string, number>();
  for (const p of batch) {
    const op = p.op;
    if (op.op !== 'position') {
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
