/** PING_MSG (28, v2) -> PONG_MSG (29): a heartbeat; also allowed before login. */
import { MsgId } from '../protocol/msgid.js';
import * as read from '../protocol/validate.js';
import type { Handler } from './types.js';

export const ping: Handler = {
  msgid: MsgId.PING_MSG,
  auth: false,
  v2only: true,
  async handle(hub, conn, frame) {
    const cmid = read.echoCmid(frame);
    conn.send({ msgid: MsgId.PONG_MSG, v: 2, ts: hub.now(), ...(cmid ? { cmid } : {}) });
  },
};
