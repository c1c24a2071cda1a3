import { Redis, type Cluster } from 'ioredis';
import { backoffMs, connectionName } from './connection.js';
import type { BusLog } from './log.js';
import type { Subscription, SubscriptionHandlers } from './subscription.js';

/**
 * SSUBSCRIBE (Redis 7 sharded pub/sub) to this node's channel on the master that serves its
 * slot, on a connection of its own. When that connection ends (the master died) or the slot
 * moves away (Redis then unsubscribes us), it asks the cluster again which master serves the
 * slot, backing off, until a replica has taken over; once SSUBSCRIBE is confirmed there,
 * `resumed` says that what was published meanwhile is gone.
 */
export class ShardSubscription implements Subscription {
  readonly #cluster: Cluster;
  readonly #channel: string;
  readonly #name: string;
  readonly #log: BusLog;
  readonly #handlers: SubscriptionHandlers;
  #conn: Redis | undefined;
  #slot: number | undefined;
  #subscribed = false;
  #closed = false;
  #attempts = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `cluster`: a connected client of the cluster (the bus's publisher), asked where the slot is */
  constructor(opts: { cluster: Cluster; channel: string; name: string; log: BusLog; handlers: SubscriptionHandlers }) {
    this.#cluster = opts.cluster;
    this.#channel = opts.channel;
    this.#name = opts.name;
    this.#log = opts.log;
    this.#handlers = opts.handlers;
  }

  get subscribed(): boolean {
    return this.#subscribed && this.#conn?.status === 'ready';
  }

  async start(): Promise<void> {
    await this.#subscribe();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#subscribed = false;
    clearTimeout(this.#timer);
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn?.status === 'ready') await conn.quit().catch(() => undefined);
    conn?.disconnect();
  }

  async #subscribe(): Promise<void> {
    const { host, port } = await this.#master();
    const conn = new Redis({
      host,
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      // never back to the same address: the slot may have another master by then
      retryStrategy: () => null,
      connectionName: connectionName(this.#name),
    });
    conn.on('error', () => undefined);
    conn.on('smessage', (channel: string, message: string) => {
      if (channel === this.#channel && !this.#closed) this.#handlers.message(message);
    });
    conn.on('close', () => this.#lost(conn, 'its connection closed'));
    // an unsolicited SUNSUBSCRIBE: the slot left this node
    conn.on('moved', () => this.#lost(conn, 'its slot moved'));
    this.#conn = conn;
    try {
      await conn.connect();
      await conn.ssubscribe(this.#channel);
    } catch (err) {
      if (this.#conn === conn) this.#conn = undefined;
      conn.disconnect();
      throw err;
    }
    if (this.#closed || this.#conn !== conn) return conn.disconnect();
    this.#subscribed = true;
  }

  /** the master serving the channel's slot, as the cluster says now */
  async #master(): Promise<{ host: string; port: number }> {
    this.#slot ??= Number(await this.#cluster.cluster('KEYSLOT', this.#channel));
    const slot = this.#slot;
    const ranges = await this.#cluster.cluster('SLOTS');
    const range = ranges.find(([from, to]) => from <= slot && slot <= to);
    const master = range?.[2];
    if (!master) throw new Error(`no master serves slot ${slot} of ${this.#channel}`);
    return { host: String(master[0]), port: Number(master[1]) };
  }

  #lost(conn: Redis, why: string): void {
    // before SSUBSCRIBE is confirmed, #subscribe's caller sees the failure
    if (conn !== this.#conn || !this.#subscribed) return;
    this.#conn = undefined;
    this.#subscribed = false;
    conn.disconnect();
    if (this.#closed) return;
    this.#log.warn({ channel: this.#channel, why }, 'bus subscription lost; looking for the master of its slot');
    this.#retry();
  }

  #retry(): void {
    this.#timer = setTimeout(() => {
      if (this.#closed) return;
      this.#subscribe().then(
        () => {
          if (!this.#subscribed) return;
          this.#log.info({ channel: this.#channel, attempts: this.#attempts }, 'bus subscription restored');
          this.#attempts = 0;
          this.#handlers.resumed();
        },
        () => this.#retry(),
      );
    }, backoffMs(++this.#attempts));
  }
}
