/**
 * DELIVERED_MSG (14, v2): "I have this conversation up to msgSeq". Moves the delivered
 * watermark (never backwards, never past the log); a notification, answered only when it
 * carries a cmid or is malformed.
 */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { replyOk } from '../server/reply.js';
import { parseConv } from '../store/conv.js';
import type { Handler } from './types.js';

export const delivered: Handler = {
  msgid: MsgId.DELIVERED_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const conv = read.text(frame, 'conv', { max: 64 });
    if (!parseConv(conv)) throw new ChatError('BAD_FIELD', 'conv');
    const seq = read.count(frame, 'msgSeq');
    hub.markDelivered(conn.session!.userId, conv, seq);
    if (read.echoCmid(frame)) replyOk(conn, MsgId.DELIVERED_MSG, frame, { conv, msgSeq: seq });
  },
};
