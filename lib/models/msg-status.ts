/**
 * Message status (EnMsgStatus) from watermarks: a message at seq s in a conversation is
 * DELIVERED to a member once their delivered position is >= s, READ once their read position
 * is; RECALLED once recalled; SENT (persisted) before that. No row per message per member.
 */
import { MsgStatus } from '../protocol/msgid.js';
import type { LogEvent, MemberPosition } from '../store/types.js';

export interface MessageStatus {
  status: number;
  /** members other than the sender who could see the message (joined before it) */
  members: number;
  delivered: number;
  read: number;
  deliveredBy: number[];
  readBy: number[];
}

export function messageStatus(ev: LogEvent, positions: MemberPosition[]): MessageStatus {
  const audience = positions.filter((p) => p.userId !== ev.senderId && p.joinedSeq < ev.seq);
  const deliveredBy = audience.filter((p) => p.delivered >= ev.seq).map((p) => p.userId);
  const readBy = audience.filter((p) => p.read >= ev.seq).map((p) => p.userId);
  const all = audience.length;
  let status: number = MsgStatus.SENT;
  if (ev.recalled) status = MsgStatus.RECALLED;
  else if (all > 0 && readBy.length === all) status = MsgStatus.READ;
  else if (all > 0 && deliveredBy.length === all) status = MsgStatus.DELIVERED;
  return { status, members: all, delivered: deliveredBy.length, read: readBy.length, deliveredBy, readBy };
}
