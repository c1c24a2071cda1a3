/** READ_MSG (17, v2): the read marker moves forward only, and never past the conversation's end. */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { asChatError, replyError, replyOk } from '../core/reply.js';
import type { MoveRefusal } from '../store/types.js';
import type { Handler } from './types.js';

function refusal(r: MoveRefusal, conv: string, seq: number): ChatError {
  switch (r.reason) {
    case 'not-member':
      return new ChatError('NOT_MEMBER', conv);
    case 'past-end':
      return new ChatError('BAD_SEQ', `msgSeq ${seq} is past the conversation's last seq ${r.top}`);
    case 'backwards':
      return new ChatError('BAD_SEQ', `the read marker is at ${r.read} and cannot move backwards`);
  }
}

export const readMarker: Handler = {
  msgid: MsgId.READ_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const userId = conn.session!.userId;
    const conv = read.text(frame, 'conv', { max: 64 });
    const seq = read.count(frame, 'msgSeq');
    // validated inside the commit (membership, the end, backwards), answered when it lands,
    // without holding up the connection's next frames
    hub.submit({ op: 'position', userId, conv, read: seq, check: true }).then(
      (r) => {
        if (r.op !== 'position') return;
        if (r.refused) replyError(conn, refusal(r.refused, conv, seq), MsgId.READ_MSG, frame);
        else replyOk(conn, MsgId.READ_MSG, frame, { conv, msgSeq: seq, read: r.read, delivered: r.delivered });
      },
      (err: unknown) => {
        if (!(err instanceof ChatError)) conn.log.error({ err, conv }, 'read marker not stored');
        replyError(conn, asChatError(err, hub.stats), MsgId.READ_MSG, frame);
      },
    );
  },
};
