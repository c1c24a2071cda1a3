/**
 * TIMER_MSG (31, v2) -> REQ_ACK: any member sets a conversation's disappearing-messages timer
 * (`ttl` seconds, 0: off). It is a timer event in the log, with its own msgSeq, pushed to every
 * member like a message; the store applies it to the sends after it that carry no `ttl` of
 * their own. A resend with the same `cmid` sets nothing new and answers the first event's seq.
 */
import { ChatError } from '../errors.js';
import { asChatError, replyError, replyOk } from '../core/reply.js';
import { isCurrentMember } from '../models/conversations.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import type { Handler } from './types.js';

export const timer: Handler = {
  msgid: MsgId.TIMER_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const session = conn.session!;
    const conv = read.text(frame, 'conv', { max: 64 });
    const ttl = read.ttl(frame, 'ttl', 0);
    const cmid = read.cmid(frame, false);
    if (!(await isCurrentMember(hub.store, session.userId, conv))) throw new ChatError('NOT_MEMBER', conv);
    const event = hub.newEvent({ conv, kind: 'timer', senderId: session.userId, text: '', ref: ttl, cmid });
    session.expectOwn(event.mid);
    hub.submit({ op: 'append', event }, session.id).then(
      async (r) => {
        if (r.op !== 'append' || r.duplicate) session.forgetOwn(event.mid);
        await hub.delivered();
        if (r.op !== 'append') return;
        conn.log.info({ user: session.userId, conv, ttl: r.event.ref }, 'timer set');
        replyOk(conn, MsgId.TIMER_MSG, frame, { conv, ttl: r.event.ref ?? 0, msgSeq: r.event.seq, ...(r.duplicate ? { duplicate: true } : {}) });
      },
      (err: unknown) => {
        session.forgetOwn(event.mid);
        if (!(err instanceof ChatError)) conn.log.error({ err, conv }, 'timer not stored');
        replyError(conn, asChatError(err, hub.stats), MsgId.TIMER_MSG, frame);
      },
    );
  },
};
