/** GROUP_CHAT_MSG (10): a message to a group; every member's sessions but the sender's get it once. */
import { ChatError } from '../errors.js';
import { appendChat, readChatFields } from './send-chat.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { groupConv } from '../protocol/conv.js';
import type { Handler } from './types.js';

export const groupChat: Handler = {
  msgid: MsgId.GROUP_CHAT_MSG,
  auth: true,
  v2only: false,
  async handle(hub, conn, frame) {
    const session = conn.session!;
    const groupid = read.id(frame, 'groupid');
    const fields = readChatFields(hub, conn, frame);
    if (!(await hub.store.isMember(groupid, session.userId))) {
      throw new ChatError((await hub.store.getGroup(groupid)) ? 'NOT_MEMBER' : 'NO_SUCH_GROUP', String(groupid));
    }
    appendChat(hub, session, frame, MsgId.GROUP_CHAT_MSG, groupConv(groupid), fields);
  },
};
