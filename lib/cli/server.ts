/**
 * `chatserver`: runs one server process; `chatserver migrate` applies the schema and exits.
 * Every option has a CHAT_* environment variable; flags win over the environment.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { buildStore, createApp } from '../app.js';
import { defaultOptions, resolveOptions, type ServerOptions } from '../config.js';
import { LOG_LEVELS } from '../log.js';
import { checkPortFree } from './port.js';
import { shortUsageErrors } from './usage.js';

function int(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

function serverOptions(cmd: Command): Command {
  const d = defaultOptions;
  const opt = (flags: string, desc: string, env: string, def?: unknown, parse?: (v: string) => unknown) => {
    const o = new Option(flags, desc).env(env);
    if (parse) o.argParser(parse);
    if (def !== undefined) o.default(def);
    cmd.addOption(o);
  };
  opt('-p, --port <port>', 'TCP port to listen on (0: any free port)', 'CHAT_PORT', d.port, int('port', 0, 65535));
  opt('--host <addr>', 'address to listen on (0.0.0.0 for every interface)', 'CHAT_HOST', d.host);
  opt('--ws-port <port>', 'also serve the protocol (v2) over WebSocket at /ws, and the browser client at /, on this port (TLS too with --tls-cert; 0: any free port, named in the "listening" log line)', 'CHAT_WS_PORT', undefined, int('ws-port', 0, 65535));
  opt('--db <file>', 'SQLite file of the embedded store (created with its schema on first start)', 'CHAT_DB', d.db);
  opt('--mysql <url>', 'cluster mode: MySQL/MariaDB URL, e.g. mysql://root@127.0.0.1:3306/chat (needs --redis)', 'CHAT_MYSQL_URL');
  opt('--redis <url>', 'cluster mode: Redis URL, e.g. redis://127.0.0.1:6379 (needs --mysql)', 'CHAT_REDIS_URL');
  opt('--redis-prefix <prefix>', 'prefix of every Redis key and channel (separates deployments sharing a Redis)', 'CHAT_REDIS_PREFIX', d.redisPrefix);
  cmd.addOption(
    new Option('--sync <mode>', "embedded store durability: 'normal' survives a process crash, 'full' also a power loss")
      .choices(['normal', 'full'])
      .env('CHAT_SYNC')
      .default(d.sync),
  );
  opt('--max-frame <bytes>', 'largest incoming frame; a larger one closes the connection', 'CHAT_MAX_FRAME', d.maxFrame, int('max-frame', 64));
  opt('--max-text <chars>', 'longest chat message text', 'CHAT_MAX_TEXT', d.maxText, int('max-text', 1));
  opt('--max-sessions <n>', 'live sessions (devices) per account', 'CHAT_MAX_SESSIONS', d.maxSessions, int('max-sessions', 1));
  opt('--session-ttl <ms>', "cluster: a dead process's sessions vanish after this long", 'CHAT_SESSION_TTL', d.sessionTtlMs, int('session-ttl', 500));
  opt('--gap-wait <ms>', 'a push that arrives before an earlier one of its conversation waits this long for it before the log is read', 'CHAT_GAP_WAIT', d.gapWaitMs, int('gap-wait', 0, 60_000));
  opt('--resync-interval <ms>', 'cluster: how often each process checks its sessions for pushes a lost bus message left out (0: only when the bus reconnects)', 'CHAT_RESYNC_INTERVAL', d.resyncIntervalMs, int('resync-interval', 0));
  opt('--recall-window <seconds>', 'how long after sending a sender may recall a message', 'CHAT_RECALL_WINDOW', d.recallWindowMs / 1000, int('recall-window', 0));
  opt('--max-out-bytes <bytes>', 'bytes queued to one slow client before it is disconnected', 'CHAT_MAX_OUT_BYTES', d.maxOutBytes, int('max-out-bytes', 1024));
  opt('--max-pending-frames <n>', 'frames one connection may have waiting to be handled; past it its socket is not read', 'CHAT_MAX_PENDING_FRAMES', d.maxPendingFrames, int('max-pending-frames', 1));
  opt('--max-pending-bytes <bytes>', 'bytes of such waiting frames, likewise', 'CHAT_MAX_PENDING_BYTES', d.maxPendingBytes, int('max-pending-bytes', 1024));
  opt('--drain-timeout <ms>', 'how long a client may not read before it is disconnected', 'CHAT_DRAIN_TIMEOUT', d.drainTimeoutMs, int('drain-timeout', 100));
  opt('--max-connections <n>', 'connections this process accepts at once', 'CHAT_MAX_CONNECTIONS', d.maxConnections, int('max-connections', 1));
  opt('--frame-rate <n>', 'frames per second one connection may send (v2: error reply past it; legacy: slowed down)', 'CHAT_FRAME_RATE', d.frameRate, int('frame-rate', 1));
  opt('--frame-burst <n>', 'burst allowance of the frame rate', 'CHAT_FRAME_BURST', d.frameBurst, int('frame-burst', 1));
  opt('--max-group-size <n>', 'members per group', 'CHAT_MAX_GROUP_SIZE', d.maxGroupSize, int('max-group-size', 2));
  opt('--max-friends <n>', 'friends per user', 'CHAT_MAX_FRIENDS', d.maxFriends, int('max-friends', 1));
  opt('--login-attempts-per-account-address <n>', 'password attempts at one account from one address per login window; a right password clears them (0: no limit)', 'CHAT_LOGIN_ATTEMPTS_PER_ACCOUNT_ADDRESS', d.loginAttemptsPerAccountAddress, int('login-attempts-per-account-address', 0));
  opt('--login-attempts-per-address <n>', 'password attempts from one address per login window, at any accounts (0: no limit)', 'CHAT_LOGIN_ATTEMPTS_PER_ADDRESS', d.loginAttemptsPerAddress, int('login-attempts-per-address', 0));
  opt('--login-attempts-per-account <n>', 'password attempts at one account per login window from addresses it has not logged in from lately (0: no limit)', 'CHAT_LOGIN_ATTEMPTS_PER_ACCOUNT', d.loginAttemptsPerAccount, int('login-attempts-per-account', 0));
  opt('--login-window <ms>', 'the window of the login attempt budgets', 'CHAT_LOGIN_WINDOW', d.loginWindowMs, int('login-window', 1000));
  opt('--registrations-per-address <n>', 'registrations from one address per registration window (0: no limit)', 'CHAT_REGISTRATIONS_PER_ADDRESS', d.registrationsPerAddress, int('registrations-per-address', 0));
  opt('--registration-window <ms>', 'the window of the registration budget', 'CHAT_REGISTRATION_WINDOW', d.registrationWindowMs, int('registration-window', 1000));
  opt('--scrypt-params <ln=..,r=..,p=..>', 'scrypt cost of new password hashes (log2 N, r, p); cheaper stored hashes are redone at the next login', 'CHAT_SCRYPT_PARAMS', d.scryptParams);
  opt('--idle-timeout <ms>', 'a v2 connection silent this long (no frame, not even PING) is closed', 'CHAT_IDLE_TIMEOUT', d.idleTimeoutMs, int('idle-timeout', 1000));
  opt('--login-timeout <ms>', 'a connection not logged in this long (both flavours) is closed', 'CHAT_LOGIN_TIMEOUT', d.loginTimeoutMs, int('login-timeout', 1000));
  opt('--max-connections-per-address <n>', 'connections from one IP address at once (behind a proxy that hides client addresses, raise it)', 'CHAT_MAX_CONNECTIONS_PER_ADDRESS', d.maxConnectionsPerAddress, int('max-connections-per-address', 1));
  opt('--tls-handshake-timeout <ms>', 'a TLS handshake not done in this long is dropped', 'CHAT_TLS_HANDSHAKE_TIMEOUT', d.tlsHandshakeTimeoutMs, int('tls-handshake-timeout', 100));
  opt('--tls-cert <file>', 'serve TLS with this certificate (PEM; needs --tls-key)', 'CHAT_TLS_CERT');
  opt('--tls-key <file>', 'the private key of --tls-cert (PEM)', 'CHAT_TLS_KEY');
  opt('--metrics-port <port>', 'serve /metrics (Prometheus), /healthz and /readyz over HTTP on this port (0: any free port, named in the "listening" log line)', 'CHAT_METRICS_PORT', undefined, int('metrics-port', 0, 65535));
  opt('--metrics-host <addr>', 'address of the metrics endpoint', 'CHAT_METRICS_HOST', d.metricsHost);
  opt('--node-id <id>', 'this process\'s id in the cluster (default: random)', 'CHAT_NODE_ID');
  opt('--log-level <level>', LOG_LEVELS.join(', '), 'CHAT_LOG_LEVEL', d.logLevel);
  return cmd;
}

interface Flags {
  port: number;
  host: string;
  wsPort?: number;
  db: string;
  mysql?: string;
  redis?: string;
  redisPrefix: string;
  sync: 'normal' | 'full';
  maxFrame: number;
  maxText: number;
  maxSessions: number;
  sessionTtl: number;
  gapWait: number;
  resyncInterval: number;
  recallWindow: number;
  maxOutBytes: number;
  drainTimeout: number;
  maxPendingFrames: number;
  maxPendingBytes: number;
  maxConnections: number;
  frameRate: number;
  frameBurst: number;
  maxGroupSize: number;
  maxFriends: number;
  loginAttemptsPerAccountAddress: number;
  loginAttemptsPerAddress: number;
  loginAttemptsPerAccount: number;
  loginWindow: number;
  registrationsPerAddress: number;
  registrationWindow: number;
  scryptParams: string;
  idleTimeout: number;
  loginTimeout: number;
  maxConnectionsPerAddress: number;
  tlsHandshakeTimeout: number;
  tlsCert?: string;
  tlsKey?: string;
  metricsPort?: number;
  metricsHost: string;
  nodeId?: string;
  logLevel: string;
}

function toOptions(f: Flags): ServerOptions {
  return resolveOptions({
    port: f.port,
    host: f.host,
    wsPort: f.wsPort ?? null,
    db: f.db,
    mysql: f.mysql ?? null,
    redis: f.redis ?? null,
    redisPrefix: f.redisPrefix,
    sync: f.sync,
    maxFrame: f.maxFrame,
    maxText: f.maxText,
    maxSessions: f.maxSessions,
    sessionTtlMs: f.sessionTtl,
    gapWaitMs: f.gapWait,
    resyncIntervalMs: f.resyncInterval,
    recallWindowMs: f.recallWindow * 1000,
    maxOutBytes: f.maxOutBytes,
    drainTimeoutMs: f.drainTimeout,
    maxPendingFrames: f.maxPendingFrames,
    maxPendingBytes: f.maxPendingBytes,
    maxConnections: f.maxConnections,
    frameRate: f.frameRate,
    frameBurst: f.frameBurst,
    maxGroupSize: f.maxGroupSize,
    maxFriends: f.maxFriends,
    loginAttemptsPerAccountAddress: f.loginAttemptsPerAccountAddress,
    loginAttemptsPerAddress: f.loginAttemptsPerAddress,
    loginAttemptsPerAccount: f.loginAttemptsPerAccount,
    loginWindowMs: f.loginWindow,
    registrationsPerAddress: f.registrationsPerAddress,
    registrationWindowMs: f.registrationWindow,
    scryptParams: f.scryptParams,
    idleTimeoutMs: f.idleTimeout,
    loginTimeoutMs: f.loginTimeout,
    maxConnectionsPerAddress: f.maxConnectionsPerAddress,
    tlsHandshakeTimeoutMs: f.tlsHandshakeTimeout,
    tlsCert: f.tlsCert ?? null,
    tlsKey: f.tlsKey ?? null,
    metricsPort: f.metricsPort ?? null,
    metricsHost: f.metricsHost,
    nodeId: f.nodeId ?? null,
    logLevel: f.logLevel,
  });
}

async function run(flags: Flags): Promise<void> {
  const opts = toOptions(flags);
  await checkPortFree(opts.port, opts.host, '--port');
  if (opts.wsPort !== null) await checkPortFree(opts.wsPort, opts.host, '--ws-port');
  if (opts.metricsPort !== null) await checkPortFree(opts.metricsPort, opts.metricsHost, '--metrics-port');
  const app = createApp(opts);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('unhandledRejection', (err) => app.log.error({ err }, 'unhandled rejection'));
  await app.start();
}

interface MigrateFlags {
  db: string;
  mysql?: string;
}

async function migrate(flags: MigrateFlags): Promise<void> {
  const store = buildStore({ ...defaultOptions, db: flags.db, mysql: flags.mysql ?? null });
  await store.migrate();
  await store.close();
  console.log(`schema applied to ${flags.mysql ? new URL(flags.mysql).pathname.slice(1) || 'chat' : flags.db}`);
}

/** only what applies the schema; --redis is accepted (and unused) so a server's flags work here */
function migrateOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--db <file>', 'SQLite file of the embedded store (created if missing)').env('CHAT_DB').default(defaultOptions.db))
    .addOption(new Option('--mysql <url>', 'MySQL/MariaDB URL, e.g. mysql://root@127.0.0.1:3306/chat (the database is created if missing)').env('CHAT_MYSQL_URL'))
    .addOption(new Option('--redis <url>').env('CHAT_REDIS_URL').hideHelp());
}

function fatal(err: unknown): never {
  console.error(`chatserver: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

export async function main(argv = process.argv): Promise<void> {
  const program = serverOptions(new Command('chatserver'))
    .description(
      'clusterchat server: newline-delimited JSON over TCP (the ClusterChatServer protocol and v2).\n' +
        'Embedded by default (a SQLite file, one process); cluster mode with --mysql and --redis.',
    )
    .enablePositionalOptions()
    .action((flags: Flags) => run(flags).catch(fatal));
  migrateOptions(program.command('migrate'))
    .description('apply the database schema (creating the database if needed) and exit')
    .action((flags: MigrateFlags) => migrate(flags).catch(fatal));
  await shortUsageErrors(program).parseAsync(argv);
}
