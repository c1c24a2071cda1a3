/**
 * The TCP server: accepts connections, frames their input, runs each connection's frames in
 * order through the dispatcher, and shuts down gracefully.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { ChatError, Errors, type ErrorCode } from '../errors.js';
import { dispatch, rejectFrame } from '../handlers/index.js';
import { MsgId } from '../protocol/msgid.js';
import { Connection } from './connection.js';
import type { Hub } from './hub.js';
import { TokenBucket } from './limits.js';

/** how often v2 connections are checked for idleness */
const IDLE_SWEEP_MS = 1000;

export class ChatServer {
  readonly hub: Hub;
  readonly log: Logger;
  readonly #server: net.Server | tls.Server;
  readonly #conns = new Set<Connection>();
  #nextId = 1;
  #closing = false;
  readonly #idleSweep: NodeJS.Timeout;

  constructor(hub: Hub) {
    this.hub = hub;
    this.log = hub.log;
    const { tlsCert, tlsKey } = hub.opts;
    this.#server =
      tlsCert && tlsKey
        ? tls.createServer({ cert: readFileSync(tlsCert), key: readFileSync(tlsKey) }, (socket) => this.#accept(socket))
        : net.createServer((socket) => this.#accept(socket));
    this.#server.on('error', (err) => this.log.error({ err }, 'server error'));
    if (tlsCert) this.#server.on('tlsClientError', (err) => this.log.debug({ err }, 'TLS handshake failed'));
    this.#idleSweep = setInterval(() => this.#closeIdle(), IDLE_SWEEP_MS);
    this.#idleSweep.unref();
  }

  /** v2 clients ping; one that has sent nothing for the idle timeout is gone (a vanished phone) */
  #closeIdle(): void {
    const limit = performance.now() - this.hub.opts.idleTimeoutMs;
    for (const conn of this.#conns) {
      if (conn.v2 && conn.lastFrameAt < limit) {
        conn.log.info('v2 connection idle past the timeout; closing');
        this.#refuse(conn, 'IDLE_TIMEOUT');
      }
    }
  }

  /**
   * Over the connection limit. The flavour is not known before a frame comes, and a legacy
   * client gets nothing it does not know: wait briefly for the first frame, tell a v2 client
   * why, and close either way.
   */
  #refuseFull(conn: Connection, socket: net.Socket): void {
    conn.log.warn({ max: this.hub.opts.maxConnections }, 'connection limit reached; refusing');
    const timer = setTimeout(() => conn.destroy(), 2000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('data', (chunk: Buffer) => {
      conn.v2 = /"v"\s*:\s*2\b/.test(chunk.toString('utf8', 0, Math.min(chunk.length, 4096)));
      this.#refuse(conn, 'SERVER_FULL');
    });
  }

  /** tells a v2 client why, then closes */
  #refuse(conn: Connection, code: ErrorCode, detail?: string): void {
    if (conn.v2) {
      const e = Errors[code];
      conn.send({ msgid: MsgId.ERROR_MSG, v: 2, errno: e.errno, errmsg: detail ? `${e.errmsg} (${detail})` : e.errmsg, reqmsgid: null });
    }
    conn.end();
  }

  listen(port: number, host: string): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as net.AddressInfo);
      });
    });
  }

  get connectionCount(): number {
    return this.#conns.size;
  }

  /** bytes waiting in every connection's socket buffer */
  get queuedBytes(): number {
    let n = 0;
    for (const c of this.#conns) n += c.queuedBytes;
    return n;
  }

  #accept(socket: net.Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const opts = this.hub.opts;
    const conn = new Connection(this.#nextId++, socket, this.log, {
      stats: this.hub.stats,
      maxFrame: opts.maxFrame,
      maxOutBytes: opts.maxOutBytes,
      drainTimeoutMs: opts.drainTimeoutMs,
    });
    socket.on('error', (err) => conn.log.debug({ err }, 'socket error'));
    if (this.#conns.size >= opts.maxConnections) {
      this.#refuseFull(conn, socket);
      return;
    }
    this.#conns.add(conn);
    conn.log.info('connected');
    const bucket = new TokenBucket(opts.frameRate, opts.frameBurst);
    // frames of one connection are handled one after another, in arrival order
    let serial: Promise<void> = Promise.resolve();
    const onFrame = (text: string) => {
      conn.lastFrameAt = performance.now();
      if (!conn.v2) bucket.takeOnCredit();
      else if (!bucket.take()) {
        // dropped, and said so in its turn (after the replies to the frames before it)
        const err = new ChatError('RATE_LIMITED', `at most ${opts.frameRate} frames/s`);
        serial = serial.then(() => rejectFrame(conn, text, err));
        return;
      }
      serial = serial.then(() => dispatch(this.hub, conn, text));
    };
    socket.on('data', (chunk: Buffer) => {
      if (conn.closed) return;
      if (!conn.feed(chunk, onFrame)) {
        conn.log.warn({ max: opts.maxFrame }, 'frame over the size limit; closing the connection');
        serial = serial.then(() => this.#refuse(conn, 'FRAME_TOO_LARGE', `limit ${opts.maxFrame} bytes`));
        return;
      }
      // a legacy client cannot read an error reply: over its rate it is slowed down instead
      if (!conn.v2 && bucket.waitMs() > 0) conn.pauseFor(bucket.waitMs());
    });
    socket.on('close', () => {
      this.#conns.delete(conn);
      conn.destroy();
      const s = conn.session;
      if (s) void serial.then(() => this.hub.closeSession(s));
      conn.log.info({ user: s?.userId }, 'disconnected');
    });
  }

  /**
   * Stops accepting, lets queued frames and the write batch finish, tells v2 clients to
   * reconnect elsewhere, ends this process's sessions and closes the sockets.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#idleSweep);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.hub.shutdown();
    for (const conn of this.#conns) {
      if (conn.v2) {
        const e = Errors.SHUTTING_DOWN;
        conn.send({ msgid: MsgId.NOTICE_MSG, v: 2, notice: 'shutdown', errno: e.errno, errmsg: e.errmsg });
      }
      conn.end();
    }
    const grace = setTimeout(() => {
      for (const conn of this.#conns) conn.destroy();
    }, 2000);
    grace.unref();
    await closed;
    clearTimeout(grace);
  }
}
