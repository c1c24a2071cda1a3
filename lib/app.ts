/**
 * Builds one server process from options: the embedded store and in-process bus by default,
 * MySQL/MariaDB and Redis in cluster mode. Handlers never know which one runs.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { LocalBus, LocalHub, LocalPresence } from './bus/local/index.js';
import { RedisBus, RedisPresence } from './bus/redis/index.js';
import { closeConnection, createConnection } from './bus/redis/connection.js';
import type { Bus, Presence } from './bus/types.js';
import { resolveOptions, type ServerOptions } from './config.js';
import { createLogger } from './log.js';
import { AuthLimits } from './core/auth-limits.js';
import { Hub } from './core/hub.js';
import { startMetrics, type MetricsServer } from './server/metrics.js';
import { ChatServer } from './server/server.js';
import { MysqlStore } from './store/mysql/index.js';
import { SqliteStore } from './store/sqlite/index.js';
import { guardAsync } from './store/guard.js';
import { withRosters } from './store/rosters.js';
import type { Store } from './store/types.js';

export interface App {
  readonly opts: ServerOptions;
  readonly hub: Hub;
  readonly server: ChatServer;
  readonly log: Logger;
  /** where it listens, once started */
  address: AddressInfo | null;
  /** where the WebSocket and the browser client's page are, when --ws-port is set */
  wsAddress: AddressInfo | null;
  /** where /metrics, /healthz and /readyz answer, when --metrics-port is set */
  metricsAddress: AddressInfo | null;
  start(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export interface AppExtras {
  log?: Logger;
  /** the clock (ms); tests inject one */
  now?: () => number;
}

export function buildStore(opts: ServerOptions): Store {
  return opts.mysql ? new MysqlStore({ url: opts.mysql, queryTimeoutMs: opts.dbQueryTimeoutMs }) : new SqliteStore({ file: opts.db, sync: opts.sync });
}

export function createApp(partial: Partial<ServerOptions> = {}, extras: AppExtras = {}): App {
  const opts = resolveOptions(partial);
  const nodeId = opts.nodeId ?? randomBytes(6).toString('hex');
  const log = extras.log ?? createLogger(opts.logLevel, { node: nodeId });
  const clustered = opts.redis !== null;
  // one writer (embedded): rosters are kept until this store changes them
  const store = withRosters(guardAsync(buildStore(opts), 'store'), !clustered);
  let bus: Bus;
  let presence: Presence;
  let authLimits: AuthLimits;
  // login attempt and registration counts are shared by the cluster through a connection of their own
  const limitsRedis = opts.redis ? createConnection({ url: opts.redis, name: `${opts.redisPrefix}limits:${nodeId}`, log }) : null;
  if (opts.redis) {
    bus = new RedisBus({ url: opts.redis, prefix: opts.redisPrefix, nodeId, log });
    presence = new RedisPresence({ url: opts.redis, prefix: opts.redisPrefix, nodeId, nodeTtlMs: opts.sessionTtlMs });
    authLimits = new AuthLimits(opts, { kind: 'redis', redis: limitsRedis!, prefix: opts.redisPrefix });
  } else {
    // a hub of its own: two embedded servers in one process must not share sessions
    const local = new LocalHub();
    bus = new LocalBus({ nodeId, hub: local });
    presence = new LocalPresence({ nodeId, hub: local });
    authLimits = new AuthLimits(opts, { kind: 'memory' });
  }
  presence = guardAsync(presence, 'presence');
  const hub = new Hub({ store, bus, presence, clustered, opts, log, authLimits, ...(extras.now ? { now: extras.now } : {}) });
  const server = new ChatServer(hub);
  let started = false;
  let metrics: MetricsServer | null = null;
  const app: App = {
    opts,
    hub,
    server,
    log,
    address: null,
    wsAddress: null,
    metricsAddress: null,
    async start() {
      await store.migrate();
      // until it is up, each process counts on its own (the limits' in-memory fallback)
      limitsRedis?.connect().catch(() => undefined);
      await hub.start();
      started = true;
      app.address = await server.listen(opts.port, opts.host);
      if (opts.wsPort !== null) app.wsAddress = await server.listenWeb(opts.wsPort, opts.host);
      if (opts.metricsPort !== null) {
        metrics = await startMetrics(hub, server, opts.metricsPort, opts.metricsHost);
        app.metricsAddress = metrics.address;
      }
      const where = {
        port: app.address.port,
        host: opts.host,
        ...(app.wsAddress ? { wsPort: app.wsAddress.port } : {}),
        ...(app.metricsAddress ? { metricsPort: app.metricsAddress.port } : {}) };
      log.info({ ...where, mode: clustered ? 'cluster' : 'embedded' }, 'listening');
      return app.address;
    },
    async close() {
      await metrics?.close();
      if (started) await server.close();
      await Promise.allSettled([bus.close(), presence.close(), ...(limitsRedis ? [closeConnection(limitsRedis)] : [])]);
      await store.close();
      log.info('closed');
    },
  };
  return app;
}
