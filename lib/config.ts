/**
 * Every server option with its default, in one place (the aedes `defaultOptions` pattern).
 * The CLI (lib/cli/server.ts) maps flags and CHAT_* environment variables onto these.
 */
export interface ServerOptions {
  /** TCP port to listen on (0 = any free port) @default 6000 */
  port: number;
  /** address to listen on @default '127.0.0.1' */
  host: string;
  /** SQLite file for the embedded store @default './data/chat.db' */
  db: string;
  /** MySQL/MariaDB URL; with `redis`, selects cluster mode @default null */
  mysql: string | null;
  /** Redis URL; with `mysql`, selects cluster mode @default null */
  redis: string | null;
  /** prefix of every Redis key and channel @default 'chat:' */
  redisPrefix: string;
  /** durability of the embedded store: 'normal' survives a process crash, 'full' also power loss @default 'normal' */
  sync: 'normal' | 'full';
  /** largest incoming frame in bytes; a larger one closes the connection @default 65536 */
  maxFrame: number;
  /** longest chat text in characters @default 16384 */
  maxText: number;
  /** live sessions per account (v2 devices) @default 5 */
  maxSessions: number;
  /** a dead process's sessions vanish after this many ms (cluster) @default 10000 */
  sessionTtlMs: number;
  /** ops per store transaction at most @default 2000 */
  maxBatch: number;
  /** bytes queued to one socket before it counts as a slow reader and is cut off @default 8 MiB */
  maxOutBytes: number;
  /** ms a socket may stay unwritable before it is cut off @default 30000 */
  drainTimeoutMs: number;
  /** messages per legacy login `offlinemsg` at most; the rest come at the next login @default 5000 */
  maxOfflineMsgs: number;
  /** ms after sending during which the sender may recall @default 120000 */
  recallWindowMs: number;
  /** pino level @default 'info' */
  logLevel: string;
  /** this process's node id in the cluster @default random */
  nodeId: string | null;
}

export const defaultOptions: ServerOptions = {
  port: 6000,
  host: '127.0.0.1',
  db: './data/chat.db',
  mysql: null,
  redis: null,
  redisPrefix: 'chat:',
  sync: 'normal',
  maxFrame: 64 * 1024,
  maxText: 16 * 1024,
  maxSessions: 5,
  sessionTtlMs: 10_000,
  maxBatch: 2000,
  maxOutBytes: 8 * 1024 * 1024,
  drainTimeoutMs: 30_000,
  maxOfflineMsgs: 5000,
  recallWindowMs: 120_000,
  logLevel: 'info',
  nodeId: null,
};

export function resolveOptions(partial: Partial<ServerOptions> = {}): ServerOptions {
  const o = { ...defaultOptions };
  for (const [k, v] of Object.entries(partial)) {
    if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  }
  if ((o.mysql === null) !== (o.redis === null)) {
    throw new Error(
      'cluster mode needs both --mysql and --redis (processes share the database for the log and Redis to reach each other); give both, or neither for the embedded store',
    );
  }
  return o;
}
