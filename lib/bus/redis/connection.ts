import { Redis } from 'ioredis';
import type { BusLog } from './log.js';

export interface ConnectionOptions {
  url: string;
  /** shown in CLIENT LIST */
  name: string;
  log: BusLog;
}

/** reconnect backoff cap: an outage is noticed as over at most this long after it ends */
const MAX_BACKOFF_MS = 500;

/**
 * A lazily connected ioredis client that fails fast while disconnected: no offline queue, and
 * commands in flight when the connection drops are rejected rather than resent later (the bus is
 * best effort and presence callers need an answer now, not after the outage). It reconnects
 * forever with capped exponential backoff and logs once per outage, not once per attempt.
 */
export function createConnection(opts: ConnectionOptions): Redis {
  const redis = new Redis(opts.url, {
    lazyConnect: true,
    connectionName: opts.name.replace(/[^\x21-\x7e]/g, '_'), // CLIENT SETNAME refuses spaces
    // no offline queue: while disconnected commands fail at once instead of piling up in memory
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResubscribe: false,
    retryStrategy: (times) => Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(times, 10)) + Math.floor(Math.random() * 50),
  });
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

/** QUIT when possible, then make sure the socket and the reconnect loop are gone. */
export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') await redis.quit().catch(() => undefined);
  redis.disconnect();
}
