import { Redis } from 'ioredis';
import { closeConnection, createConnection } from './connection.js';
import type { BusLog } from './log.js';

/** what a subscription hands to the bus */
export interface SubscriptionHandlers {
  /** a payload published to the channel */
  message(text: string): void;
  /** subscribed again after a loss: what was published meanwhile is gone */
  resumed(): void;
}

/** this node's channel, subscribed on one Redis or on the master of its slot in a cluster */
export interface Subscription {
  /** true while the subscription is confirmed and its connection is up */
  readonly subscribed: boolean;
  /** rejects if Redis cannot be reached now; after that, outages are ridden out */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * SUBSCRIBE on one Redis. The subscription is renewed on every reconnect by us, not by ioredis's
 * autoResubscribe, so `subscribed` turns true only once SUBSCRIBE is confirmed.
 */
export class ChannelSubscription implements Subscription {
  readonly #channel: string;
  readonly #log: BusLog;
  readonly #handlers: SubscriptionHandlers;
  readonly #sub: Redis;
  #subscribed = false;
  #closed = false;

  constructor(opts: { url: string; channel: string; name: string; log: BusLog; handlers: SubscriptionHandlers }) {
    this.#channel = opts.channel;
    this.#log = opts.log;
    this.#handlers = opts.handlers;
    const sub = createConnection({ url: opts.url, name: opts.name, log: opts.log });
    if (!(sub instanceof Redis)) throw new Error('ChannelSubscription: a cluster URL needs a ShardSubscription');
    this.#sub = sub;
  }

  get subscribed(): boolean {
    return this.#subscribed && this.#sub.status === 'ready';
  }

  async start(): Promise<void> {
    this.#sub.on('message', (channel: string, message: string) => {
      if (channel === this.#channel && !this.#closed) this.#handlers.message(message);
    });
    this.#sub.on('close', () => {
      this.#subscribed = false;
    });
    try {
      await this.#sub.connect();
      await this.#sub.subscribe(this.#channel);
    } catch (err) {
      this.#sub.disconnect();
      throw err;
    }
    this.#subscribed = true;
    this.#sub.on('ready', () => this.#resubscribe());
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#subscribed = false;
    await closeConnection(this.#sub);
  }

  #resubscribe(): void {
    this.#sub.subscribe(this.#channel).then(
      () => {
        if (this.#sub.status !== 'ready' || this.#closed) return;
        this.#subscribed = true;
        this.#handlers.resumed();
      },
      // the connection dropped again; the next 'ready' retries
      (err: unknown) => this.#log.warn({ err }, 'bus resubscribe failed'),
    );
  }
}
