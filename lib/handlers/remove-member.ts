/** REMOVE_MEMBER_MSG (22, v2): the group's creator removes a member. */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { replyOk } from '../core/reply.js';
import type { Handler } from './types.js';

export const removeMember: Handler = {
  msgid: MsgId.REMOVE_MEMBER_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const groupid = read.id(frame, 'groupid');
    const userid = read.id(frame, 'userid');
    const group = await hub.store.getGroup(groupid);
    if (!group) throw new ChatError('NO_SUCH_GROUP', String(groupid));
    const me = conn.session!.userId;
    // a creator who left the group has left its powers with it
    if (group.creatorId !== me || !(await hub.store.isMember(groupid, me))) {
      throw new ChatError('NOT_ALLOWED', 'only the group creator removes members');
    }
    if (userid === group.creatorId) throw new ChatError('NOT_ALLOWED', 'the creator cannot be removed');
    if (!(await hub.store.leaveGroup(groupid, userid))) throw new ChatError('NOT_MEMBER', String(userid));
    replyOk(conn, MsgId.REMOVE_MEMBER_MSG, frame, { groupid, userid });
  },
};
