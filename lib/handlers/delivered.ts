/**
 * DELIVERED_MSG (14, v2): "I have this conversation up to msgSeq". Moves the delivered
 * watermark (never backwards, never past the log); a notification, answered only when it
 * carries a cmid or is malformed.
 */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { replyOk } from '../core/reply.js';
import { parseConv } from '../protocol/conv.js';
import type { Handler } from './types.js';

export const delivered: Handler = {
  msgid: MsgId.DELIVERED_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const conv = read.text(frame, 'conv', { max: 64 });
    if (!parseConv(conv)) throw new ChatError('BAD_FIELD', 'conv');
    const seq = read.count(frame, 'msgSeq');
    const userId = conn.session!.userId;
    if (!read.echoCmid(frame)) {
      hub.markDelivered(userId, conv, seq);
      return;
    }
    // asked for an answer: say where the watermark now stands (clamped, never backwards)
    const r = await hub.submit({ op: 'position', userId, conv, delivered: seq });
    replyOk(conn, MsgId.DELIVERED_MSG, frame, { conv, msgSeq: seq, ...(r.op === 'position' ? { delivered: r.delivered } : {}) });
  },
};
