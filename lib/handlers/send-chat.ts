/**
 * Sending a chat message (ONE_CHAT_MSG and GROUP_CHAT_MSG): validate, append to the
 * conversation's log through the batcher, and ack the sender (v2) once committed. The handler
 * returns as soon as the append is queued, so the connection's next frame is not held up by
 * the commit.
 */
import { ChatError } from '../errors.js';
import { asChatError, replyError } from '../core/reply.js';
import { chatAck } from '../protocol/frames.js';
import type { Frame } from '../protocol/validate.js';
import * as read from '../protocol/validate.js';
import type { Link } from '../core/link.js';
import type { Hub } from '../core/hub.js';
import type { Session } from '../core/session.js';
import type { ConvId } from '../protocol/conv.js';
import { isSealed, readEnvelope, sealedText } from '../protocol/sealed.js';

export interface ChatFields {
  text: string;
  cmid: string | null;
  /** v2: the message's own lifetime in seconds */
  ttl?: number;
}

/**
 * reads the chat fields every send carries: `msg` (or, v2, an `e2e` envelope instead), `cmid`
 * (required on v2), and v2's optional `ttl`
 */
export function readChatFields(hub: Hub, conn: Link, frame: Frame): ChatFields {
  const fields: ChatFields = { text: chatText(hub, conn, frame), cmid: read.cmid(frame, conn.v2) };
  if (conn.v2 && frame.ttl !== undefined) fields.ttl = read.ttl(frame, 'ttl', 1);
  return fields;
}

/** the text to store: the plain `msg`, or a v2 send's sealed envelope (frame-bounded: no `maxText`) */
function chatText(hub: Hub, conn: Link, frame: Frame): string {
  if (conn.v2 && frame.e2e !== undefined) {
    if (frame.msg !== undefined) throw new ChatError('BAD_ENVELOPE', 'a sealed send carries no msg');
    return sealedText(readEnvelope(frame.e2e));
  }
  const text = read.text(frame, 'msg', { max: hub.opts.maxText });
  // only the server seals: a plain text that looks sealed would read as a sealed message
  if (isSealed(text)) throw new ChatError('BAD_FIELD', 'msg');
  return text;
}

export function appendChat(
  hub: Hub,
  session: Session,
  frame: Frame,
  reqmsgid: number,
  conv: ConvId,
  fields: ChatFields,
): void {
  const conn = session.conn;
  const event = hub.newEvent({ conv, kind: 'chat', senderId: session.userId, text: fields.text, ref: null, cmid: fields.cmid });
  if (fields.ttl !== undefined) event.ttl = fields.ttl;
  session.expectOwn(event.mid);
  hub.submit({ op: 'append', event }, session.id).then(
    async (r) => {
      // a resend: what comes back is the first copy, under its own mid
      if (r.op !== 'append' || r.duplicate) session.forgetOwn(event.mid);
      // acked once pushed and published: an acked message is never one only its dead process knew
      await hub.delivered();
      if (r.op === 'append' && conn.v2) conn.send(chatAck(reqmsgid, r.event, r.duplicate));
    },
    (err: unknown) => {
      session.forgetOwn(event.mid);
      // a refusal (the commit queue is full) is the client's answer, not a failure to log
      if (!(err instanceof ChatError)) conn.log.error({ err, conv }, 'append failed');
      replyError(conn, asChatError(err, hub.stats), reqmsgid, frame);
    },
  );
}
