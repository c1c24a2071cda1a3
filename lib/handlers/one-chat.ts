/** ONE_CHAT_MSG (6): a message to one user; pushed to them as msgid 6, acked with CHAT_ACK (v2). */
import { ChatError } from '../errors.js';
import { appendChat, readChatFields } from './send-chat.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { pairConv } from '../protocol/conv.js';
import type { Handler } from './types.js';

export const oneChat: Handler = {
  msgid: MsgId.ONE_CHAT_MSG,
  auth: true,
  v2only: false,
  async handle(hub, conn, frame) {
    const session = conn.session!;
    const toid = read.id(frame, 'toid');
    const fields = readChatFields(hub, conn, frame);
    if (!(await hub.userExists(toid))) throw new ChatError('NO_SUCH_USER', String(toid));
    appendChat(hub, session, frame, MsgId.ONE_CHAT_MSG, pairConv(session.userId, toid), fields);
  },
};
