import type { Redis } from 'ioredis';
import type { Presence, RegisterResult, SessionInfo } from '../types.js';
import { closeConnection, createConnection } from './connection.js';
import { silentLog, type BusLog } from './log.js';
import { closeScript, refreshScript, registerScript, sessionsScript, unregisterScript } from './presence-scripts.js';

export interface RedisPresenceOptions {
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
 * This node keeps its own sessions in memory too: when a refresh finds its alive key gone (a
 * Redis restart, or a stall longer than the ttl, after which other nodes drop its sessions)
 * it writes them all back.
 */
export class RedisPresence implements Presence {
  readonly nodeId: string;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #refreshMs: number;
  readonly #log: BusLog;
  readonly #redis: Redis;
  /** "userId:sessionId" -> this node's registered sessions */
  readonly #own = new Map<string, { userId: number; json: string }>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing = false;
  #refreshFailing = false;
  #closed = false;

  constructor(opts: RedisPresenceOptions) {
    this.nodeId = opts.nodeId;
    this.#prefix = opts.prefix;
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
  }

  async register(
    userId: number,
    session: SessionInfo,
    opts: { exclusive: boolean; maxSessions: number; replace?: string },
  ): Promise<RegisterResult> {
    if (session.nodeId !== this.nodeId) throw new Error(`RedisPresence: session of node ${session.nodeId} registered on ${this.nodeId}`);
    const json = JSON.stringify({ nodeId: this.nodeId, legacy: session.legacy });
    const reply = await registerScript.run(this.#redis, [this.#userKey(userId), this.#setKey()], [
      this.#prefix,
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
      chunks.map((ids) => sessionsScript.run(this.#redis, ids.map((id) => this.#userKey(id)), [this.#prefix, ...ids])),
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
        await closeScript.run(this.#redis, [this.#aliveKey(), this.#setKey()], [this.#prefix, this.nodeId]);
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
      const existed = await refreshScript.run(this.#redis, [this.#aliveKey(), this.#setKey()], [this.#ttlMs]);
      if (existed === 0 && this.#own.size > 0) await this.#restore();
      if (this.#refreshFailing) this.#log.info({}, 'presence refresh works again');
      this.#refreshFailing = false;
    } catch (err) {
      if (!this.#refreshFailing) this.#log.warn({ err }, 'presence refresh failed; retrying every refresh period');
      this.#refreshFailing = true;
      if (initial) throw err;
    } finally {
      this.#refreshing = false;
    }
  }

  async #restore(): Promise<void> {
    this.#log.warn({ sessions: this.#own.size }, 'presence liveness was lost; re-registering this node\'s sessions');
    const batch = this.#redis.multi();
    for (const [member, { userId, json }] of this.#own) {
      batch.hset(this.#userKey(userId), member.slice(member.indexOf(':') + 1), json);
      batch.sadd(this.#setKey(), member);
    }
    batch.pexpire(this.#setKey(), this.#ttlMs);
    await batch.exec();
  }

  #userKey(userId: number): string {
    return `${this.#prefix}user:${userId}`;
  }

  #aliveKey(): string {
    return `${this.#prefix}alive:${this.nodeId}`;
  }

  #setKey(): string {
    return `${this.#prefix}nodesessions:${this.nodeId}`;
  }
}

function parseSession(sessionId: string, json: string): SessionInfo {
  const { nodeId, legacy } = JSON.parse(json) as { nodeId: string; legacy: boolean };
  return { sessionId, nodeId, legacy };
}
