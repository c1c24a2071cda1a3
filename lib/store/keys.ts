/**
 * The statements of the `device_keys` table (sql/*.sql), the key directory of end-to-end
 * encrypted messages (lib/protocol/sealed.ts): what both stores share, and each one's upsert.
 */
import type { DeviceKey } from '../protocol/sealed.js';

export const KEY_SQL = {
  /** (user, device, key, updated) */
  upsertSqlite:
    'INSERT INTO device_keys (user_id, device, pubkey, updated) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, device) DO UPDATE SET pubkey = excluded.pubkey, updated = excluded.updated',
  /** (user, device, key, updated) */
  upsertMysql: 'INSERT INTO device_keys (user_id, device, pubkey, updated) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE pubkey = VALUES(pubkey), updated = VALUES(updated)',
  /** (user, user, max): all but the user's `max` most recently published keys go */
  trim: 'DELETE FROM device_keys WHERE user_id = ? AND device NOT IN (SELECT device FROM (SELECT device FROM device_keys WHERE user_id = ? ORDER BY updated DESC, device LIMIT ?) AS kept)',
} as const;

/** a row of `device_keys` as read */
export interface DeviceKeyRow {
  user_id: number | string;
  device: string;
  pubkey: string;
}

export function deviceKeyOf(r: DeviceKeyRow): DeviceKey {
  return { userId: Number(r.user_id), device: r.device, key: r.pubkey };
}
