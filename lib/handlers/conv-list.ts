/** CONV_LIST_MSG (26, v2) -> CONV_LIST_ACK (27): my conversations, latest seqs, positions, unread counts. */
import { conversationSummaries } from '../models/conversations.js';
import { Errors } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import type { Handler } from './types.js';

export const convList: Handler = {
  msgid: MsgId.CONV_LIST_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const convs = await conversationSummaries(hub.store, conn.session!.userId);
    const cmid = read.echoCmid(frame);
    conn.send({ msgid: MsgId.CONV_LIST_ACK, v: 2, errno: 0, errmsg: Errors.OK.errmsg, convs, ...(cmid ? { cmid } : {}) });
  },
};
