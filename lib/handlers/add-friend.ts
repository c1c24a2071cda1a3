/** ADD_FRIEND_MSG (7): the friend must exist and not be yourself; both sides see it; idempotent. */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { replyOk } from '../core/reply.js';
import type { Handler } from './types.js';

export const addFriend: Handler = {
  msgid: MsgId.ADD_FRIEND_MSG,
  auth: true,
  v2only: false,
  async handle(hub, conn, frame) {
    const userId = conn.session!.userId;
    const friendid = read.id(frame, 'friendid');
    if (friendid === userId) throw new ChatError('SELF_FRIEND');
    if (!(await hub.userExists(friendid))) throw new ChatError('NO_SUCH_USER', String(friendid));
    // a friendship counts on both sides, so both must have room for it
    const [mine, theirs] = await Promise.all([hub.store.listFriends(userId), hub.store.listFriends(friendid)]);
    if (!mine.some((f) => f.id === friendid)) {
      const max = hub.opts.maxFriends;
      if (mine.length >= max) throw new ChatError('TOO_MANY_FRIENDS', `you have ${max}, the most allowed`);
      if (theirs.length >= max) throw new ChatError('TOO_MANY_FRIENDS', `user ${friendid} has ${max}, the most allowed`);
    }
    const added = await hub.store.addFriend(userId, friendid);
    const [friend] = await hub.store.getUserRefs([friendid]);
    replyOk(conn, MsgId.ADD_FRIEND_MSG, frame, { friendid, name: friend?.name ?? '', added });
  },
};
