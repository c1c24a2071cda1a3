/**
 * RECALL_MSG (18, v2) -> RECALL_MSG_ACK (19). The sender may recall within the recall window;
 * a group's creator may recall any message of the group at any time; nobody else. The recall
 * is a new event in the log (its own msgSeq, naming the recalled one) and the recalled message
 * becomes a tombstone with its text erased. Recalling a recalled message answers ok again.
 */
import { ChatError, Errors, type ErrorCode } from '../errors.js';
import { readableWindow } from '../models/conversations.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import type { Frame } from '../protocol/validate.js';
import type { Link } from '../core/link.js';
import type { Hub } from '../core/hub.js';
import { parseConv } from '../protocol/conv.js';
import type { Handler } from './types.js';

function answer(conn: Link, frame: Frame, code: ErrorCode, extra: object = {}): void {
  const e = Errors[code];
  const cmid = read.echoCmid(frame);
  conn.send({ msgid: MsgId.RECALL_MSG_ACK, v: 2, errno: e.errno, errmsg: e.errmsg, ...extra, ...(cmid ? { cmid } : {}) });
}

async function mayRecall(hub: Hub, userId: number, conv: string, senderId: number, ts: number): Promise<ErrorCode | null> {
  const c = parseConv(conv);
  if (c?.kind === 'group') {
    const group = await hub.store.getGroup(c.groupId);
    if (group?.creatorId === userId && (await hub.store.isMember(c.groupId, userId))) return null;
  }
  if (senderId !== userId) return 'NOT_ALLOWED';
  return hub.now() - ts > hub.opts.recallWindowMs ? 'RECALL_WINDOW_EXPIRED' : null;
}

export const recall: Handler = {
  msgid: MsgId.RECALL_MSG,
  auth: true,
  v2only: true,
  fail: (conn, frame, err) => answer(conn, frame, err.code, { errmsg: err.message }),
  async handle(hub, conn, frame) {
    const session = conn.session!;
    const conv = read.text(frame, 'conv', { max: 64 });
    const seq = read.id(frame, 'msgSeq');
    const cmid = read.cmid(frame, false);
    const target = { conv, msgSeq: seq };
    const win = await readableWindow(hub.store, session.userId, conv);
    const ev = win && seq >= win.floor && seq <= win.top ? await hub.store.getEvent(conv, seq) : null;
    if (!ev || ev.kind !== 'chat') {
      answer(conn, frame, 'NO_SUCH_MESSAGE', target);
      return;
    }
    if (ev.recalled) {
      answer(conn, frame, 'OK', { ...target, already: true });
      return;
    }
    const refused = await mayRecall(hub, session.userId, conv, ev.senderId, ev.ts);
    if (refused) {
      answer(conn, frame, refused, target);
      return;
    }
    const event = hub.newEvent({ conv, kind: 'recall', senderId: session.userId, text: '', ref: seq, cmid });
    session.expectOwn(event.mid);
    // answered when the commit lands, without holding up the connection's next frames
    hub.submit({ op: 'recall', conv, seq, event }, session.id).then(
      (r) => {
        if (r.op !== 'recall' || !r.event) session.forgetOwn(event.mid);
        if (r.op !== 'recall' || !r.found) {
          answer(conn, frame, 'NO_SUCH_MESSAGE', target);
          return;
        }
        conn.log.info({ user: session.userId, conv, seq }, 'message recalled');
        answer(conn, frame, 'OK', { ...target, ...(r.event ? { recallSeq: r.event.seq } : { already: true }) });
      },
      (err: unknown) => {
        session.forgetOwn(event.mid);
        if (!(err instanceof ChatError)) conn.log.error({ err, conv, seq }, 'recall not stored');
        answer(conn, frame, 'STORAGE_UNAVAILABLE', target);
      },
    );
  },
};
