/** ADD_FRIEND_MSG (7): the friend must exist and not be yourself; both sides see it; idempotent. */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import { replyOk } from '../server/reply.js';
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
    const friends = await hub.store.listFriends(userId);
    if (friends.length >= hub.opts.maxFriends && !friends.some((f) => f.id === friendid)) {
      throw new ChatError('TOO_MANY_FRIENDS', `at most ${hub.opts.maxFriends}`);
    }
    const added = await hub.store.addFriend(userId, friendid);
    replyOk(conn, MsgId.ADD_FRIEND_MSG, frame, { friendid, added });
  },
};
