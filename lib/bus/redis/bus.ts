import { Cluster } from 'ioredis';
import type { Bus } from '../types.js';
import { closeConnection, createConnection, type RedisClient } from './connection.js';
import { silentLog, type BusLog } from './log.js';
import { ShardSubscription } from './shard-subscription.js';
import { ChannelSubscription, type Subscription } from './subscription.js';

export interface RedisBusOptions {
  /** one Redis or a Redis Cluster (target.ts) */
  url: string;
  prefix: string;
  nodeId: string;
  log?: BusLog;
}

/**
 * Redis pub/sub bus: node X listens on `${prefix}node:X`. On one Redis: PUBLISH and SUBSCRIBE;
 * on a Redis Cluster: SPUBLISH and SSUBSCRIBE (sharded pub/sub, Redis 7), so each node's
 * channel lives on the master of its slot and the channels spread over the masters. The
 * subscription has a connection of its own (a subscribed connection cannot publish). Publishes
 * are dropped (and counted) while the publisher is not ready: no offline queue, so an outage
 * costs no memory and no stale burst on reconnect; receivers fill gaps from the log. `healthy`
 * turns true only once the subscription is confirmed, and after every loss `onResume` tells
 * the server to read what it missed from the log.
 */
export class RedisBus implements Bus {
  readonly nodeId: string;
  readonly #prefix: string;
  readonly #log: BusLog;
  readonly #pub: RedisClient;
  readonly #sub: Subscription;
  #onMessage: ((payload: unknown) => void) | undefined;
  #onResume: (() => void) | undefined;
  #started = false;
  #closed = false;
  #dropped = 0;

  constructor(opts: RedisBusOptions) {
    this.nodeId = opts.nodeId;
    this.#prefix = opts.prefix;
    this.#log = opts.log ?? silentLog;
    this.#pub = createConnection({ url: opts.url, name: `${opts.prefix}pub:${opts.nodeId}`, log: this.#log });
    const sub = {
      channel: this.#channelOf(opts.nodeId),
      name: `${opts.prefix}sub:${opts.nodeId}`,
      log: this.#log,
      handlers: { message: (text: string) => this.#deliver(text), resumed: () => this.#resumed() },
    };
    this.#sub = this.#pub instanceof Cluster ? new ShardSubscription({ ...sub, cluster: this.#pub }) : new ChannelSubscription({ ...sub, url: opts.url });
  }

  get healthy(): boolean {
    return !this.#closed && this.#sub.subscribed && this.#pub.status === 'ready';
  }

  /** Rejects if Redis cannot be reached now; after that, outages are ridden out. */
  async start(onMessage: (payload: unknown) => void, onResume?: () => void): Promise<void> {
    if (this.#closed || this.#started) throw new Error('RedisBus: start twice or after close');
    this.#started = true;
    this.#onMessage = onMessage;
    this.#onResume = onResume;
    this.#pub.on('ready', () => this.#reportDropped());
    try {
      await this.#pub.connect();
      // a master's connection opens at its first command, and a command that finds it still
      // opening is retried later, behind the next ones: open them all now, so that one node's
      // payloads to another arrive in order
      if (this.#pub instanceof Cluster) await Promise.all(this.#pub.nodes('master').map((node) => node.ping()));
      await this.#sub.start();
    } catch (err) {
      this.#pub.disconnect();
      await this.#sub.close();
      throw err;
    }
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
    const channel = this.#channelOf(nodeId);
    const sent = this.#pub instanceof Cluster ? this.#pub.spublish(channel, text) : this.#pub.publish(channel, text);
    sent.catch((err: unknown) => this.#drop(err));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([closeConnection(this.#pub), this.#sub.close()]);
  }

  #channelOf(nodeId: string): string {
    return `${this.#prefix}node:${nodeId}`;
  }

  #deliver(message: string): void {
    if (this.#closed || !this.#onMessage) return;
    try {
      this.#onMessage(JSON.parse(message));
    } catch (err) {
      this.#log.error({ err }, 'bus message handler failed');
    }
  }

  /** whatever was published to this node while it was not subscribed is gone */
  #resumed(): void {
    try {
      this.#onResume?.();
    } catch (err) {
      this.#log.error({ err }, 'bus resume handler failed');
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
