/**
 * One server process's core, put together: the store, the bus and presence, the commit
 * batcher, this process's sessions (sessions.ts), the delivery of committed events
 * (delivery.ts), status updates (receipts.ts) and gathered watermark moves (watermarks.ts).
 * It knows no sockets: connections reach it through the Link interface (link.ts). Handlers act
 * only through it.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Bus, Presence } from '../bus/types.js';
import type { ServerOptions } from '../config.js';
import { makeMid, midPrefix } from '../models/mid.js';
import type { ConvId } from '../protocol/conv.js';
import type { CommitOp, CommitResult, NewEvent, Store, UserRecord } from '../store/types.js';
import type { AuthLimits } from './auth-limits.js';
import { CommitBatcher } from './batcher.js';
import { ExpirySweeper } from './expiry.js';
import { HashGate } from './hash-gate.js';
import { ScryptPool } from '../models/scrypt-pool.js';
import type { Scrypt } from '../models/password.js';
import { Pruner } from './retention.js';
import { asBusPayload } from './bus-payloads.js';
import { Deliveries, type Delivery } from './delivery.js';
import type { Link } from './link.js';
import { Receipts, type Move } from './receipts.js';
import type { Session } from './session.js';
import { Sessions } from './sessions.js';
import { Stats } from './stats.js';
import { QUIET, Watermarks } from './watermarks.js';

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

/** bound on the cache of user ids known to exist (users are never deleted) */
const KNOWN_USERS_MAX = 200_000;

const DAY_MS = 24 * 3600 * 1000;
/** retention: events per prune transaction, the pause after each, and how often a pass runs */
const PRUNE_BATCH = 100;
const PRUNE_PAUSE_MS = 5;
const PRUNE_INTERVAL_MS = 3600 * 1000;

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
  /** bounds on login attempts and registrations (auth-limits.ts) */
  readonly authLimits: AuthLimits;
  readonly stats = new Stats();
  /** password hashing, bounded (hash-gate.ts) */
  readonly hashes: HashGate;
  /** the threads password hashes run on (scrypt-pool.ts) */
  readonly scryptPool: ScryptPool;
  /** derives on those threads: what the handlers pass to hashPassword and verifyPassword */
  readonly scrypt: Scrypt;
  /** persistence: ops per commit and its duration, for the metrics */
  onBatch: ((size: number, ms: number) => void) | null = null;
  /** cluster: ms from a batch's commit to its publish, for the metrics */
  onPublish: ((ms: number) => void) | null = null;
  readonly #clustered: boolean;
  readonly #sessions: Sessions;
  readonly #deliveries: Deliveries;
  readonly #receipts: Receipts;
  readonly #watermarks: Watermarks;
  readonly #knownUsers = new LRUCache<number, true>({ max: KNOWN_USERS_MAX });
  readonly #midPrefix = midPrefix();
  #midCounter = 0;
  #deliveryChain: Promise<void> = Promise.resolve();
  #statusChain: Promise<void> = Promise.resolve();
  #resyncTimer: NodeJS.Timeout | undefined;
  #resyncing: Promise<void> | null = null;
  readonly #expiry: ExpirySweeper;
  readonly #pruner: Pruner | null;

  constructor(deps: HubDeps) {
    this.store = deps.store;
    this.bus = deps.bus;
    this.presence = deps.presence;
    this.opts = deps.opts;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    this.#clustered = deps.clustered;
    this.authLimits = deps.authLimits;
    this.hashes = new HashGate(deps.opts.hashConcurrency, deps.opts.hashQueue);
    this.scryptPool = new ScryptPool(deps.opts.hashConcurrency, deps.opts.hashNice);
    this.scrypt = (password, salt, keylen, opts) => this.scryptPool.derive(password, salt, keylen, opts);
    this.batcher = new CommitBatcher(this.store, {
      maxBatch: deps.opts.maxBatch,
      maxQueue: deps.opts.maxCommitQueue,
      onCommitted: (ops, results, origins) => this.#afterCommit(ops, results, origins),
      onBatch: (size, ms) => this.onBatch?.(size, ms),
    });
    this.#watermarks = new Watermarks((op, origin) => this.batcher.submit(op, origin), this.log);
    this.#sessions = new Sessions({
      bus: this.bus,
      presence: this.presence,
      log: this.log,
      maxSessions: deps.opts.maxSessions,
      session: {
        store: this.store,
        render: (ev, s) => this.#deliveries.render(ev, s),
        onLegacyWritten: (s, conv, seq) => this.markDelivered(s.userId, conv, seq),
        onError: (err, s) => s.conn.log.error({ err }, 'reading the log to fill a gap failed; retrying'),
        gapWaitMs: deps.opts.gapWaitMs,
      },
    });
    const fanOut = { store: this.store, bus: this.bus, presence: this.presence, sessions: this.#sessions, clustered: this.#clustered };
    this.#deliveries = new Deliveries({ ...fanOut, onPublish: (ms) => this.onPublish?.(ms), now: this.now });
    this.#receipts = new Receipts(fanOut);
    const sweep = { store: this.store, log: this.log, now: this.now, submit: (op: CommitOp) => this.submit(op), newEvent: (f: Omit<NewEvent, 'mid' | 'ts'>) => this.newEvent(f) };
    this.#expiry = new ExpirySweeper(sweep, deps.opts.expiryIntervalMs, deps.opts.expiryBatch);
    const days = deps.opts.retentionDays;
    this.#pruner = days === null ? null : new Pruner(sweep, { keepMs: days * DAY_MS, batch: PRUNE_BATCH, pauseMs: PRUNE_PAUSE_MS, intervalMs: PRUNE_INTERVAL_MS });
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
    this.#expiry.start();
    this.#pruner?.start();
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
    const users = this.#sessions.users();
    for (let i = 0; i < users.length; i += RESYNC_USERS_PER_QUERY) {
      let states;
      try {
        states = await this.store.conversationsOfUsers(users.slice(i, i + RESYNC_USERS_PER_QUERY));
      } catch (err) {
        this.log.warn({ err }, 'resync could not read conversations; the next one tries again');
        return;
      }
      for (const [userId, convs] of states) {
        for (const s of this.#sessions.of(userId)) for (const st of convs) s.catchUp(st);
      }
    }
  }

  /** one expiry sweep now (tests; the timer runs them anyway): how many messages it expired */
  sweepExpiries(): Promise<number> {
    return this.#expiry.sweep();
  }

  /** one retention pass now (tests and the benchmark; a timer runs them anyway): events pruned */
  prune(): Promise<number> {
    return this.#pruner?.run() ?? Promise.resolve(0);
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

  // ---- sessions (sessions.ts)

  /** see Sessions.open */
  openSession(conn: Link, user: UserRecord, device?: string): Promise<Session | 'busy' | 'full'> {
    return this.#sessions.open(conn, user, device);
  }

  closeSession(session: Session): Promise<void> {
    return this.#sessions.close(session);
  }

  localSessions(userId: number): Iterable<Session> {
    return this.#sessions.of(userId);
  }

  get sessionCount(): number {
    return this.#sessions.count;
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
    this.#watermarks.mark(userId, conv, seq, undefined, false);
  }

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
        // a v2 sender has what it sent. Not a legacy one: its positions move only with what is
        // written to it, because a legacy session meeting a conversation starts at its delivered
        // position, and a move to its own seq would pass another member's message still on its
        // way (committed just before, on the bus): that message would never reach it. Legacy
        // clients never see their own lines, so nothing else needs the move.
        const sender = origins[i] === undefined ? undefined : this.#sessions.byId(origins[i]!);
        if (sender && !sender.legacy) this.#watermarks.mark(r.event.senderId, r.event.conv, r.event.seq, r.event.seq, true);
      } else if (r.op === 'position' && op.op === 'position' && origins[i] !== QUIET) {
        const from = Math.min(r.delivered > r.prevDelivered ? r.prevDelivered : Infinity, r.read > r.prevRead ? r.prevRead : Infinity);
        if (from !== Infinity) moves.push({ userId: op.userId, conv: op.conv, delivered: r.delivered, read: r.read, from });
      } else if (r.op === 'recall' && r.event) {
        this.#deliveries.noteRecall(r.event);
        items.push({ ev: r.event, origin: origins[i] });
      } else if (r.op === 'expire' && r.event) {
        items.push({ ev: r.event, origin: undefined });
      }
    }
    if (items.length > 0) {
      this.#deliveryChain = this.#deliveryChain
        .then(() => this.#deliveries.deliver(items))
        .catch((err: unknown) => this.log.error({ err }, 'delivery failed; recipients will get it by sync'));
    }
    // receipts have their own chain: pushes never wait for them
    if (moves.length > 0) {
      this.#statusChain = this.#statusChain
        .then(() => this.#receipts.announce(moves))
        .catch((err: unknown) => this.log.warn({ err }, 'status update failed; senders see it at their next login'));
    }
  }

  #onBus(payload: unknown): void {
    const p = asBusPayload(payload);
    if (p?.t === 'ev') this.#deliveries.onEvents(p);
    else if (p?.t === 'frames') this.#receipts.onFrames(p);
    else if (p?.t === 'kick') this.#sessions.endReplaced(p.session);
  }

  /** finishes what is being persisted and delivered, ends this process's sessions */
  async shutdown(): Promise<void> {
    clearInterval(this.#resyncTimer);
    await this.#expiry.stop();
    await this.#pruner?.stop();
    this.#watermarks.flush();
    await this.batcher.idle();
    await this.#deliveryChain;
    await this.#statusChain;
    await this.#sessions.closeAll();
    await this.scryptPool.close();
  }
}
