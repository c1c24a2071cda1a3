/** CREATE_GROUP_MSG (8): a new group with the sender as its creator; v2 learns the new id. */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { replyOk } from '../core/reply.js';
import type { Handler } from './types.js';

/** the original's columns: groupname varchar(50), groupdesc varchar(200) */
export const MAX_GROUP_NAME = 50;
export const MAX_GROUP_DESC = 200;

export const createGroup: Handler = {
  msgid: MsgId.CREATE_GROUP_MSG,
  auth: true,
  v2only: false,
  async handle(hub, conn, frame) {
    const name = read.text(frame, 'groupname', { min: 1, max: MAX_GROUP_NAME }).trim();
    if (name.length === 0) throw new ChatError('BAD_FIELD', 'groupname');
    const desc = read.optionalText(frame, 'groupdesc', { max: MAX_GROUP_DESC }) ?? '';
    const group = await hub.store.createGroup(name, desc, conn.session!.userId);
    if (!group) throw new ChatError('GROUP_NAME_EXISTS', name);
    conn.log.info({ user: conn.session!.userId, group: group.id }, 'group created');
    replyOk(conn, MsgId.CREATE_GROUP_MSG, frame, { groupid: group.id, groupname: group.name, groupdesc: group.desc });
  },
};
