/**
 * Every server option with its default, in one place (the aedes `defaultOptions` pattern).
 * The CLI (lib/cli/server.ts) maps flags and CHAT_* environment variables onto these.
 */
import { LOG_LEVELS } from './log.js';
import { parseScryptParams } from './models/password.js';
import { DEFAULT_MAX_FRAME } from './protocol/defaults.js';

export interface ServerOptions {
  /** TCP port to listen on (0 = any free port) @default 6000 */
  port: number;
  /** address to listen on @default '127.0.0.1' */
  host: string;
  /** port of the WebSocket (v2 only) and the browser client's page, on `host`; TLS too when configured @default null (off) */
  wsPort: number | null;
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
  /** frames one connection may have read but not yet handled; past it its socket is not read until half are done @default 1000 */
  maxPendingFrames: number;
  /** bytes of such frames, likewise @default 1 MiB */
  maxPendingBytes: number;
  /** ms a socket may stay unwritable before it is cut off @default 30000 */
  drainTimeoutMs: number;
  /** messages per legacy login `offlinemsg` at most; the rest come at the next login @default 5000 */
  maxOfflineMsgs: number;
  /** ms after sending during which the sender may recall @default 120000 */
  recallWindowMs: number;
  /** connections this process accepts at once; more are told so and closed @default 50000 */
  maxConnections: number;
  /** frames per second one connection may send (token bucket) @default 5000 */
  frameRate: number;
  /** burst of the frame bucket @default 10000 */
  frameBurst: number;
  /** members per group @default 2000 */
  maxGroupSize: number;
  /** friends per user @default 5000 */
  maxFriends: number;
  /** password attempts at one account from one address per login window; a right password clears them (0: no limit) @default 10 */
  loginAttemptsPerAccountAddress: number;
  /** password attempts from one address per login window, over all accounts (0: no limit) @default 100 */
  loginAttemptsPerAddress: number;
  /** password attempts at one account per login window from addresses it has not logged in from lately, cluster-wide (0: no limit) @default 100 */
  loginAttemptsPerAccount: number;
  /** the window of the login attempt budgets, ms @default 900000 (15 minutes) */
  loginWindowMs: number;
  /** registrations from one address per registration window (0: no limit) @default 100 */
  registrationsPerAddress: number;
  /** the window of the registration budget, ms @default 3600000 (an hour) */
  registrationWindowMs: number;
  /** scrypt cost of new password hashes (`ln=<log2 N>,r=<r>,p=<p>`); cheaper stored hashes are redone at login @default 'ln=14,r=8,p=5' */
  scryptParams: string;
  /** a v2 connection that sends nothing (not even PING) for this long is closed, ms @default 90000 */
  idleTimeoutMs: number;
  /** a connection without a session (not logged in yet, or after LOGINOUT) for this long is closed, both flavours, ms @default 60000 */
  loginTimeoutMs: number;
  /** connections from one IP address at once (TLS handshakes included); more are refused @default 256 */
  maxConnectionsPerAddress: number;
  /** a TLS handshake not done in this long is dropped, ms @default 10000 */
  tlsHandshakeTimeoutMs: number;
  /** TLS certificate and key (PEM files); both or neither @default null */
  tlsCert: string | null;
  tlsKey: string | null;
  /** port of the HTTP endpoint with /metrics, /healthz and /readyz @default null (off) */
  metricsPort: number | null;
  /** address of the metrics endpoint @default '127.0.0.1' */
  metricsHost: string;
  /** pino level @default 'info' */
  logLevel: string;
  /** this process's node id in the cluster @default random */
  nodeId: string | null;
  /**
   * a push that arrives before an earlier seq of its conversation waits this long for it (it is
   * on its way from another process) before the missing seqs are read from the log, ms @default 50
   */
  gapWaitMs: number;
  /**
   * cluster: every this many ms each process compares its sessions' conversations with the log
   * and pushes what a lost bus message left out (also at once when the bus reconnects); 0 = only
   * on reconnects @default 10000
   */
  resyncIntervalMs: number;
}

export const defaultOptions: ServerOptions = {
  port: 6000,
  host: '127.0.0.1',
  wsPort: null,
  db: './data/chat.db',
  mysql: null,
  redis: null,
  redisPrefix: 'chat:',
  sync: 'normal',
  maxFrame: DEFAULT_MAX_FRAME,
  maxText: 16 * 1024,
  maxSessions: 5,
  sessionTtlMs: 10_000,
  maxBatch: 2000,
  maxOutBytes: 8 * 1024 * 1024,
  drainTimeoutMs: 30_000,
  maxPendingFrames: 1000,
  maxPendingBytes: 1024 * 1024,
  maxOfflineMsgs: 5000,
  recallWindowMs: 120_000,
  maxConnections: 50_000,
  frameRate: 5000,
  frameBurst: 10_000,
  maxGroupSize: 2000,
  maxFriends: 5000,
  loginAttemptsPerAccountAddress: 10,
  loginAttemptsPerAddress: 100,
  loginAttemptsPerAccount: 100,
  loginWindowMs: 15 * 60_000,
  registrationsPerAddress: 100,
  registrationWindowMs: 3600_000,
  scryptParams: 'ln=14,r=8,p=5',
  idleTimeoutMs: 90_000,
  loginTimeoutMs: 60_000,
  maxConnectionsPerAddress: 256,
  tlsHandshakeTimeoutMs: 10_000,
  tlsCert: null,
  tlsKey: null,
  metricsPort: null,
  metricsHost: '127.0.0.1',
  logLevel: 'info',
  nodeId: null,
  gapWaitMs: 50,
  resyncIntervalMs: 10_000,
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
  if ((o.tlsCert === null) !== (o.tlsKey === null)) throw new Error('TLS needs both --tls-cert and --tls-key');
  parseScryptParams(o.scryptParams);
  if (o.loginWindowMs < 1000 || o.registrationWindowMs < 1000) throw new Error('the login and registration windows must be at least 1000 ms');
  if (!LOG_LEVELS.includes(o.logLevel)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')} (not ${JSON.stringify(o.logLevel)})`);
  return o;
}
