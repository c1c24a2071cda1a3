/**
 * Which protocol a server speaks: clusterchat answers a v2 PING (before login, too); the
 * original C++ ClusterChatServer answers nothing to a msgid it does not know (it only logs it)
 * and keeps the connection. The probe runs on a connection of its own, closed after it, so
 * that the connection the client goes on with starts in the flavour it chose.
 */
import { MsgId } from '../protocol/msgid.js';
import { WireConnection, type Endpoint } from './connection.js';

/** how long the probe waits for the v2 answer, ms */
export const PROBE_MS = 1500;

/** true when a v2 frame answers a v2 PING within `ms`; rejects when the connection cannot be made */
export async function speaksV2(ep: Endpoint, ms = PROBE_MS): Promise<boolean> {
  const wire = await WireConnection.open(ep);
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      const done = (v2: boolean) => {
        clearTimeout(timer);
        resolve(v2);
      };
      wire.on('frame', (f) => {
        if (f.v === 2) done(true);
      });
      wire.on('close', () => done(false));
      wire.send({ msgid: MsgId.PING_MSG, v: 2, cmid: 'probe' });
    });
  } finally {
    wire.close();
  }
}
