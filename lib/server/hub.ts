/**
 * The heart of one server process: the store, the bus and presence, the commit batcher,
 * this process's sessions, and the delivery of committed events to every recipient session,
 * here or on other processes. Handlers act only through it.
 */
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { ServerOptions } from '../config.js';
import { Errors } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import { legacyEvent, v2Event } from '../protocol/shapes.js';
import type { Bus, Presence } from '../bus/types.js';
import { parseConv } from '../store/conv.js';
import type { CommitOp, CommitResult, ConvId, LogEvent, NewEvent, Store, UserRecord } from '../store/types.js';
import { makeMid, midPrefix } from '../models/mid.js';
import { CommitBatcher } from './batcher.js';
import type { AuthLimits } from './auth-limits.js';
import { Stats } from './stats.js';
import type { Connection } from './connection.js';
import { Session, type SessionDeps } from './session.js';

export interface HubDeps {
  store: Store;
  bus: Bus;
  presence: Presence;
  /** true when other processes share the store (deliveries may have to cross the bus) */
  clustered: boolean;
  opts: ServerOptions;
  log: Logger;
  authLimits: AuthLimits;
  /** the clock (ms); tests inject one */
  now?: () => number;
}

/** one committed event and the session that sent it */
interface Delivery {
  ev: LogEvent;
  origin: string | undefined;
}

/** what one process publishes to another: events for some of its users */
interface EventsPayload {
  t: 'ev';
  items: Array<{ ev: LogEvent; users: number[]; origin?: string }>;
}

interface KickPayload {
  t: 'kick';
  session: string;
}

/** ready-made v2 frames (status updates) for the v2 sessions of some users */
interface FramesPayload {
  t: 'frames';
  items: Array<{ users: number[]; frame: object }>;
}

type BusPayload = EventsPayload | KickPayload | FramesPayload;

/** a watermark that moved, to be told to whom it concerns */
interface Move {
  userId: number;
  conv: ConvId;
  delivered: number;
  read: number;
  /** the lowest seq whose status changed is above this */
  from: number;
}

/** the origin of watermark moves that concern nobody else (a sender has what it sent) */
const QUIET = '~quiet';

/** bound on the recent-recalls cache; the least recent recall is long out of every in-flight queue */
const RECALLED_MAX = 100_000;

/** bound on the cache of user ids known to exist (users are never deleted) */
const KNOWN_USERS_MAX = 200_000;

/** users whose conversations one resync query reads */
const RESYNC_USERS_PER_QUERY = 500;

export class Hub {
  readonly store: Store;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly opts: ServerOptions;
  readonly log: Logger;
  readonly batcher: CommitBatcher;
  readonly now: () => number;
  /** bounds on login attempts and registrations (lib/server/auth-limits.ts) */
  readonly authLimits: AuthLimits;
  readonly stats = new Stats();
  /** persistence: ops per commit and its duration, for the metrics */
  onBatch: ((size: number, ms: number) => void) | null = null;
  /** cluster: ms from a batch's commit to its publish, for the metrics */
  onPublish: ((ms: number) => void) | null = null;
  readonly #clustered: boolean;
  readonly #byUser = new Map<number, Set<Session>>();
  readonly #byId = new Map<string, Session>();
  readonly #knownUsers = new LRUCache<number, true>({ max: KNOWN_USERS_MAX });
  /** `conv#seq` of recent recalls, so in-flight copies of a recalled message go out as tombstones */
  readonly #recalled = new LRUCache<string, true>({ max: RECALLED_MAX });
  readonly #sessionDeps: SessionDeps;
  readonly #midPrefix = midPrefix();
  #midCounter = 0;
  #deliveryChain: Promise<void> = Promise.resolve();
  #statusChain: Promise<void> = Promise.resolve();
  readonly #legacyLines = new WeakMap<LogEvent, string>();
  readonly #v2Lines = new WeakMap<LogEvent, string>();
  readonly #marks = new Map<string, { userId: number; conv: ConvId; delivered: number; read: number | undefined; quiet: boolean }>();
  #marksScheduled = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  #resyncing: Promise<void> | null = null;

  constructor(deps: HubDeps) {
    this.store = deps.store;
    this.bus = deps.bus;
    this.presence = deps.presence;
    this.opts = deps.opts;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    this.#clustered = deps.clustered;
    this.authLimits = deps.authLimits;
    this.batcher = new CommitBatcher(this.store, {
      maxBatch: deps.opts.maxBatch,
      maxQueue: deps.opts.maxCommitQueue,
      onCommitted: (ops, results, origins) => this.#afterCommit(ops, results, origins),
      onBatch: (size, ms) => this.onBatch?.(size, ms),
    });
    this.#sessionDeps = {
      store: this.store,
      render: (ev, s) => this.#render(ev, s),
      onLegacyWritten: (s, conv, seq) => this.markDelivered(s.userId, conv, seq),
      onError: (err, s) => s.conn.log.error({ err }, 'reading the log to fill a gap failed; retrying'),
      gapWaitMs: deps.opts.gapWaitMs,
    };
  }

  /**
   * An event on its way out may have been recalled since it was read or committed: then it
   * goes out as the tombstone (v2), or not at all (legacy: the recall event shows instead).
   */
  #render(ev: LogEvent, s: Session): string | null {
    const recalled = ev.recalled || (ev.kind === 'chat' && this.#recalled.has(`${ev.conv}#${ev.seq}`));
    if (s.legacy && recalled) return null;
    if (recalled && !ev.recalled) return JSON.stringify(v2Event({ ...ev, text: '', recalled: true }));
    // a group message goes to many sessions: serialised once per flavour
    const cache = s.legacy ? this.#legacyLines : this.#v2Lines;
    let line = cache.get(ev);
    if (line === undefined) {
      line = JSON.stringify(s.legacy ? legacyEvent(ev, s.userId) : v2Event(ev));
      cache.set(ev, line);
    }
    return line;
  }

  #noteRecall(ev: LogEvent): void {
    if (ev.kind !== 'recall' || ev.ref === null) return;
    this.#recalled.set(`${ev.conv}#${ev.ref}`, true);
  }

  get nodeId(): string {
    return this.bus.nodeId;
  }

  async start(): Promise<void> {
    await this.presence.start();
    await this.bus.start(
      (payload) => this.#onBus(payload),
      () => {
        this.log.info('bus is back; re-reading the conversations of this process\'s sessions');
        void this.resync();
      },
    );
    if (this.#clustered && this.opts.resyncIntervalMs > 0) {
      this.#resyncTimer = setInterval(() => void this.resync(), this.opts.resyncIntervalMs);
      this.#resyncTimer.unref();
    }
  }

  /**
   * Pushes to this process's sessions whatever was committed but never reached them: a bus
   * message lost in an outage (or to a publisher that had no presence to route by) would
   * otherwise wait for the next message of its conversation. One query per 500 users; a
   * session that is up to date costs a comparison per conversation.
   */
  resync(): Promise<void> {
    this.#resyncing ??= this.#resyncAll().finally(() => {
      this.#resyncing = null;
    });
    return this.#resyncing;
  }

  async #resyncAll(): Promise<void> {
    const users = [...this.#byUser.keys()];
    for (let i = 0; i < users.length; i += RESYNC_USERS_PER_QUERY) {
      let states;
      try {
        states = await this.store.conversationsOfUsers(users.slice(i, i + RESYNC_USERS_PER_QUERY));
      } catch (err) {
        this.log.warn({ err }, 'resync could not read conversations; the next one tries again');
        return;
      }
      for (const [userId, convs] of states) {
        for (const s of this.localSessions(userId)) for (const st of convs) s.catchUp(st);
      }
    }
  }

  /** a globally unique message id: a random per-process prefix and a counter */
  newMid(): string {
    return makeMid(this.#midPrefix, this.#midCounter++);
  }

  newEvent(fields: Omit<NewEvent, 'mid' | 'ts'>): NewEvent {
    // field by field: a spread with extra properties is slow on Node 20, and this is per message
    return {
      conv: fields.conv,
      kind: fields.kind,
      senderId: fields.senderId,
      mid: this.newMid(),
      ts: this.now(),
      text: fields.text,
      ref: fields.ref,
      cmid: fields.cmid,
    };
  }

  async userExists(id: number): Promise<boolean> {
    if (this.#knownUsers.has(id)) return true;
    const user = await this.store.getUser(id);
    if (!user) return false;
    this.#knownUsers.set(id, true);
    return true;
  }

  // ---- sessions

  /**
   * Registers a session for `user` on `conn` (presence first: a legacy login is refused while
   * the account has any live session). The session holds its pushes until `release()`d, so
   * nothing overtakes the login reply. `replace`: a v2 resume names its stale session.
   */
  async openSession(conn: Connection, user: UserRecord, replace?: string): Promise<Session | 'busy' | 'full'> {
    const sessionId = randomBytes(16).toString('base64url');
    const session = new Session(sessionId, user.id, user.name, conn, this.#sessionDeps);
    session.hold();
    this.#addLocal(session);
    let stale;
    let result;
    try {
      stale = replace
        ? ((await this.presence.sessionsOf([user.id])).get(user.id) ?? []).find((x) => x.sessionId === replace)
        : undefined;
      result = await this.presence.register(
        user.id,
        { sessionId, nodeId: this.nodeId, legacy: session.legacy },
        { exclusive: session.legacy, maxSessions: this.opts.maxSessions, ...(stale ? { replace: stale.sessionId } : {}) },
      );
    } catch (err) {
      this.#removeLocal(session);
      throw err;
    }
    if (!result.ok) {
      this.#removeLocal(session);
      return result.reason;
    }
    if (stale) this.#kick(stale.sessionId, stale.nodeId);
    conn.session = session;
    return session;
  }

  async closeSession(session: Session): Promise<void> {
    session.end();
    if (session.conn.session === session) session.conn.session = null;
    if (!this.#removeLocal(session)) return;
    await this.presence.unregister(session.userId, session.id).catch((err: unknown) => {
      this.log.warn({ err, user: session.userId }, 'presence unregister failed; the entry expires with this node');
    });
  }

  *localSessions(userId: number): Iterable<Session> {
    const set = this.#byUser.get(userId);
    if (set) yield* set;
  }

  get sessionCount(): number {
    return this.#byId.size;
  }

  #addLocal(s: Session): void {
    let set = this.#byUser.get(s.userId);
    if (!set) this.#byUser.set(s.userId, (set = new Set()));
    set.add(s);
    this.#byId.set(s.id, s);
  }

  #removeLocal(s: Session): boolean {
    if (!this.#byId.delete(s.id)) return false;
    const set = this.#byUser.get(s.userId);
    set?.delete(s);
    if (set?.size === 0) this.#byUser.delete(s.userId);
    return true;
  }

  /** ends a session replaced by a resume, here or on its own process */
  #kick(sessionId: string, nodeId: string): void {
    if (nodeId !== this.nodeId) {
      this.bus.publish(nodeId, { t: 'kick', session: sessionId } satisfies KickPayload);
      return;
    }
    this.#endReplaced(sessionId);
  }

  #endReplaced(sessionId: string): void {
    const s = this.#byId.get(sessionId);
    if (!s) return;
    s.conn.log.info('session replaced by a resumed one');
    if (!s.legacy) {
      const e = Errors.SESSION_REPLACED;
      s.conn.send({ msgid: MsgId.NOTICE_MSG, v: 2, notice: 'replaced', errno: e.errno, errmsg: e.errmsg });
    }
    void this.closeSession(s).then(() => s.conn.end());
  }

  // ---- the message path

  submit(op: CommitOp, origin?: string): Promise<CommitResult> {
    return this.batcher.submit(op, origin);
  }

  /** resolves once everything committed so far has been pushed and published */
  delivered(): Promise<void> {
    return this.#deliveryChain;
  }

  /** DELIVERED: the user has the conversation up to `seq` */
  markDelivered(userId: number, conv: ConvId, seq: number): void {
    this.#mark(userId, conv, seq, undefined, false);
  }

  /**
   * Watermark moves that nobody waits for (a legacy push written, a sender's own message) are
   * gathered per user and conversation and go to the batcher once per tick, not once per message.
   */
  #mark(userId: number, conv: ConvId, delivered: number, read: number | undefined, quiet: boolean): void {
    const key = `${userId}|${conv}|${quiet ? 'q' : ''}`;
    const m = this.#marks.get(key);
    if (m) {
      m.delivered = Math.max(m.delivered, delivered);
      if (read !== undefined) m.read = Math.max(m.read ?? 0, read);
    } else {
      this.#marks.set(key, { userId, conv, delivered, read, quiet });
    }
    if (!this.#marksScheduled) {
      this.#marksScheduled = true;
      setImmediate(this.#flushMarks);
    }
  }

  readonly #flushMarks = (): void => {
    this.#marksScheduled = false;
    for (const m of this.#marks.values()) {
      const op: CommitOp = { op: 'position', userId: m.userId, conv: m.conv, delivered: m.delivered };
      if (m.read !== undefined) op.read = m.read;
      this.batcher.submit(op, m.quiet ? QUIET : undefined).catch((err: unknown) => {
        this.log.warn({ err, user: m.userId, conv: m.conv }, 'could not store a position');
      });
    }
    this.#marks.clear();
  };

  #afterCommit(ops: CommitOp[], results: CommitResult[], origins: Array<string | undefined>): void {
    const items: Delivery[] = [];
    const moves: Move[] = [];
    for (let i = 0; i < results.length; i++) {
      const r = results[i]!;
      const op = ops[i]!;
      if (r.op === 'append' && r.duplicate) {
        // a resend: the first copy may have died with the process that stored it before it
        // was pushed; pushing again is harmless (sessions skip seqs they have)
        items.push({ ev: r.event, origin: origins[i] });
      } else if (r.op === 'append') {
        items.push({ ev: r.event, origin: origins[i] });
        // the sender has what it sent
        this.#mark(r.event.senderId, r.event.conv, r.event.seq, r.event.seq, true);
      } else if (r.op === 'position' && op.op === 'position' && origins[i] !== QUIET) {
        const from = Math.min(r.delivered > r.prevDelivered ? r.prevDelivered : Infinity, r.read > r.prevRead ? r.prevRead : Infinity);
        if (from !== Infinity) moves.push({ userId: op.userId, conv: op.conv, delivered: r.delivered, read: r.read, from });
      } else if (r.op === 'recall' && r.event) {
        this.#noteRecall(r.event);
        items.push({ ev: r.event, origin: origins[i] });
      }
    }
    if (items.length > 0) {
      this.#deliveryChain = this.#deliveryChain
        .then(() => this.#deliver(items))
        .catch((err: unknown) => this.log.error({ err }, 'delivery failed; recipients will get it by sync'));
    }
    // receipts have their own chain: pushes never wait for them
    if (moves.length > 0) {
      this.#statusChain = this.#statusChain
        .then(() => this.#announceMoves(moves))
        .catch((err: unknown) => this.log.warn({ err }, 'status update failed; senders see it at their next login'));
    }
  }

  /**
   * MSG_STATUS_UPDATE: when a member's delivered or read position moves, the senders of the
   * messages it covers learn "this user has the conversation up to N" — the peer of a pair, the
   * senders in the moved range of a group — on every v2 session, wherever it is connected.
   */
  async #announceMoves(moves: Move[]): Promise<void> {
    // a group's senders: one query per conversation per batch over all its moved ranges (a
    // sender may hear of a range holding none of its messages; its client ignores that)
    const groupSenders = new Map<ConvId, Promise<number[]>>();
    for (const m of moves) {
      if (parseConv(m.conv)?.kind !== 'group' || groupSenders.has(m.conv)) continue;
      const same = moves.filter((x) => x.conv === m.conv);
      const from = Math.min(...same.map((x) => x.from));
      const to = Math.max(...same.map((x) => x.delivered));
      groupSenders.set(m.conv, this.store.sendersBetween(m.conv, from, to));
    }
    const items: FramesPayload['items'] = [];
    for (const m of moves) {
      const c = parseConv(m.conv);
      if (!c) continue;
      const targets = c.kind === 'pair' ? [c.a === m.userId ? c.b : c.a] : await groupSenders.get(m.conv)!;
      const users = targets.filter((u) => u !== m.userId);
      if (users.length === 0) continue;
      items.push({
        users,
        frame: { msgid: MsgId.MSG_STATUS_UPDATE, v: 2, conv: m.conv, userid: m.userId, delivered: m.delivered, read: m.read },
      });
    }
    for (const { users, frame } of items) this.#sendFrameLocal(users, frame);
    if (!this.#clustered || items.length === 0) return;
    const where = await this.presence.sessionsOf([...new Set(items.flatMap((i) => i.users))]);
    const perNode = new Map<string, FramesPayload>();
    for (const item of items) {
      for (const uid of item.users) {
        for (const node of new Set((where.get(uid) ?? []).filter((s) => !s.legacy).map((s) => s.nodeId))) {
          if (node === this.nodeId) continue;
          let payload = perNode.get(node);
          if (!payload) perNode.set(node, (payload = { t: 'frames', items: [] }));
          payload.items.push({ users: [uid], frame: item.frame });
        }
      }
    }
    for (const [node, payload] of perNode) this.bus.publish(node, payload);
  }

  #sendFrameLocal(users: number[], frame: object): void {
    for (const uid of users) for (const s of this.localSessions(uid)) if (!s.legacy && !s.ended) s.conn.send(frame);
  }

  async #deliver(items: Delivery[]): Promise<void> {
    const members = new Map<ConvId, number[]>();
    const recipients: number[][] = [];
    for (const { ev } of items) {
      const c = parseConv(ev.conv);
      if (!c) {
        recipients.push([]);
      } else if (c.kind === 'pair') {
        recipients.push([c.a, c.b]);
      } else {
        let list = members.get(ev.conv);
        if (!list) {
          list = (await this.store.listMembers(c.groupId)).map((m) => m.id);
          members.set(ev.conv, list);
        }
        recipients.push(list);
      }
    }
    for (let i = 0; i < items.length; i++) {
      const { ev, origin } = items[i]!;
      for (const uid of recipients[i]!) for (const s of this.localSessions(uid)) s.push(ev, origin);
    }
    if (this.#clustered) await this.#publishRemote(items, recipients);
  }

  /** one publish per target process for the whole batch */
  async #publishRemote(items: Delivery[], recipients: number[][]): Promise<void> {
    const committedAt = performance.now();
    const all = [...new Set(recipients.flat())];
    if (all.length === 0) return;
    const where = await this.presence.sessionsOf(all);
    const perNode = new Map<string, EventsPayload>();
    for (let i = 0; i < items.length; i++) {
      const { ev, origin } = items[i]!;
      const byNode = new Map<string, number[]>();
      for (const uid of recipients[i]!) {
        for (const s of where.get(uid) ?? []) {
          if (s.nodeId === this.nodeId) continue;
          let users = byNode.get(s.nodeId);
          if (!users) byNode.set(s.nodeId, (users = []));
          if (users[users.length - 1] !== uid) users.push(uid);
        }
      }
      for (const [node, users] of byNode) {
        let payload = perNode.get(node);
        if (!payload) perNode.set(node, (payload = { t: 'ev', items: [] }));
        payload.items.push(origin ? { ev, users, origin } : { ev, users });
      }
    }
    for (const [node, payload] of perNode) this.bus.publish(node, payload);
    if (perNode.size > 0) this.onPublish?.(performance.now() - committedAt);
  }

  #onBus(payload: unknown): void {
    const p = payload as BusPayload;
    if (p?.t === 'ev' && Array.isArray(p.items)) {
      for (const { ev, users, origin } of p.items) {
        this.#noteRecall(ev);
        for (const uid of users) for (const s of this.localSessions(uid)) s.push(ev, origin);
      }
    } else if (p?.t === 'frames' && Array.isArray(p.items)) {
      for (const { users, frame } of p.items) this.#sendFrameLocal(users, frame);
    } else if (p?.t === 'kick' && typeof p.session === 'string') {
      this.#endReplaced(p.session);
    }
  }

  /** finishes what is being persisted and delivered, ends this process's sessions */
  async shutdown(): Promise<void> {
    clearInterval(this.#resyncTimer);
    this.#flushMarks();
    await this.batcher.idle();
    await this.#deliveryChain;
    await this.#statusChain;
    await Promise.all([...this.#byId.values()].map((s) => this.closeSession(s)));
  }
}
