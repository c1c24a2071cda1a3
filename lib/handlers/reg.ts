/** REG_MSG (4) -> REG_MSG_ACK (5): name + password -> a new user id. */
import { ChatError, Errors, type ErrorCode } from '../errors.js';
import { hashPassword, scryptCost } from '../models/password.js';
import { MsgId } from '../protocol/msgid.js';
import { echoCmid, type Frame } from '../protocol/validate.js';
import * as read from '../protocol/validate.js';
import type { Link } from '../core/link.js';
import type { Handler } from './types.js';

/** longest user name, in characters (the original's column was varchar(50)) */
export const MAX_NAME = 50;

function answer(conn: Link, frame: Frame, code: ErrorCode, detail?: string, extra: { id?: number; retryAfterMs?: number } = {}): void {
  const e = Errors[code];
  const errmsg = detail ? `${e.errmsg}: ${detail}` : e.errmsg;
  const { id } = extra;
  if (!conn.v2) {
    // sorted keys, as the original; it printed "register error" for any errno but 0
    conn.send(id !== undefined ? { errno: 0, id, msgid: MsgId.REG_MSG_ACK } : { errmsg, errno: 1, msgid: MsgId.REG_MSG_ACK });
    return;
  }
  const cmid = echoCmid(frame);
  conn.send({ msgid: MsgId.REG_MSG_ACK, v: 2, errno: e.errno, errmsg, ...extra, ...(cmid ? { cmid } : {}) });
}

export const reg: Handler = {
  msgid: MsgId.REG_MSG,
  auth: false,
  v2only: false,
  fail: (conn, frame, err) => answer(conn, frame, err.code, err.detail),
  async handle(hub, conn, frame) {
    const name = read.text(frame, 'name', { min: 1, max: MAX_NAME }).trim();
    const password = read.text(frame, 'password', { min: 1, max: 1024 });
    if (name.length === 0) throw new ChatError('BAD_FIELD', 'name');
    // counted before the hash: a flood of REGs costs the server no scrypt work past the budget
    const admitted = await hub.authLimits.admitRegistration(conn.address);
    if (!admitted.ok) {
      conn.log.warn({ retryAfterMs: admitted.retryAfterMs }, 'registration refused: too many from this address');
      hub.stats.refused(admitted.limit);
      const wait = Math.ceil(admitted.retryAfterMs / 1000);
      answer(conn, frame, 'RATE_LIMITED', `too many registrations from your address, try again in ${wait} s`, { retryAfterMs: admitted.retryAfterMs });
      return;
    }
    const hashing = hub.hashes.run(() => hashPassword(password, scryptCost(hub.opts.scryptParams), hub.scrypt));
    if (!hashing) {
      const { detail, retryAfterMs } = hub.hashes.refusal();
      hub.hashes.logRefusal(conn.log, { retryAfterMs }, 'registration refused: too many password hashes waiting (refused: how many since the last such line)');
      answer(conn, frame, 'BUSY', detail, { retryAfterMs });
      return;
    }
    const id = await hub.store.createUser(name, await hashing);
    if (id === null) {
      answer(conn, frame, 'NAME_EXISTS');
      return;
    }
    conn.log.info({ user: id }, 'registered');
    answer(conn, frame, 'OK', undefined, { id });
  },
};
