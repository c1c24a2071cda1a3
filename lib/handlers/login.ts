/**
 * LOGIN_MSG (1) -> LOGIN_MSG_ACK (2). Legacy: the original's reply (lists as arrays of JSON
 * strings, keys present only when non-empty, `offlinemsg` = the log past the delivered
 * position, which then counts as delivered). v2: nested lists, a session token, and the
 * per-conversation summary; messages come by SYNC_MSG. A v2 LOGIN presenting a live token of
 * the user resumes without the password (lib/models/tokens.ts): the token is tried first.
 */
import { Errors, type ErrorCode } from '../errors.js';
import { legacyGroupJson, loadContacts, membersWithState } from '../models/contacts.js';
import { conversationSummaries, legacyBacklog } from '../models/conversations.js';
import { hashPassword, scryptCost, verifyPassword } from '../models/password.js';
import { issueToken, newDevice, rotateToken, unrotateToken, type Issued } from '../models/tokens.js';
import type { Admission } from '../core/auth-limits.js';
import type { UserRecord } from '../store/types.js';
import { MsgId } from '../protocol/msgid.js';
import { isSealed } from '../protocol/sealed.js';
import { legacyEvent } from '../protocol/shapes.js';
import { echoCmid, type Frame } from '../protocol/validate.js';
import * as read from '../protocol/validate.js';
import type { Link } from '../core/link.js';
import type { Hub } from '../core/hub.js';
import type { Session } from '../core/session.js';
import type { Handler } from './types.js';

function fail(conn: Link, frame: Frame, code: ErrorCode, detail?: string, retryAfterMs?: number): void {
  const e = Errors[code];
  const errmsg = detail ? `${e.errmsg}: ${detail}` : e.errmsg;
  if (!conn.v2) {
    // the original client waits for this reply, knows errno 1 and 2, and prints errmsg
    if (code === 'ACCOUNT_IN_USE') conn.send({ errmsg: Errors.ACCOUNT_IN_USE.errmsg, errno: Errors.ACCOUNT_IN_USE.errno, msgid: MsgId.LOGIN_MSG_ACK });
    else conn.send({ errmsg: code === 'RATE_LIMITED' || code === 'BUSY' ? errmsg : Errors.LOGIN_INVALID.errmsg, errno: Errors.LOGIN_INVALID.errno, msgid: MsgId.LOGIN_MSG_ACK });
    return;
  }
  const cmid = echoCmid(frame);
  conn.send({ msgid: MsgId.LOGIN_MSG_ACK, v: 2, errno: e.errno, errmsg, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...(cmid ? { cmid } : {}) });
}

async function replyLegacy(hub: Hub, conn: Link, session: Session): Promise<void> {
  const [contacts, convs] = await Promise.all([loadContacts(hub.store, hub.presence, session.userId), hub.store.userConversations(session.userId)]);
  const { events, upTo } = await legacyBacklog(hub.store, session.userId, convs, hub.opts.maxOfflineMsgs, hub.now());
  const reply: Record<string, unknown> = { errno: 0 };
  if (contacts.friends.length > 0) reply.friends = contacts.friends.map((f) => JSON.stringify({ id: f.id, name: f.name, state: f.state }));
  if (contacts.groups.length > 0) reply.groups = contacts.groups.map((g) => legacyGroupJson(g, contacts.state));
  reply.id = session.userId;
  reply.msgid = MsgId.LOGIN_MSG_ACK;
  reply.name = session.name;
  // sealed messages: one notice per conversation, as for pushes (Deliveries.render)
  const shown = events.filter((ev) => !isSealed(ev.text) || session.firstSealed(ev.conv));
  if (shown.length > 0) reply.offlinemsg = shown.map((ev) => JSON.stringify(legacyEvent(ev, session.userId)));
  for (const [conv, seq] of upTo) session.setPosition(conv, seq);
  conn.send(reply, () => {
    for (const st of convs) {
      const seq = upTo.get(st.conv) ?? 0;
      if (seq > st.delivered) hub.markDelivered(session.userId, st.conv, seq);
    }
  });
}

async function replyV2(hub: Hub, conn: Link, session: Session, frame: Frame, token: string): Promise<void> {
  const [contacts, convs] = await Promise.all([loadContacts(hub.store, hub.presence, session.userId), conversationSummaries(hub.store, session.userId)]);
  // pushes start after what the summary shows; the client syncs up to there
  for (const c of convs) session.setPosition(c.conv, c.lastSeq);
  const cmid = echoCmid(frame);
  conn.send({
    msgid: MsgId.LOGIN_MSG_ACK,
    v: 2,
    errno: 0,
    errmsg: Errors.OK.errmsg,
    id: session.userId,
    name: session.name,
    token,
    friends: contacts.friends,
    groups: contacts.groups.map((g) => ({ id: g.group.id, groupname: g.group.name, groupdesc: g.group.desc, users: membersWithState(g, contacts.state) })),
    convs,
    ...(cmid ? { cmid } : {}),
  });
}

/** the stored hash is cheaper than --scrypt-params: store one at the configured cost (off the reply path) */
async function rehash(hub: Hub, conn: Link, userId: number, password: string, oldHash: string): Promise<void> {
  try {
    const cost = hub.opts.scryptParams;
    const hashing = hub.hashes.run(() => hashPassword(password, scryptCost(cost), hub.scrypt));
    // the next login does it when there is time
    if (!hashing) return conn.log.info({ user: userId }, 'password rehash skipped: too many hashes waiting');
    const replaced = await hub.store.replacePasswordHash(userId, oldHash, await hashing);
    conn.log.info({ user: userId, cost, replaced }, 'password rehashed at the configured cost');
  } catch (err) {
    conn.log.warn({ err, user: userId }, 'password rehash failed; the old hash stays');
  }
}

/** a login budget is spent: refused at once, no credential checked */
function refuseAttempt(hub: Hub, conn: Link, frame: Frame, userId: number, refusal: Admission & { ok: false }): void {
  conn.log.warn({ user: userId, limit: refusal.limit, retryAfterMs: refusal.retryAfterMs }, 'login refused: too many attempts');
  hub.stats.refused(refusal.limit);
  fail(conn, frame, 'RATE_LIMITED', `too many login attempts (${refusal.limit}), try again in ${Math.ceil(refusal.retryAfterMs / 1000)} s`, refusal.retryAfterMs);
}

/** too many password checks waiting: errno 132 with the time to come back */
function refuseBusy(hub: Hub, conn: Link, frame: Frame, userId: number): null {
  const { detail, retryAfterMs } = hub.hashes.refusal();
  hub.hashes.logRefusal(conn.log, { user: userId, retryAfterMs }, 'login refused: too many password checks waiting (refused: how many since the last such line)');
  fail(conn, frame, 'BUSY', detail, retryAfterMs);
  return null;
}

/** the password check, counted by the login budgets; null (and the reply sent) when refused */
async function byPassword(hub: Hub, conn: Link, frame: Frame, userId: number, password: string): Promise<UserRecord | null> {
  // refused before the budgets and the store are asked: a storm of logins is mostly refusals
  if (hub.hashes.full) return refuseBusy(hub, conn, frame, userId);
  // attempts are counted before the password is checked, so in-flight guesses count too
  const admitted = await hub.authLimits.admitLogin(userId, conn.address);
  if (!admitted.ok) {
    refuseAttempt(hub, conn, frame, userId, admitted);
    return null;
  }
  const cost = scryptCost(hub.opts.scryptParams);
  const user = await hub.store.getUser(userId);
  const checking = hub.hashes.run(() => verifyPassword(password, user?.passwordHash ?? null, cost, hub.scrypt));
  if (!checking) {
    // not checked: the attempt does not count
    void hub.authLimits.loginCancelled(admitted.ticket).catch((err: unknown) => conn.log.warn({ err }, 'could not give back a login attempt'));
    return refuseBusy(hub, conn, frame, userId);
  }
  const verdict = await checking;
  if (!verdict.ok || !user) {
    conn.log.info({ user: userId }, 'login refused: invalid id or password');
    fail(conn, frame, 'LOGIN_INVALID');
    return null;
  }
  void hub.authLimits.loginSucceeded(admitted.ticket).catch((err: unknown) => conn.log.warn({ err }, 'could not clear login attempts'));
  if (verdict.rehash) void rehash(hub, conn, user.id, password, user.passwordHash);
  return user;
}

/** a token that resumes nothing and no password: a failed attempt, like a wrong password */
async function refuseToken(hub: Hub, conn: Link, frame: Frame, userId: number): Promise<void> {
  const admitted = await hub.authLimits.admitLogin(userId, conn.address);
  if (!admitted.ok) return refuseAttempt(hub, conn, frame, userId, admitted);
  conn.log.info({ user: userId }, 'login refused: invalid token');
  fail(conn, frame, 'LOGIN_INVALID');
}

export const login: Handler = {
  msgid: MsgId.LOGIN_MSG,
  auth: false,
  v2only: false,
  fail: (conn, frame, err) => fail(conn, frame, err.code, err.detail),
  async handle(hub, conn, frame) {
    if (conn.session) {
      if (conn.v2) fail(conn, frame, 'ALREADY_LOGGED_IN');
      else conn.log.info('ignored a second LOGIN on a logged-in legacy connection');
      return;
    }
    const userId = read.id(frame, 'id');
    // a resume credential exists only in v2; with one, the password may be left out
    const presented = conn.v2 ? read.optionalText(frame, 'token', { max: 64 }) : undefined;
    const password = presented === undefined ? read.text(frame, 'password', { max: 1024 }) : read.optionalText(frame, 'password', { max: 1024 });
    const ttl = hub.opts.tokenTtlMs;
    const resumed = presented === undefined ? null : await rotateToken(hub.store, userId, presented, hub.now(), ttl);
    let user: UserRecord | null;
    if (resumed) {
      user = await hub.store.getUser(userId);
    } else if (password === undefined) {
      return refuseToken(hub, conn, frame, userId);
    } else {
      user = await byPassword(hub, conn, frame, userId, password);
    }
    if (!user) return;
    // a resume that ends here gives its token back, so the client can try again with it
    const giveBack = (): void => {
      if (resumed) void unrotateToken(hub.store, userId, resumed, presented!, hub.now(), ttl).catch((err: unknown) => conn.log.warn({ err }, 'could not restore the presented token'));
    };
    if (conn.closed || conn.session) return giveBack();
    const device = resumed?.device ?? (conn.v2 ? newDevice() : undefined);
    let session;
    try {
      session = await hub.openSession(conn, user, device);
    } catch (err) {
      giveBack();
      throw err;
    }
    if (session === 'busy' || session === 'full') {
      giveBack();
      conn.log.info({ user: userId, reason: session }, 'login refused');
      fail(conn, frame, session === 'busy' ? 'ACCOUNT_IN_USE' : 'TOO_MANY_SESSIONS');
      return;
    }
    if (conn.closed) {
      giveBack();
      await hub.closeSession(session);
      return;
    }
    conn.note({ user: userId, session: session.id, legacy: session.legacy, resumed: resumed !== null }, 'logged in');
    try {
      if (session.legacy) await replyLegacy(hub, conn, session);
      else await replyV2(hub, conn, session, frame, resumed?.token ?? (await issueToken(hub.store, userId, device!, hub.now(), ttl)));
    } catch (err) {
      giveBack();
      await hub.closeSession(session);
      throw err;
    }
    session.release();
  },
};
