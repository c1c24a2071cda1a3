import { Cluster, Redis } from 'ioredis';
import type { BusLog } from './log.js';
import { parseRedisTarget } from './target.js';

/** one Redis or a Redis Cluster, as `--redis` says */
export type RedisClient = Redis | Cluster;

export interface ConnectionOptions {
  /** `redis://host:port` or `redis+cluster://host:port,host:port` (target.ts) */
  url: string;
  /** shown in CLIENT LIST */
  name: string;
  log: BusLog;
}

/** reconnect backoff cap: an outage is noticed as over at most this long after it ends */
export const MAX_BACKOFF_MS = 500;

/** the delay before reconnect attempt `times` (1, 2, ...) */
export function backoffMs(times: number): number {
  return Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(times, 10)) + Math.floor(Math.random() * 50);
}

/** CLIENT SETNAME refuses spaces */
export function connectionName(name: string): string {
  return name.replace(/[^\x21-\x7e]/g, '_');
}

/**
 * A lazily connected ioredis client (a `Cluster` for a cluster URL) that fails fast while
 * disconnected: no offline queue, and commands in flight when the connection drops are rejected
 * rather than resent later (the bus is best effort and presence callers need an answer now, not
 * after the outage). It reconnects forever with capped exponential backoff and logs once per
 * outage, not once per attempt. A Cluster also retries a command whose master just failed for a
 * moment (ioredis's `retryDelayOnFailover`) and follows MOVED replies after a failover.
 */
export function createConnection(opts: ConnectionOptions): RedisClient {
  const target = parseRedisTarget(opts.url);
  const common = { lazyConnect: true, enableOfflineQueue: false } as const;
  const perNode = { connectionName: connectionName(opts.name), maxRetriesPerRequest: 0, autoResubscribe: false } as const;
  const redis =
    target.kind === 'single'
      ? new Redis(target.url, { ...common, ...perNode, retryStrategy: backoffMs })
      : new Cluster(target.nodes, { ...common, redisOptions: perNode, clusterRetryStrategy: backoffMs });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) opts.log.warn({ err, connection: opts.name }, 'redis connection error');
  });
  redis.on('reconnecting', () => {
    if (down) return;
    down = true;
    opts.log.warn({ connection: opts.name }, 'redis connection lost; reconnecting');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    opts.log.info({ connection: opts.name }, 'redis connection restored');
  });
  return redis;
}

/** QUIT when possible, then make sure the sockets and the reconnect loop are gone. */
export async function closeConnection(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') await redis.quit().catch(() => undefined);
  redis.disconnect();
}
