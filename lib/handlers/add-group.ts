/** ADD_GROUP_MSG (9): join a group; the member sees its log from the join on; idempotent. */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { replyOk } from '../core/reply.js';
import { groupConv } from '../protocol/conv.js';
import type { Handler } from './types.js';

export const addGroup: Handler = {
  msgid: MsgId.ADD_GROUP_MSG,
  auth: true,
  v2only: false,
  async handle(hub, conn, frame) {
    const groupid = read.id(frame, 'groupid');
    if (!(await hub.store.getGroup(groupid))) throw new ChatError('NO_SUCH_GROUP', String(groupid));
    const session = conn.session!;
    if (!(await hub.store.isMember(groupid, session.userId))) {
      const members = await hub.store.listMembers(groupid);
      if (members.length >= hub.opts.maxGroupSize) throw new ChatError('GROUP_FULL', `at most ${hub.opts.maxGroupSize} members`);
    }
    const { joined, joinedSeq } = await hub.store.joinGroup(groupid, session.userId);
    const conv = groupConv(groupid);
    // this session has everything up to the join (there is nothing it may see before it)
    session.setPosition(conv, joinedSeq);
    replyOk(conn, MsgId.ADD_GROUP_MSG, frame, { groupid, conv, joinedSeq, joined });
  },
};
