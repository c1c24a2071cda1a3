/**
 * KEY_PUBLISH_MSG (33, v2) -> REQ_ACK: the device publishes its end-to-end public key to the
 * key directory (`device`, the id it chose; `key`, its raw X25519 public key in base64). A
 * publish replaces the device's earlier key; a user keeps the MAX_DEVICE_KEYS most recently
 * published, so a device publishes again at each login to stay among them.
 */
import { ChatError } from '../errors.js';
import { replyOk } from '../core/reply.js';
import { MsgId } from '../protocol/msgid.js';
import { isDeviceId, isPublicKey, MAX_DEVICE_KEYS } from '../protocol/sealed.js';
import type { Handler } from './types.js';

export const keyPublish: Handler = {
  msgid: MsgId.KEY_PUBLISH_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const { device, key } = frame;
    if (!isDeviceId(device)) throw new ChatError('BAD_DEVICE_KEY', 'device');
    if (!isPublicKey(key)) throw new ChatError('BAD_DEVICE_KEY', 'key');
    const userId = conn.session!.userId;
    await hub.store.publishDeviceKey({ userId, device, key, updated: hub.now() }, MAX_DEVICE_KEYS);
    conn.log.info({ user: userId, device }, 'device key published');
    replyOk(conn, MsgId.KEY_PUBLISH_MSG, frame, { device });
  },
};
