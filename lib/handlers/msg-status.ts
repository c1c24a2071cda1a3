/**
 * MSG_STATUS_QUERY (24, v2) -> MSG_STATUS_ACK (25): the status of one message. Any member gets
 * the counts; its sender also gets who (`deliveredBy`, `readBy`).
 */
import { ChatError, Errors } from '../errors.js';
import { readableWindow } from '../models/conversations.js';
import { messageStatus } from '../models/msg-status.js';
import { asOf } from '../protocol/event.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import type { Handler } from './types.js';

export const msgStatus: Handler = {
  msgid: MsgId.MSG_STATUS_QUERY,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const userId = conn.session!.userId;
    const conv = read.text(frame, 'conv', { max: 64 });
    const seq = read.id(frame, 'msgSeq');
    const win = await readableWindow(hub.store, userId, conv);
    if (!win) throw new ChatError('NOT_MEMBER', conv);
    const ev = seq >= win.floor && seq <= win.top ? await hub.store.getEvent(conv, seq) : null;
    if (!ev || ev.kind !== 'chat') throw new ChatError('NO_SUCH_MESSAGE', `${conv} ${seq}`);
    const st = messageStatus(ev, await hub.store.memberPositions(conv));
    const cmid = read.echoCmid(frame);
    conn.send({
      msgid: MsgId.MSG_STATUS_ACK,
      v: 2,
      errno: 0,
      errmsg: Errors.OK.errmsg,
      conv,
      msgSeq: seq,
      sender: ev.senderId,
      status: st.status,
      members: st.members,
      delivered: st.delivered,
      read: st.read,
      // gone for everyone, but who had it delivered and read before stays the sender's to know
      ...(asOf(ev, hub.now()).expired ? { expired: true } : {}),
      ...(ev.senderId === userId ? { deliveredBy: st.deliveredBy, readBy: st.readBy } : {}),
      ...(cmid ? { cmid } : {}),
    });
  },
};
