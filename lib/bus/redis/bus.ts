import type { Redis } from 'ioredis';
import type { Bus } from '../types.js';
import { closeConnection, createConnection } from './connection.js';
import { silentLog, type BusLog } from './log.js';

export interface RedisBusOptions {
  url: string;
  prefix: string;
  nodeId: string;
  log?: BusLog;
}

/**
 * Redis pub/sub bus: node X listens on `${prefix}node:X`. Two connections, since a subscribed
 * connection cannot publish. Publishes are dropped (and counted) while the publisher is not
 * ready: no offline queue, so an outage costs no memory and no stale burst on reconnect;
 * receivers fill gaps from the log. The subscription is renewed on every reconnect by us,
 * not by ioredis's autoResubscribe, so `healthy` turns true only once SUBSCRIBE is confirmed,
 * and then `onResume` tells the server to read what it missed from the log.
 */
export class RedisBus implements Bus {
  readonly nodeId: string;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #log: BusLog;
  readonly #pub: Redis;
  readonly #sub: Redis;
  #onMessage: ((payload: unknown) => void) | undefined;
  #onResume: (() => void) | undefined;
  #subscribed = false;
  #closed = false;
  #dropped = 0;

  constructor(opts: RedisBusOptions) {
    this.nodeId = opts.nodeId;
    this.#prefix = opts.prefix;
    this.#channel = this.#channelOf(opts.nodeId);
    this.#log = opts.log ?? silentLog;
    this.#pub = createConnection({ url: opts.url, name: `${opts.prefix}pub:${opts.nodeId}`, log: this.#log });
    this.#sub = createConnection({ url: opts.url, name: `${opts.prefix}sub:${opts.nodeId}`, log: this.#log });
  }

  get healthy(): boolean {
    return !this.#closed && this.#subscribed && this.#pub.status === 'ready' && this.#sub.status === 'ready';
  }

  /** Rejects if Redis cannot be reached now; after that, outages are ridden out. */
  async start(onMessage: (payload: unknown) => void, onResume?: () => void): Promise<void> {
    if (this.#closed || this.#onMessage) throw new Error('RedisBus: start twice or after close');
    this.#onMessage = onMessage;
    this.#onResume = onResume;
    this.#sub.on('message', (channel: string, message: string) => this.#deliver(channel, message));
    this.#sub.on('close', () => {
      this.#subscribed = false;
    });
    this.#pub.on('ready', () => this.#reportDropped());
    try {
      await Promise.all([this.#pub.connect(), this.#sub.connect()]);
      await this.#sub.subscribe(this.#channel);
    } catch (err) {
      this.#pub.disconnect();
      this.#sub.disconnect();
      throw err;
    }
    this.#subscribed = true;
    this.#sub.on('ready', () => this.#resubscribe());
  }

  publish(nodeId: string, payload: unknown): void {
    if (this.#closed) return;
    let text: string | undefined;
    try {
      text = JSON.stringify(payload);
    } catch (err) {
      this.#log.error({ err, nodeId }, 'bus payload is not JSON-serialisable; dropped');
      return;
    }
    if (text === undefined) return;
    if (this.#pub.status !== 'ready') return this.#drop();
    this.#pub.publish(this.#channelOf(nodeId), text).catch((err: unknown) => this.#drop(err));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscribed = false;
    await Promise.all([closeConnection(this.#pub), closeConnection(this.#sub)]);
  }

  #channelOf(nodeId: string): string {
    return `${this.#prefix}node:${nodeId}`;
  }

  #resubscribe(): void {
    this.#sub.subscribe(this.#channel).then(
      () => {
        if (this.#sub.status !== 'ready' || this.#closed) return;
        this.#subscribed = true;
        // whatever was published to this node while it was not subscribed is gone
        try {
          this.#onResume?.();
        } catch (err) {
          this.#log.error({ err }, 'bus resume handler failed');
        }
      },
      // the connection dropped again; the next 'ready' retries
      (err: unknown) => this.#log.warn({ err }, 'bus resubscribe failed'),
    );
  }

  #deliver(channel: string, message: string): void {
    if (channel !== this.#channel || this.#closed || !this.#onMessage) return;
    try {
      this.#onMessage(JSON.parse(message));
    } catch (err) {
      this.#log.error({ err }, 'bus message handler failed');
    }
  }

  /** logs the first drop of an outage; the count is reported when the publisher is back */
  #drop(err?: unknown): void {
    if (this.#dropped++ === 0) this.#log.warn({ err }, 'bus publisher unavailable; dropping payloads');
  }

  #reportDropped(): void {
    if (this.#dropped === 0) return;
    this.#log.warn({ dropped: this.#dropped }, 'bus publisher is back; payloads were dropped meanwhile');
    this.#dropped = 0;
  }
}
