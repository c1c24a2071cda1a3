/**
 * The server's own v2 frames (acks, error and success replies, status updates, notices): built
 * here, next to the push shapes (shapes.ts), and sent by the core and the handlers.
 */
import { Errors } from '../errors.js';
import type { ConvId } from './conv.js';
import type { LogEvent } from './event.js';
import { MsgId } from './msgid.js';

/** the chat ack (v2): where the message landed in its conversation */
export function chatAck(reqmsgid: number, ev: LogEvent, duplicate: boolean): object {
  const ack: Record<string, unknown> = {
    msgid: MsgId.CHAT_ACK,
    v: 2,
    reqmsgid,
    errno: 0,
    errmsg: Errors.OK.errmsg,
    conv: ev.conv,
    msgSeq: ev.seq,
    mid: ev.mid,
    ts: ev.ts,
  };
  if (duplicate) ack.duplicate = true;
  if (ev.cmid !== null) ack.cmid = ev.cmid;
  return ack;
}

/** the generic error reply; `cmid` echoes the request's */
export function errorReply(errno: number, errmsg: string, reqmsgid: number | null, cmid?: string): object {
  return { msgid: MsgId.ERROR_MSG, v: 2, errno, errmsg, reqmsgid, ...(cmid ? { cmid } : {}) };
}

/** the generic success reply to a request the original left unanswered */
export function okReply(reqmsgid: number, extra: object, cmid?: string): object {
  return { msgid: MsgId.REQ_ACK, v: 2, reqmsgid, errno: 0, errmsg: Errors.OK.errmsg, ...extra, ...(cmid ? { cmid } : {}) };
}

/** MSG_STATUS_UPDATE: `userId` has conversation `conv` up to `delivered`, and has read up to `read` */
export function statusUpdate(conv: ConvId, userId: number, delivered: number, read: number): object {
  return { msgid: MsgId.MSG_STATUS_UPDATE, v: 2, conv, userid: userId, delivered, read };
}

/** a NOTICE_MSG carrying an error code, e.g. a session replaced by a resumed one */
export function notice(notice: string, errno: number, errmsg: string): object {
  return { msgid: MsgId.NOTICE_MSG, v: 2, notice, errno, errmsg };
}
