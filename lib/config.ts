/**
 * Every server option, defined once in `OPTIONS`: its flag, environment variable, default, unit,
 * bounds and help text (the aedes `defaultOptions` pattern, grown into a table). The CLI
 * (lib/cli/server.ts) builds its flags and `--help` from it, `resolveOptions` checks every value
 * against it (so a library user gets the same refusals as the CLI), and test/docs/options.test.ts
 * keeps docs/OPERATING.md's option tables in step with it.
 */
import { CLUSTER_SCHEME, parseRedisTarget } from './bus/redis/target.js';
import { LOG_LEVELS } from './log.js';
import { parseScryptParams } from './models/password.js';
import { DEFAULT_MAX_FRAME } from './protocol/defaults.js';

export interface ServerOptions {
  port: number;
  host: string;
  wsPort: number | null;
  db: string;
  mysql: string | null;
  redis: string | null;
  redisPrefix: string;
  sync: 'normal' | 'full';
  nodeId: string | null;
  sessionTtlMs: number;
  gapWaitMs: number;
  resyncIntervalMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  loginTimeoutMs: number;
  tlsHandshakeTimeoutMs: number;
  maxFrame: number;
  frameRate: number;
  frameBurst: number;
  maxText: number;
  maxGroupSize: number;
  maxFriends: number;
  maxSessions: number;
  maxOutBytes: number;
  maxPendingFrames: number;
  maxPendingBytes: number;
  drainTimeoutMs: number;
  idleTimeoutMs: number;
  loginAttemptsPerAccountAddress: number;
  loginAttemptsPerAddress: number;
  loginAttemptsPerAccount: number;
  loginWindowMs: number;
  registrationsPerAddress: number;
  registrationWindowMs: number;
  scryptParams: string;
  tokenTtlMs: number;
  hashConcurrency: number;
  hashQueue: number;
  hashNice: number;
  recallWindowMs: number;
  expiryIntervalMs: number;
  expiryBatch: number;
  retentionDays: number | null;
  maxOfflineMsgs: number;
  maxBatch: number;
  maxCommitQueue: number;
  dbQueryTimeoutMs: number;
  tlsCert: string | null;
  tlsKey: string | null;
  metricsPort: number | null;
  metricsHost: string;
  logLevel: string;
}

/** the docs/OPERATING.md table an option is listed in */
export type OptionGroup = 'where' | 'limits' | 'operations';

export interface OptionSpec<T> {
  /** the long flag with its argument, e.g. `--port <port>`; none: a library option only */
  flag?: string;
  /** a one-letter alias, e.g. `-p` */
  short?: string;
  /** the environment variable; by default `CHAT_` and the flag's name, e.g. CHAT_MAX_FRAME */
  env?: string;
  default: T;
  /** what the flag's number counts; `s` on an option kept in ms means the flag is in seconds */
  unit?: 'ms' | 's' | 'bytes' | 'chars' | 'count' | 'port';
  /** integer bounds, in the flag's unit */
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** further validation: a message when the value is bad */
  check?(v: T): string | undefined;
  /** the --help text */
  help: string;
  group: OptionGroup;
}

export type OptionTable = { [K in keyof ServerOptions]: OptionSpec<ServerOptions[K]> };

const MAX_INT = Number.MAX_SAFE_INTEGER;

export const OPTIONS: OptionTable = {
  port: { flag: '--port <port>', short: '-p', default: 6000, unit: 'port', min: 0, max: 65535, help: 'TCP port to listen on (0: any free port)', group: 'where' },
  host: { flag: '--host <addr>', default: '127.0.0.1', help: 'address to listen on (0.0.0.0 for every interface)', group: 'where' },
  wsPort: {
    flag: '--ws-port <port>',
    default: null,
    unit: 'port',
    min: 0,
    max: 65535,
    help: 'also serve the protocol (v2) over WebSocket at /ws, and the browser client at /, on this port (TLS too with --tls-cert; 0: any free port, named in the "listening" log line)',
    group: 'where',
  },
  db: { flag: '--db <file>', default: './data/chat.db', help: 'SQLite file of the embedded store (created with its schema on first start)', group: 'where' },
  mysql: { flag: '--mysql <url>', env: 'CHAT_MYSQL_URL', default: null, help: 'cluster mode: MySQL/MariaDB URL, e.g. mysql://root@127.0.0.1:3306/chat (needs --redis)', group: 'where' },
  redis: {
    flag: '--redis <url>',
    env: 'CHAT_REDIS_URL',
    default: null,
    check: redisUrlProblem,
    help: 'cluster mode: Redis URL, e.g. redis://127.0.0.1:6379, or a Redis Cluster (Redis 7) by some of its nodes: redis+cluster://10.0.0.1:7000,10.0.0.2:7000 (needs --mysql)',
    group: 'where',
  },
  redisPrefix: {
    flag: '--redis-prefix <prefix>',
    default: 'chat:',
    check: (v) => (/[{}]/.test(v) ? `--redis-prefix must not contain { or } (Redis Cluster hash tags; not ${JSON.stringify(v)})` : undefined),
    help: 'prefix of every Redis key and channel (separates deployments sharing a Redis)',
    group: 'where',
  },
  sync: { flag: '--sync <mode>', default: 'normal', choices: ['normal', 'full'], help: "embedded store durability: 'normal' survives a process crash, 'full' also a power loss", group: 'where' },
  nodeId: { flag: '--node-id <id>', default: null, help: "this process's id in the cluster (default: random)", group: 'where' },
  sessionTtlMs: { flag: '--session-ttl <ms>', default: 10_000, unit: 'ms', min: 500, help: "cluster: a dead process's sessions vanish after this long", group: 'where' },
  gapWaitMs: { flag: '--gap-wait <ms>', default: 50, unit: 'ms', min: 0, max: 60_000, help: 'a push that arrives before an earlier one of its conversation waits this long for it before the log is read', group: 'where' },
  resyncIntervalMs: { flag: '--resync-interval <ms>', default: 10_000, unit: 'ms', min: 0, help: 'cluster: how often each process checks its sessions for pushes a lost bus message left out (0: only when the bus reconnects)', group: 'where' },

  maxConnections: { flag: '--max-connections <n>', default: 50_000, unit: 'count', min: 1, help: 'connections this process accepts at once', group: 'limits' },
  maxConnectionsPerAddress: { flag: '--max-connections-per-address <n>', default: 256, unit: 'count', min: 1, help: 'connections from one IP address at once (behind a proxy that hides client addresses, raise it)', group: 'limits' },
  loginTimeoutMs: { flag: '--login-timeout <ms>', default: 60_000, unit: 'ms', min: 1000, help: 'a connection not logged in this long (both flavours) is closed', group: 'limits' },
  tlsHandshakeTimeoutMs: { flag: '--tls-handshake-timeout <ms>', default: 10_000, unit: 'ms', min: 100, help: 'a TLS handshake not done in this long is dropped', group: 'limits' },
  maxFrame: { flag: '--max-frame <bytes>', default: DEFAULT_MAX_FRAME, unit: 'bytes', min: 64, help: 'largest incoming frame; a larger one closes the connection', group: 'limits' },
  frameRate: { flag: '--frame-rate <n>', default: 5000, unit: 'count', min: 1, help: 'frames per second one connection may send (v2: error reply past it; legacy: slowed down)', group: 'limits' },
  frameBurst: { flag: '--frame-burst <n>', default: 10_000, unit: 'count', min: 1, help: 'burst allowance of the frame rate', group: 'limits' },
  maxText: { flag: '--max-text <chars>', default: 16 * 1024, unit: 'chars', min: 1, help: 'longest chat message text', group: 'limits' },
  maxGroupSize: { flag: '--max-group-size <n>', default: 2000, unit: 'count', min: 2, help: 'members per group', group: 'limits' },
  maxFriends: { flag: '--max-friends <n>', default: 5000, unit: 'count', min: 1, help: 'friends per user', group: 'limits' },
  maxSessions: { flag: '--max-sessions <n>', default: 5, unit: 'count', min: 1, help: 'live sessions (devices) per account', group: 'limits' },
  maxOutBytes: { flag: '--max-out-bytes <bytes>', default: 8 * 1024 * 1024, unit: 'bytes', min: 1024, help: 'bytes queued to one slow client before it is disconnected', group: 'limits' },
  maxPendingFrames: { flag: '--max-pending-frames <n>', default: 1000, unit: 'count', min: 1, help: 'frames one connection may have waiting to be handled; past it its socket is not read', group: 'limits' },
  maxPendingBytes: { flag: '--max-pending-bytes <bytes>', default: 1024 * 1024, unit: 'bytes', min: 1024, help: 'bytes of such waiting frames, likewise', group: 'limits' },
  drainTimeoutMs: { flag: '--drain-timeout <ms>', default: 30_000, unit: 'ms', min: 100, help: 'how long a client may not read before it is disconnected', group: 'limits' },
  idleTimeoutMs: { flag: '--idle-timeout <ms>', default: 90_000, unit: 'ms', min: 1000, help: 'a v2 connection silent this long (no frame, not even PING) is closed', group: 'limits' },
  loginAttemptsPerAccountAddress: {
    flag: '--login-attempts-per-account-address <n>',
    default: 10,
    unit: 'count',
    min: 0,
    help: 'password attempts at one account from one address per login window; a right password clears them (0: no limit)',
    group: 'limits',
  },
  loginAttemptsPerAddress: { flag: '--login-attempts-per-address <n>', default: 100, unit: 'count', min: 0, help: 'password attempts from one address per login window, at any accounts (0: no limit)', group: 'limits' },
  loginAttemptsPerAccount: {
    flag: '--login-attempts-per-account <n>',
    default: 100,
    unit: 'count',
    min: 0,
    help: 'password attempts at one account per login window from addresses it has not logged in from lately (0: no limit)',
    group: 'limits',
  },
  loginWindowMs: { flag: '--login-window <ms>', default: 15 * 60_000, unit: 'ms', min: 1000, help: 'the window of the login attempt budgets', group: 'limits' },
  registrationsPerAddress: { flag: '--registrations-per-address <n>', default: 100, unit: 'count', min: 0, help: 'registrations from one address per registration window (0: no limit)', group: 'limits' },
  registrationWindowMs: { flag: '--registration-window <ms>', default: 3600_000, unit: 'ms', min: 1000, help: 'the window of the registration budget', group: 'limits' },
  scryptParams: {
    flag: '--scrypt-params <ln=..,r=..,p=..>',
    default: 'ln=14,r=8,p=5',
    check: (v) => {
      try {
        parseScryptParams(v);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
    help: 'scrypt cost of new password hashes (log2 N, r, p); cheaper stored hashes are redone at the next login',
    group: 'limits',
  },
  hashConcurrency: {
    flag: '--hash-concurrency <n>',
    default: 1,
    unit: 'count',
    min: 1,
    max: 64,
    help: 'password hashes (scrypt, for LOGIN with a password and REG) computed at once, off the event loop',
    group: 'limits',
  },
  hashQueue: {
    flag: '--hash-queue <n>',
    default: 100,
    unit: 'count',
    min: 0,
    help: 'password hashes waiting for their turn; past it a LOGIN with a password or a REG is refused with errno 132 and retryAfterMs',
    group: 'limits',
  },
  hashNice: {
    flag: '--hash-nice <n>',
    default: 19,
    unit: 'count',
    min: 0,
    max: 19,
    help: 'CPU priority (nice value, Linux) of the threads that compute password hashes: 19 gives the event loop the CPU first',
    group: 'limits',
  },
  tokenTtlMs: {
    flag: '--token-ttl <seconds>',
    default: 30 * 24 * 3600_000,
    unit: 's',
    min: 1,
    help: 'a v2 session token resumes without the password for this long after it was issued (each resume issues the next)',
    group: 'limits',
  },
  recallWindowMs: { flag: '--recall-window <seconds>', default: 120_000, unit: 's', min: 0, help: 'how long after sending a sender may recall a message', group: 'limits' },
  expiryIntervalMs: {
    flag: '--expiry-interval <ms>',
    default: 1000,
    unit: 'ms',
    min: 10,
    help: 'how often the server turns disappearing messages past their expiry into tombstones',
    group: 'limits',
  },
  expiryBatch: { flag: '--expiry-batch <n>', default: 500, unit: 'count', min: 1, help: 'messages expired per tick at most (the rest in the next ticks)', group: 'limits' },
  retentionDays: {
    flag: '--retention-days <days>',
    default: null,
    min: 1,
    help: 'prune events older than this many days, in the background in small batches (default: keep everything)',
    group: 'limits',
  },
  maxOfflineMsgs: { default: 5000, unit: 'count', min: 1, help: "messages per legacy login's offlinemsg at most; the rest come at the next login", group: 'limits' },
  maxBatch: { default: 2000, unit: 'count', min: 1, help: 'store operations per commit at most', group: 'limits' },
  maxCommitQueue: {
    flag: '--max-commit-queue <n>',
    default: 10_000,
    unit: 'count',
    min: 0,
    help: 'store writes waiting for the next commit; past it a send is refused with errno 114 (0: no bound)',
    group: 'limits',
  },
  dbQueryTimeoutMs: {
    flag: '--db-query-timeout <ms>',
    default: 10_000,
    unit: 'ms',
    min: 0,
    help: 'cluster: a MySQL query (or the wait for a pooled connection) fails after this long, and its connection is closed (0: no timeout)',
    group: 'limits',
  },

  tlsCert: { flag: '--tls-cert <file>', default: null, help: 'serve TLS with this certificate (PEM; needs --tls-key)', group: 'operations' },
  tlsKey: { flag: '--tls-key <file>', default: null, help: 'the private key of --tls-cert (PEM)', group: 'operations' },
  metricsPort: {
    flag: '--metrics-port <port>',
    default: null,
    unit: 'port',
    min: 0,
    max: 65535,
    help: 'serve /metrics (Prometheus), /healthz and /readyz over HTTP on this port (0: any free port, named in the "listening" log line)',
    group: 'operations',
  },
  metricsHost: { flag: '--metrics-host <addr>', default: '127.0.0.1', help: 'address of the metrics endpoint', group: 'operations' },
  logLevel: { flag: '--log-level <level>', default: 'info', choices: LOG_LEVELS, help: LOG_LEVELS.join(', '), group: 'operations' },
};

/** `redis://...` (or `rediss://`), or `redis+cluster://host:port[,host:port...]` */
function redisUrlProblem(v: string): string | undefined {
  if (!/^(rediss?|redis\+cluster):\/\//.test(v)) return `--redis must be redis://host:port or ${CLUSTER_SCHEME}host:port[,host:port...] (not ${JSON.stringify(v)})`;
  try {
    parseRedisTarget(v);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export const defaultOptions: ServerOptions = Object.fromEntries(Object.entries(OPTIONS).map(([k, s]) => [k, s.default])) as unknown as ServerOptions;

/** `--max-frame` for a flag, the option's name for a library-only option */
export function optionName(key: keyof ServerOptions): string {
  return /^--[a-z-]+/.exec(OPTIONS[key].flag ?? '')?.[0] ?? key;
}

export function envName(key: keyof ServerOptions): string | undefined {
  const spec: OptionSpec<unknown> = OPTIONS[key];
  return spec.env ?? (spec.flag ? `CHAT_${optionName(key).slice(2).toUpperCase().replace(/-/g, '_')}` : undefined);
}

/** flag value = option value / scale (only `--recall-window` differs: seconds for an option in ms) */
export function flagScale(key: keyof ServerOptions): number {
  return OPTIONS[key].unit === 's' ? 1000 : 1;
}

/** why a flag value (in the flag's unit) is refused, or undefined */
export function flagValueProblem(key: keyof ServerOptions, v: unknown, shown = JSON.stringify(v)): string | undefined {
  const spec: OptionSpec<unknown> = OPTIONS[key];
  const name = optionName(key);
  if (spec.min !== undefined) {
    const max = spec.max ?? MAX_INT;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < spec.min || v > max) return `${name} must be an integer from ${spec.min} to ${max} (not ${shown})`;
  }
  if (spec.choices && !spec.choices.includes(v as string)) return `${name} must be one of ${spec.choices.join(', ')} (not ${shown})`;
  return spec.check?.(v);
}

export function resolveOptions(partial: Partial<ServerOptions> = {}): ServerOptions {
  const o = { ...defaultOptions };
  for (const [k, v] of Object.entries(partial)) {
    if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  }
  for (const key of Object.keys(OPTIONS) as Array<keyof ServerOptions>) {
    const v = o[key];
    if (v === null) continue;
    const problem = flagValueProblem(key, typeof v === 'number' ? v / flagScale(key) : v);
    if (problem) throw new Error(problem);
  }
  if ((o.mysql === null) !== (o.redis === null)) {
    throw new Error(
      'cluster mode needs both --mysql and --redis (processes share the database for the log and Redis to reach each other); give both, or neither for the embedded store',
    );
  }
  if ((o.tlsCert === null) !== (o.tlsKey === null)) throw new Error('TLS needs both --tls-cert and --tls-key');
  return o;
}
