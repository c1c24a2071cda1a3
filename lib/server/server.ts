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
import type { Hub } from '../core/hub.js';
import { TokenBucket } from './limits.js';

/** how often v2 connections are checked for idleness */
const IDLE_SWEEP_MS = 1000;

export class ChatServer {
  readonly hub: Hub;
  readonly log: Logger;
  readonly #server: net.Server | tls.Server;
  readonly #conns = new Set<Connection>();
  /** raw TCP sockets open, by address, TLS handshakes included: what the connection caps count */
  readonly #perAddress = new Map<string, number>();
  #open = 0;
  /** `address:port` -> stop counting that socket (it is being refused) */
  readonly #release = new Map<string, () => void>();
  #nextId = 1;
  #closing = false;
  readonly #idleSweep: NodeJS.Timeout;

  constructor(hub: Hub) {
    this.hub = hub;
    this.log = hub.log;
    const { tlsCert, tlsKey } = hub.opts;
    const tlsOn = Boolean(tlsCert && tlsKey);
    this.#server =
      tlsCert && tlsKey
        ? tls.createServer(
            { cert: readFileSync(tlsCert), key: readFileSync(tlsKey), handshakeTimeout: hub.opts.tlsHandshakeTimeoutMs },
            (socket) => this.#accept(socket),
          )
        : net.createServer((socket) => this.#accept(socket));
    // before the accept handler: every socket is counted from its first moment
    this.#server.prependListener('connection', (raw: net.Socket) => this.#count(raw, tlsOn));
    this.#server.on('error', (err) => this.log.error({ err }, 'server error'));
    if (tlsCert) {
      // a failed or timed-out handshake (--tls-handshake-timeout) is not closed by node itself
      this.#server.on('tlsClientError', (err, socket) => {
        this.log.debug({ err }, 'TLS handshake failed');
        socket.destroy();
      });
    }
    this.#idleSweep = setInterval(() => this.#sweep(), IDLE_SWEEP_MS);
    this.#idleSweep.unref();
  }

  /**
   * v2 clients ping; one that has sent nothing for the idle timeout is gone (a vanished phone).
   * A connection of either flavour that holds no session for the login timeout is closed: a
   * silent socket must not keep its slot. Logged-in legacy clients cannot ping and are left to
   * TCP keep-alive.
   */
  #sweep(): void {
    const now = performance.now();
    const idleLimit = now - this.hub.opts.idleTimeoutMs;
    const loginLimit = now - this.hub.opts.loginTimeoutMs;
    for (const conn of this.#conns) {
      if (conn.session || conn.busy) conn.noSessionSince = now;
      if (conn.v2 && conn.lastFrameAt < idleLimit) {
        conn.log.info('v2 connection idle past the timeout; closing');
        this.#refuse(conn, 'IDLE_TIMEOUT');
      } else if (conn.noSessionSince < loginLimit) {
        conn.log.info('connection not logged in within the login timeout; closing');
        this.#refuse(conn, 'LOGIN_TIMEOUT');
      }
    }
  }

  #count(raw: net.Socket, tlsOn: boolean): void {
    const addr = raw.remoteAddress ?? '?';
    const key = `${addr}:${raw.remotePort ?? 0}`;
    this.#open++;
    this.#perAddress.set(addr, (this.#perAddress.get(addr) ?? 0) + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      this.#open--;
      const n = (this.#perAddress.get(addr) ?? 1) - 1;
      if (n === 0) this.#perAddress.delete(addr);
      else this.#perAddress.set(addr, n);
      this.#release.delete(key);
    };
    this.#release.set(key, release);
    raw.once('close', release);
    // a TLS handshake cannot be answered in the protocol: over a cap, it is dropped at once
    if (tlsOn && (this.#open > this.hub.opts.maxConnections || this.#perAddress.get(addr)! > this.hub.opts.maxConnectionsPerAddress)) {
      this.log.warn({ remote: key }, 'connection cap reached during the TLS handshake; dropping');
      raw.destroy();
    }
  }

  /**
   * Over the connection limit. The flavour is not known before a frame comes, and a legacy
   * client gets nothing it does not know: wait briefly for the first frame, tell a v2 client
   * why, and close either way.
   */
  #refuseOverCap(conn: Connection, socket: net.Socket, code: 'SERVER_FULL' | 'TOO_MANY_CONNECTIONS'): void {
    this.#release.get(`${conn.address}:${socket.remotePort ?? 0}`)?.();
    conn.log.warn(
      code === 'SERVER_FULL' ? { max: this.hub.opts.maxConnections } : { maxPerAddress: this.hub.opts.maxConnectionsPerAddress },
      code === 'SERVER_FULL' ? 'connection limit reached; refusing' : 'connection limit of this address reached; refusing',
    );
    const timer = setTimeout(() => conn.destroy(), 2000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('data', (chunk: Buffer) => {
      conn.v2 = /"v"\s*:\s*2\b/.test(chunk.toString('utf8', 0, Math.min(chunk.length, 4096)));
      this.#refuse(conn, code);
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
      maxPendingFrames: opts.maxPendingFrames,
      maxPendingBytes: opts.maxPendingBytes,
    });
    socket.on('error', (err) => conn.log.debug({ err }, 'socket error'));
    if (this.#open > opts.maxConnections) {
      this.#refuseOverCap(conn, socket, 'SERVER_FULL');
      return;
    }
    if ((this.#perAddress.get(conn.address) ?? 0) > opts.maxConnectionsPerAddress) {
      this.#refuseOverCap(conn, socket, 'TOO_MANY_CONNECTIONS');
      return;
    }
    this.#conns.add(conn);
    conn.log.info('connected');
    const bucket = new TokenBucket(opts.frameRate, opts.frameBurst);
    // frames of one connection are handled one after another, in arrival order
    let serial: Promise<void> = Promise.resolve();
    const enqueue = (text: string, job: () => void | Promise<void>) => {
      conn.framePending(text.length);
      serial = serial.then(job).finally(() => conn.frameDone(text.length));
    };
    const onFrame = (text: string) => {
      conn.lastFrameAt = performance.now();
      if (!conn.v2) bucket.takeOnCredit();
      else if (!bucket.take()) {
        // dropped, and said so in its turn (after the replies to the frames before it)
        const err = new ChatError('RATE_LIMITED', `at most ${opts.frameRate} frames/s`);
        enqueue(text, () => rejectFrame(conn, text, err));
        return;
      }
      enqueue(text, () => dispatch(this.hub, conn, text));
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
