/**
 * The statements of the `session_tokens` table (sql/*.sql), the same text for both stores:
 * v2 resume credentials stored as SHA-256 hashes only (lib/models/tokens.ts makes them).
 */
export const TOKEN_SQL = {
  /** (user, now): a user's expired tokens */
  purgeExpired: 'DELETE FROM session_tokens WHERE user_id = ? AND expires <= ?',
  /** (hash, user, device, created, expires) */
  insert: 'INSERT INTO session_tokens (hash, user_id, device, created, expires, last_used) VALUES (?, ?, ?, ?, ?, NULL)',
  /** (hash, user, now): the device of a live token */
  device: 'SELECT device FROM session_tokens WHERE hash = ? AND user_id = ? AND expires > ?',
  /** (new hash, expires, now, old hash, user, now): only one of two concurrent rotations matches */
  rotate: 'UPDATE session_tokens SET hash = ?, expires = ?, last_used = ? WHERE hash = ? AND user_id = ? AND expires > ?',
  /** (user, device) */
  revoke: 'DELETE FROM session_tokens WHERE user_id = ? AND device = ?',
  /** (user) */
  revokeUser: 'DELETE FROM session_tokens WHERE user_id = ?',
} as const;
