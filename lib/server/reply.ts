/** Replies. A legacy connection only ever gets the original's shapes, so these are v2-only. */
import { ChatError, Errors } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import { echoCmid, type Frame } from '../protocol/validate.js';
import type { Connection } from '../server/connection.js';

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

/** turns anything a handler threw into a ChatError */
export function asChatError(err: unknown): ChatError {
  return err instanceof ChatError ? err : new ChatError('STORAGE_UNAVAILABLE');
}
