/**
 * LOGINOUT_MSG (3): ends this connection's session and revokes its resume token (first, so a
 * storage failure leaves both as they were); the connection stays open.
 */
import { MsgId } from '../protocol/msgid.js';
import { replyOk } from '../core/reply.js';
import type { Handler } from './types.js';

export const loginout: Handler = {
  msgid: MsgId.LOGINOUT_MSG,
  auth: true,
  v2only: false,
  async handle(hub, conn, frame) {
    const session = conn.session!;
    if (session.device !== null) await hub.store.revokeSessionToken(session.userId, session.device);
    await hub.closeSession(session);
    conn.log.info({ user: session.userId }, 'logged out');
    replyOk(conn, MsgId.LOGINOUT_MSG, frame);
  },
};
