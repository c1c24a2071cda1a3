/** REMOVE_FRIEND_MSG (23, v2): removes the contact on both sides; one-to-one chat stays possible. */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { replyOk } from '../core/reply.js';
import type { Handler } from './types.js';

export const removeFriend: Handler = {
  msgid: MsgId.REMOVE_FRIEND_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const friendid = read.id(frame, 'friendid');
    if (!(await hub.store.removeFriend(conn.session!.userId, friendid))) throw new ChatError('NOT_FRIEND', String(friendid));
    replyOk(conn, MsgId.REMOVE_FRIEND_MSG, frame, { friendid });
  },
};
