/**
 * KEY_FETCH_MSG (34, v2) -> KEY_FETCH_ACK (35): the published device keys of the users in
 * `ids` (at most MAX_KEY_FETCH_USERS), or of the current members of `conv` (the asker being
 * one; `members` then names them), as `keys: [{id, device, key}]` by user then device; a user
 * without any has no entry.
 * Anyone logged in may ask for `ids`: public keys are public.
 */
import { ChatError, Errors } from '../errors.js';
import { currentMembers, isCurrentMember } from '../models/conversations.js';
import { MsgId } from '../protocol/msgid.js';
import { isUserId, MAX_KEY_FETCH_USERS } from '../protocol/sealed.js';
import * as read from '../protocol/validate.js';
import type { Handler } from './types.js';

export const keyFetch: Handler = {
  msgid: MsgId.KEY_FETCH_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const conv = frame.conv === undefined ? undefined : read.text(frame, 'conv', { max: 64 });
    let users: number[];
    if (conv !== undefined) {
      if (frame.ids !== undefined) throw new ChatError('BAD_FIELD', 'ids');
      if (!(await isCurrentMember(hub.store, conn.session!.userId, conv))) throw new ChatError('NOT_MEMBER', conv);
      users = await currentMembers(hub.store, conv);
    } else {
      const ids: unknown = frame.ids;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_KEY_FETCH_USERS || !ids.every(isUserId)) throw new ChatError('BAD_FIELD', 'ids');
      users = [...new Set(ids)];
    }
    const keys = await hub.store.deviceKeys(users);
    const cmid = read.echoCmid(frame);
    conn.send({
      msgid: MsgId.KEY_FETCH_ACK,
      v: 2,
      errno: 0,
      errmsg: Errors.OK.errmsg,
      ...(conv !== undefined ? { conv, members: users } : {}),
      keys: keys.map((k) => ({ id: k.userId, device: k.device, key: k.key })),
      ...(cmid ? { cmid } : {}),
    });
  },
};
