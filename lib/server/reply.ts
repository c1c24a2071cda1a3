/** Replies. A legacy connection only ever gets the original's shapes, so these are v2-only. */
import { ChatError, Errors, StorageError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import { echoCmid, type Frame } from '../protocol/validate.js';
import type { Connection } from '../server/connection.js';
import type { Stats } from './stats.js';

/** the generic error reply (v2); logged only on a legacy connection */
export function replyError(conn: Connection, err: ChatError, reqmsgid: number | null, frame?: Frame): void {
  if (!conn.v2) {
    conn.log.info({ errno: err.errno, reqmsgid }, `ignored legacy frame: ${err.message}`);
    return;
  }
  const cmid = frame ? echoCmid(frame) : undefined;
  conn.send({ msgid: MsgId.ERROR_MSG, v: 2, errno: err.errno, errmsg: err.message, reqmsgid, ...(cmid ? { cmid } : {}) });
}

/** the generic success reply (v2) to a request the original left unanswered */
export function replyOk(conn: Connection, reqmsgid: number, frame: Frame, extra: object = {}): void {
  if (!conn.v2) return;
  const cmid = echoCmid(frame);
  conn.send({ msgid: MsgId.REQ_ACK, v: 2, reqmsgid, errno: 0, errmsg: Errors.OK.errmsg, ...extra, ...(cmid ? { cmid } : {}) });
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
