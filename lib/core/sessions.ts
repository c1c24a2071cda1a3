/**
 * This process's sessions: the registry by user and by id, opening one (presence first: a
 * legacy login is refused while the account has any live session), closing one, and ending
 * one that a resumed session replaced, here or on its own process.
 */
import type { Logger } from 'pino';
import type { Bus, Presence } from '../bus/types.js';
import { Errors } from '../errors.js';
import { randomId } from '../models/random-ids.js';
import { notice } from '../protocol/frames.js';
import type { UserRecord } from '../store/types.js';
import type { KickPayload } from './bus-payloads.js';
import type { Link } from './link.js';
import { Session, type SessionDeps } from './session.js';

export interface SessionsDeps {
  bus: Bus;
  presence: Presence;
  log: Logger;
  /** live v2 sessions per account */
  maxSessions: number;
  session: SessionDeps;
}

export class Sessions {
  readonly #deps: SessionsDeps;
  /** one session, or a set once a user has several (most have one: no set each) */
  readonly #byUser = new Map<number, Session | Set<Session>>();
  readonly #byId = new Map<string, Session>();

  constructor(deps: SessionsDeps) {
    this.#deps = deps;
  }

  get #nodeId(): string {
    return this.#deps.bus.nodeId;
  }

  /**
   * Registers a session for `user` on `conn`. The session holds its pushes until `release()`d,
   * so nothing overtakes the login reply. `device`: a v2 session's device (its resume token's
   * chain); a live session of the same device, here or on another process, is replaced.
   */
  async open(conn: Link, user: UserRecord, device?: string): Promise<Session | 'busy' | 'full'> {
    const { presence } = this.#deps;
    const random = randomId(16);
    // a device's sessions are named after it, so a resume finds the one it replaces in presence
    const sessionId = device === undefined ? random : `${device}.${random}`;
    const session = new Session(sessionId, user.id, user.name, conn, this.#deps.session, device ?? null);
    session.hold();
    this.#add(session);
    let stale;
    let result;
    try {
      stale = device === undefined ? undefined : ((await presence.sessionsOf([user.id])).get(user.id) ?? []).find((x) => x.sessionId.startsWith(`${device}.`));
      result = await presence.register(
        user.id,
        { sessionId, nodeId: this.#nodeId, legacy: session.legacy },
        { exclusive: session.legacy, maxSessions: this.#deps.maxSessions, ...(stale ? { replace: stale.sessionId } : {}) },
      );
    } catch (err) {
      this.#remove(session);
      throw err;
    }
    if (!result.ok) {
      this.#remove(session);
      return result.reason;
    }
    if (stale) this.#kick(stale.sessionId, stale.nodeId);
    conn.session = session;
    return session;
  }

  async close(session: Session): Promise<void> {
    session.end();
    if (session.conn.session === session) session.conn.session = null;
    if (!this.#remove(session)) return;
    await this.#deps.presence.unregister(session.userId, session.id).catch((err: unknown) => {
      this.#deps.log.warn({ err, user: session.userId }, 'presence unregister failed; the entry expires with this node');
    });
  }

  *of(userId: number): Iterable<Session> {
    const mine = this.#byUser.get(userId);
    if (mine instanceof Session) yield mine;
    else if (mine) yield* mine;
  }

  /** the users with a session here */
  users(): number[] {
    return [...this.#byUser.keys()];
  }

  /** the live session with this id on this process */
  byId(sessionId: string): Session | undefined {
    return this.#byId.get(sessionId);
  }

  get count(): number {
    return this.#byId.size;
  }

  closeAll(): Promise<void> {
    return Promise.all([...this.#byId.values()].map((s) => this.close(s))).then(() => undefined);
  }

  #add(s: Session): void {
    const mine = this.#byUser.get(s.userId);
    if (!mine) this.#byUser.set(s.userId, s);
    else if (mine instanceof Session) this.#byUser.set(s.userId, new Set([mine, s]));
    else mine.add(s);
    this.#byId.set(s.id, s);
  }

  #remove(s: Session): boolean {
    if (!this.#byId.delete(s.id)) return false;
    const mine = this.#byUser.get(s.userId);
    if (mine === s) {
      this.#byUser.delete(s.userId);
    } else if (mine instanceof Set) {
      mine.delete(s);
      if (mine.size === 1) this.#byUser.set(s.userId, mine.values().next().value!);
    }
    return true;
  }

  /** ends a session replaced by a resume, here or on its own process */
  #kick(sessionId: string, nodeId: string): void {
    if (nodeId !== this.#nodeId) {
      this.#deps.bus.publish(nodeId, { t: 'kick', session: sessionId } satisfies KickPayload);
      return;
    }
    this.endReplaced(sessionId);
  }

  endReplaced(sessionId: string): void {
    const s = this.#byId.get(sessionId);
    if (!s) return;
    s.conn.log.info('session replaced by a resumed one');
    if (!s.legacy) {
      const e = Errors.SESSION_REPLACED;
      s.conn.send(notice('replaced', e.errno, e.errmsg));
    }
    void this.close(s).then(() => s.conn.end());
  }
}
