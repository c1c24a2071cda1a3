/** LEAVE_GROUP_MSG (21, v2): leave a group; the log stays readable up to the leave. */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { replyOk } from '../core/reply.js';
import type { Handler } from './types.js';

export const leaveGroup: Handler = {
  msgid: MsgId.LEAVE_GROUP_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const groupid = read.id(frame, 'groupid');
    if (!(await hub.store.getGroup(groupid))) throw new ChatError('NO_SUCH_GROUP', String(groupid));
    if (!(await hub.store.leaveGroup(groupid, conn.session!.userId))) throw new ChatError('NOT_MEMBER', String(groupid));
    replyOk(conn, MsgId.LEAVE_GROUP_MSG, frame, { groupid });
  },
};
