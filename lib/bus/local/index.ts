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
  /** each user's sessions: a small array (a map each would cost ~250 bytes per idle user) */
  readonly sessions = new Map<number, SessionInfo[]>();
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
    const others = this.#liveSessions(userId).filter((s) => s.sessionId !== session.sessionId && s.sessionId !== opts.replace);
    if (opts.exclusive && others.length > 0) return { ok: false, reason: 'busy' };
    if (others.length >= opts.maxSessions) return { ok: false, reason: 'full' };
    this.#hub.sessions.set(userId, [...others, { ...session }]);
    return { ok: true };
  }

  async unregister(userId: number, sessionId: string): Promise<void> {
    const mine = this.#hub.sessions.get(userId) ?? [];
    const i = mine.findIndex((s) => s.sessionId === sessionId);
    if (i < 0 || mine[i]!.nodeId !== this.nodeId) return;
    mine.splice(i, 1);
    if (mine.length === 0) this.#hub.sessions.delete(userId);
  }

  async sessionsOf(userIds: number[]): Promise<Map<number, SessionInfo[]>> {
    const out = new Map<number, SessionInfo[]>();
    for (const userId of userIds) {
      const live = this.#liveSessions(userId).map((s) => ({ ...s }));
      if (live.length > 0) out.set(userId, live);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#hub.alive.delete(this.nodeId);
    for (const [userId, mine] of this.#hub.sessions) {
      const rest = mine.filter((s) => s.nodeId !== this.nodeId);
      if (rest.length === 0) this.#hub.sessions.delete(userId);
      else this.#hub.sessions.set(userId, rest);
    }
  }

  /** Test only: the node "dies" (kill -9): it leaves the hub's live set but removes nothing. */
  crashForTest(): void {
    this.#closed = true;
    this.#hub.alive.delete(this.nodeId);
  }

  /** the user's sessions with those of dead nodes dropped (like the Redis script) */
  #liveSessions(userId: number): SessionInfo[] {
    const mine = this.#hub.sessions.get(userId);
    if (!mine) return [];
    if (mine.every((s) => this.#hub.alive.has(s.nodeId))) return mine;
    const live = mine.filter((s) => this.#hub.alive.has(s.nodeId));
    if (live.length === 0) this.#hub.sessions.delete(userId);
    else this.#hub.sessions.set(userId, live);
    return live;
  }
}
