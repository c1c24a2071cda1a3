/** READ_MSG (17, v2): the read marker moves forward only, and never past the conversation's end. */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { asChatError, replyError, replyOk } from '../core/reply.js';
import type { Handler } from './types.js';

export const readMarker: Handler = {
  msgid: MsgId.READ_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const userId = conn.session!.userId;
    const conv = read.text(frame, 'conv', { max: 64 });
    const seq = read.count(frame, 'msgSeq');
    const st = await hub.store.convState(userId, conv);
    if (!st) throw new ChatError('NOT_MEMBER', conv);
    const top = st.leftSeq ?? st.lastSeq;
    if (seq > top) throw new ChatError('BAD_SEQ', `msgSeq ${seq} is past the conversation's last seq ${top}`);
    if (seq < st.read) throw new ChatError('BAD_SEQ', `the read marker is at ${st.read} and cannot move backwards`);
    // answered when the commit lands, without holding up the connection's next frames
    hub.submit({ op: 'position', userId, conv, read: seq }).then(
      (r) => replyOk(conn, MsgId.READ_MSG, frame, { conv, msgSeq: seq, ...(r.op === 'position' ? { read: r.read, delivered: r.delivered } : {}) }),
      (err: unknown) => {
        if (!(err instanceof ChatError)) conn.log.error({ err, conv }, 'read marker not stored');
        replyError(conn, asChatError(err, hub.stats), MsgId.READ_MSG, frame);
      },
    );
  },
};
