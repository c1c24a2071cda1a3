import type { Presence, RegisterResult, SessionInfo } from '../types.js';
import { closeConnection, createConnection, type RedisClient } from './connection.js';
import { silentLog, type BusLog } from './log.js';
import { closeScript, refreshScript, registerScript, sessionsScript, unregisterScript } from './presence-scripts.js';

export interface RedisPresenceOptions {
  /** one Redis or a Redis Cluster (target.ts) */
  url: string;
  prefix: string;
  nodeId: string;
  /** how long this node's sessions outlive its last refresh (default 10000) */
  nodeTtlMs?: number;
  /** refresh period (default nodeTtlMs / 3) */
  refreshMs?: number;
  log?: BusLog;
}

/** users per sessionsOf script call, so one call never blocks Redis for long */
const USERS_PER_CALL = 500;

/**
 * Presence in Redis (layout in presence-scripts.ts). Commands fail fast while Redis is
 * unreachable: register/unregister/sessionsOf reject, the caller decides how to degrade.
 * This node keeps its own sessions in memory too and writes them all back at the next refresh
 * when Redis may have lost some: its alive key was gone (a Redis restart, or a stall longer
 * than the ttl, after which other nodes drop its sessions), a refresh failed, or a cluster node
 * went away (a replica that took over from a dead master lacks its last writes).
 */
export class RedisPresence implements Presence {
  readonly nodeId: string;
  readonly #ttlMs: number;
  readonly #refreshMs: number;
  readonly #log: BusLog;
  /** every presence key starts with this; its hash tag keeps them in one cluster slot */
  readonly #base: string;
  readonly #redis: RedisClient;
  /** "userId:sessionId" -> this node's registered sessions */
  readonly #own = new Map<string, { userId: number; json: string }>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing = false;
  #refreshFailing = false;
  /** Redis may have lost some of this node's sessions: write them back at the next refresh */
  #suspect = false;
  #closed = false;

  constructor(opts: RedisPresenceOptions) {
    this.nodeId = opts.nodeId;
    this.#base = presenceBase(opts.prefix);
    this.#ttlMs = opts.nodeTtlMs ?? 10_000;
    this.#refreshMs = opts.refreshMs ?? Math.max(1, Math.floor(this.#ttlMs / 3));
    this.#log = opts.log ?? silentLog;
    this.#redis = createConnection({ url: opts.url, name: `${opts.prefix}presence:${opts.nodeId}`, log: this.#log });
  }

  async start(): Promise<void> {
    if (this.#closed) throw new Error('RedisPresence: start after close');
    try {
      await this.#redis.connect();
      await this.#refresh(true);
    } catch (err) {
      this.#redis.disconnect();
      throw err;
    }
    this.#timer = setInterval(() => void this.#refresh(), this.#refreshMs);
    this.#timer.unref();
    // back from an outage (a restarted Redis has forgotten this node): restore at once, so
    // other processes can route to its sessions again without waiting for the next refresh
    this.#redis.on('ready', () => void this.#refresh());
    // a cluster node went away (a master killed, a failover): restore at the next refresh
    this.#redis.on('-node', () => {
      this.#suspect = true;
    });
  }

  async register(
    userId: number,
    session: SessionInfo,
    opts: { exclusive: boolean; maxSessions: number; replace?: string },
  ): Promise<RegisterResult> {
    if (session.nodeId !== this.nodeId) throw new Error(`RedisPresence: session of node ${session.nodeId} registered on ${this.nodeId}`);
    const json = JSON.stringify({ nodeId: this.nodeId, legacy: session.legacy });
    const reply = await registerScript.run(this.#redis, [this.#userKey(userId), this.#setKey()], [
      this.#base,
      userId,
      session.sessionId,
      json,
      opts.exclusive ? '1' : '0',
      opts.maxSessions,
      opts.replace ?? '',
      this.#ttlMs,
    ]);
    if (reply === 'busy' || reply === 'full') return { ok: false, reason: reply };
    if (reply !== 'ok') throw new Error(`RedisPresence: unexpected register reply ${String(reply)}`);
    if (opts.replace !== undefined) this.#own.delete(`${userId}:${opts.replace}`);
    this.#own.set(`${userId}:${session.sessionId}`, { userId, json });
    return { ok: true };
  }

  async unregister(userId: number, sessionId: string): Promise<void> {
    this.#own.delete(`${userId}:${sessionId}`);
    await unregisterScript.run(this.#redis, [this.#userKey(userId), this.#setKey()], [this.nodeId, userId, sessionId]);
  }

  async sessionsOf(userIds: number[]): Promise<Map<number, SessionInfo[]>> {
    const unique = [...new Set(userIds)];
    const chunks: number[][] = [];
    for (let i = 0; i < unique.length; i += USERS_PER_CALL) chunks.push(unique.slice(i, i + USERS_PER_CALL));
    const replies = await Promise.all(
      chunks.map((ids) => sessionsScript.run(this.#redis, ids.map((id) => this.#userKey(id)), [this.#base, ...ids])),
    );
    const out = new Map<number, SessionInfo[]>();
    chunks.forEach((ids, c) => {
      const perUser = replies[c];
      if (!Array.isArray(perUser)) throw new Error('RedisPresence: unexpected sessionsOf reply');
      ids.forEach((userId, k) => {
        const flat: unknown = perUser[k];
        if (!Array.isArray(flat) || flat.length === 0) return;
        const sessions: SessionInfo[] = [];
        for (let i = 0; i < flat.length; i += 2) sessions.push(parseSession(String(flat[i]), String(flat[i + 1])));
        out.set(userId, sessions);
      });
    });
    return out;
  }

  /** Removes this node's sessions and alive key (best effort: if Redis is down they expire). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    try {
      if (this.#redis.status === 'ready') {
        await closeScript.run(this.#redis, [this.#aliveKey(), this.#setKey()], [this.#base, this.nodeId]);
      }
    } catch (err) {
      this.#log.warn({ err }, 'presence close could not remove this node\'s sessions; they expire with its ttl');
    }
    this.#own.clear();
    await closeConnection(this.#redis);
  }

  /** Test only: simulates kill -9 (stops refreshing, drops the connection, removes nothing). */
  crashForTest(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#redis.disconnect();
  }

  async #refresh(initial = false): Promise<void> {
    if (this.#refreshing || this.#closed) return;
    this.#refreshing = true;
    try {
      const suspect = this.#suspect;
      this.#suspect = false;
      const existed = await refreshScript.run(this.#redis, [this.#aliveKey(), this.#setKey()], [this.#ttlMs]);
      if ((existed === 0 || suspect) && this.#own.size > 0) await this.#restore(existed === 0 ? 'presence liveness was lost' : 'redis may have lost writes');
      if (this.#refreshFailing) this.#log.info({}, 'presence refresh works again');
      this.#refreshFailing = false;
    } catch (err) {
      if (!this.#refreshFailing) this.#log.warn({ err }, 'presence refresh failed; retrying every refresh period');
      this.#refreshFailing = true;
      this.#suspect = true;
      if (initial) throw err;
    } finally {
      this.#refreshing = false;
    }
  }

  async #restore(why: string): Promise<void> {
    this.#log.warn({ sessions: this.#own.size }, `${why}; re-registering this node's sessions`);
    const batch = this.#redis.multi();
    for (const [member, { userId, json }] of this.#own) {
      batch.hset(this.#userKey(userId), member.slice(member.indexOf(':') + 1), json);
      batch.sadd(this.#setKey(), member);
    }
    batch.pexpire(this.#setKey(), this.#ttlMs);
    await batch.exec();
  }

  #userKey(userId: number): string {
    return `${this.#base}user:${userId}`;
  }

  #aliveKey(): string {
    return `${this.#base}alive:${this.nodeId}`;
  }

  #setKey(): string {
    return `${this.#base}nodesessions:${this.nodeId}`;
  }
}

/** `chat:{presence}`: the prefix, then the hash tag every presence key shares */
export function presenceBase(prefix: string): string {
  return `${prefix}{presence}`;
}

function parseSession(sessionId: string, json: string): SessionInfo {
  const { nodeId, legacy } = JSON.parse(json) as { nodeId: string; legacy: boolean };
  return { sessionId, nodeId, legacy };
}
