/**
 * Watermark moves that nobody waits for (a legacy push written, a sender's own message) are
 * gathered per user and conversation and go to the commit batcher once per tick, not once per
 * message.
 */
import type { Logger } from 'pino';
import type { ConvId } from '../protocol/conv.js';
import type { CommitOp, CommitResult } from '../store/types.js';

/** the origin of watermark moves that concern nobody else (a sender has what it sent) */
export const QUIET = '~quiet';

interface Mark {
  userId: number;
  conv: ConvId;
  delivered: number;
  read: number | undefined;
  quiet: boolean;
}

export class Watermarks {
  readonly #submit: (op: CommitOp, origin?: string) => Promise<CommitResult>;
  readonly #log: Logger;
  readonly #marks = new Map<string, Mark>();
  #scheduled = false;

  constructor(submit: (op: CommitOp, origin?: string) => Promise<CommitResult>, log: Logger) {
    this.#submit = submit;
    this.#log = log;
  }

  /** `quiet`: the move is told to nobody (its user is the sender, who has what it sent) */
  mark(userId: number, conv: ConvId, delivered: number, read: number | undefined, quiet: boolean): void {
    const key = `${userId}|${conv}|${quiet ? 'q' : ''}`;
    const m = this.#marks.get(key);
    if (m) {
      m.delivered = Math.max(m.delivered, delivered);
      if (read !== undefined) m.read = Math.max(m.read ?? 0, read);
    } else {
      this.#marks.set(key, { userId, conv, delivered, read, quiet });
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.flush);
    }
  }

  readonly flush = (): void => {
    this.#scheduled = false;
    for (const m of this.#marks.values()) {
      const op: CommitOp = { op: 'position', userId: m.userId, conv: m.conv, delivered: m.delivered };
      if (m.read !== undefined) op.read = m.read;
      this.#submit(op, m.quiet ? QUIET : undefined).catch((err: unknown) => {
        this.#log.warn({ err, user: m.userId, conv: m.conv }, 'could not store a position');
      });
    }
    this.#marks.clear();
  };
}
