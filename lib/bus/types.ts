/**
 * Between server processes. Two pieces, each with a local (embedded, in-process) and a Redis
 * implementation, each checked by one shared contract suite (test/fixtures/*-contract.ts):
 *
 * - `Bus`: each process ("node") listens on its own channel; others publish to it by node id.
 *   Payloads are opaque JSON-serialisable objects; the server batches them (one publish per
 *   target node per tick). Delivery is best effort: everything that matters is in the store
 *   first, and receivers fill gaps from the log, so a lost publish delays, never loses.
 * - `Presence`: user -> live sessions, across all nodes, and which nodes hold them. A node that
 *   dies (kill -9) stops refreshing its liveness and its sessions vanish within `nodeTtlMs`.
 */

export interface BusOptions {
  /** this process's node id (unique per process; random by default) */
  nodeId: string;
}

export interface Bus {
  readonly nodeId: string;
  /**
   * starts listening on this node's channel; `onMessage` gets each payload published to it.
   * `onResume` is called each time the bus works again after an outage: payloads published to
   * this node meanwhile are lost, and the caller reads what it missed from the store.
   */
  start(onMessage: (payload: unknown) => void, onResume?: () => void): Promise<void>;
  /** publishes one payload to one node (fire and forget; never throws) */
  publish(nodeId: string, payload: unknown): void;
  /** true while the bus can publish and receive */
  readonly healthy: boolean;
  close(): Promise<void>;
}

export interface SessionInfo {
  sessionId: string;
  nodeId: string;
  /** true for a legacy (original-protocol) session */
  legacy: boolean;
}

export type RegisterResult =
  | { ok: true }
  /** `busy`: an exclusive (legacy) login found a live session; `full`: at max sessions */
  | { ok: false; reason: 'busy' | 'full' };

export interface Presence {
  start(): Promise<void>;
  /**
   * Atomically adds a session. `exclusive` (legacy login) fails with `busy` when the user has any
   * live session; otherwise at most `maxSessions` live sessions per user (`full`).
   * `replace` names a session id to remove in the same step (a v2 resume replacing its stale session).
   */
  register(
    userId: number,
    session: SessionInfo,
    opts: { exclusive: boolean; maxSessions: number; replace?: string },
  ): Promise<RegisterResult>;
  unregister(userId: number, sessionId: string): Promise<void>;
  /** live sessions of each user (users with none are absent from the map) */
  sessionsOf(userIds: number[]): Promise<Map<number, SessionInfo[]>>;
  /** removes every session of this node (graceful shutdown) and stops refreshing */
  close(): Promise<void>;
}
