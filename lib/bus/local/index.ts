/**
 * In-process Bus and Presence (embedded mode). "Nodes" meet in a `LocalHub`; a process normally
 * has one node on the module-level hub, tests create a hub per suite to run several nodes.
 * Same observable behaviour as the Redis implementation (checked by the shared contract):
 * payloads go through JSON, delivery is asynchronous and ordered per sender.
 */
import type { Bus, Presence, RegisterResult, SessionInfo } from '../types.js';

export interface LocalLog {
  error(obj: object, msg: string): void;
}

const silent: LocalLog = { error() {} };

export class LocalHub {
  readonly listeners = new Map<string, (text: string) => void>();
  readonly alive = new Set<string>();
  /** userId -> sessionId -> session */
  readonly sessions = new Map<number, Map<string, SessionInfo>>();
}

export const defaultHub = new LocalHub();

export class LocalBus implements Bus {
  readonly nodeId: string;
  #hub: LocalHub;
  #log: LocalLog;
  #started = false;
  #closed = false;

  constructor(opts: { nodeId: string; hub?: LocalHub; log?: LocalLog }) {
    this.nodeId = opts.nodeId;
    this.#hub = opts.hub ?? defaultHub;
    this.#log = opts.log ?? silent;
  }

  get healthy(): boolean {
    return this.#started && !this.#closed;
  }

  async start(onMessage: (payload: unknown) => void): Promise<void> {
    if (this.#closed) throw new Error('LocalBus: start after close');
    if (this.#hub.listeners.has(this.nodeId)) throw new Error(`LocalBus: node ${this.nodeId} already started`);
    this.#hub.listeners.set(this.nodeId, (text) => {
      try {
        onMessage(JSON.parse(text));
      } catch (err) {
        this.#log.error({ err }, 'bus message handler failed');
      }
    });
    this.#started = true;
  }

  publish(nodeId: string, payload: unknown): void {
    if (!this.healthy) return;
    let text: string | undefined;
    try {
      text = JSON.stringify(payload);
    } catch (err) {
      this.#log.error({ err }, 'bus payload is not JSON-serialisable; dropped');
      return;
    }
    if (text === undefined) return;
    const body = text;
    // looked up at delivery time, so a node closed in between gets nothing
    queueMicrotask(() => this.#hub.listeners.get(nodeId)?.(body));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#started) this.#hub.listeners.delete(this.nodeId);
  }
}

export class LocalPresence implements Presence {
  readonly nodeId: string;
  #hub: LocalHub;
  #closed = false;

  constructor(opts: { nodeId: string; hub?: LocalHub }) {
    this.nodeId = opts.nodeId;
    this.#hub = opts.hub ?? defaultHub;
  }

  async start(): Promise<void> {
    if (this.#closed) throw new Error('LocalPresence: start after close');
    this.#hub.alive.add(this.nodeId);
  }

  async register(
    userId: number,
    session: SessionInfo,
    opts: { exclusive: boolean; maxSessions: number; replace?: string },
  ): Promise<RegisterResult> {
    if (session.nodeId !== this.nodeId) throw new Error(`LocalPresence: session of node ${session.nodeId} registered on ${this.nodeId}`);
    const mine = this.#liveSessions(userId);
    let live = 0;
    for (const id of mine.keys()) if (id !== session.sessionId && id !== opts.replace) live++;
    if (opts.exclusive && live > 0) return { ok: false, reason: 'busy' };
    if (live >= opts.maxSessions) return { ok: false, reason: 'full' };
    if (opts.replace !== undefined) mine.delete(opts.replace);
    mine.set(session.sessionId, { ...session });
    this.#hub.sessions.set(userId, mine);
    return { ok: true };
  }

  async unregister(userId: number, sessionId: string): Promise<void> {
    const mine = this.#hub.sessions.get(userId);
    if (mine?.get(sessionId)?.nodeId !== this.nodeId) return;
    mine.delete(sessionId);
    if (mine.size === 0) this.#hub.sessions.delete(userId);
  }

  async sessionsOf(userIds: number[]): Promise<Map<number, SessionInfo[]>> {
    const out = new Map<number, SessionInfo[]>();
    for (const userId of userIds) {
      const live = [...this.#liveSessions(userId).values()].map((s) => ({ ...s }));
      if (live.length > 0) out.set(userId, live);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#hub.alive.delete(this.nodeId);
    for (const [userId, mine] of this.#hub.sessions) {
      for (const [id, s] of mine) if (s.nodeId === this.nodeId) mine.delete(id);
      if (mine.size === 0) this.#hub.sessions.delete(userId);
    }
  }

  /** Test only: the node "dies" (kill -9): it leaves the hub's live set but removes nothing. */
  crashForTest(): void {
    this.#closed = true;
    this.#hub.alive.delete(this.nodeId);
  }

  /** the user's session map with sessions of dead nodes dropped (like the Redis script) */
  #liveSessions(userId: number): Map<string, SessionInfo> {
    const mine = this.#hub.sessions.get(userId) ?? new Map<string, SessionInfo>();
    for (const [id, s] of mine) if (!this.#hub.alive.has(s.nodeId)) mine.delete(id);
    if (mine.size === 0) this.#hub.sessions.delete(userId);
    return mine;
  }
}
