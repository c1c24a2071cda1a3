/** Sending replies. A legacy connection only ever gets the original's shapes, so these are v2-only. */
import { ChatError, StorageError } from '../errors.js';
import { errorReply, okReply } from '../protocol/frames.js';
import { echoCmid, type Frame } from '../protocol/validate.js';
import type { Link } from './link.js';
import type { Stats } from './stats.js';

/** the generic error reply (v2); logged only on a legacy connection */
export function replyError(conn: Link, err: ChatError, reqmsgid: number | null, frame?: Frame): void {
  if (!conn.v2) {
    conn.log.info({ errno: err.errno, reqmsgid }, `ignored legacy frame: ${err.message}`);
    return;
  }
  conn.send(errorReply(err.errno, err.message, reqmsgid, frame ? echoCmid(frame) : undefined));
}

/** the generic success reply (v2) to a request the original left unanswered */
export function replyOk(conn: Link, reqmsgid: number, frame: Frame, extra: object = {}): void {
  if (!conn.v2) return;
  conn.send(okReply(reqmsgid, extra, echoCmid(frame)));
}

/**
 * turns anything a handler threw into a ChatError: a storage failure is 114 (try again), any
 * other exception a bug, 128, counted in `stats`
 */
export function asChatError(err: unknown, stats: Stats): ChatError {
  if (err instanceof ChatError) return err;
  if (err instanceof StorageError) return new ChatError('STORAGE_UNAVAILABLE');
  stats.internalErrors++;
  return new ChatError('INTERNAL_ERROR');
}
