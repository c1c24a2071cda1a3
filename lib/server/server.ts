/**
 * The server: accepts TCP connections (and WebSocket ones with --ws-port), frames their input,
 * runs each connection's frames in order through the dispatcher, and shuts down gracefully.
 */
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { ChatError, Errors, type ErrorCode } from '../errors.js';
import { dispatch, rejectFrame } from '../handlers/index.js';
import { errorReply, notice } from '../protocol/frames.js';
import { Connection, type ConnectionOptions } from './connection.js';
import type { Hub } from '../core/hub.js';
import { TokenBucket } from './limits.js';
import { TcpTransport, type Transport, type TransportKind } from './transport.js';
import { createWebServer } from './web.js';
import { WsTransport } from './ws.js';

/** what the server does with an admitted connection's input */
interface Intake {
  readonly bucket: TokenBucket;
  /** a complete frame: handled in its turn */
  frame: (text: string) => void;
  /** runs after the frames before it */
  then: (job: () => void) => void;
  /** the transport closed */
  closed: () => void;
}

/** how often v2 connections are checked for idleness */
const IDLE_SWEEP_MS = 1000;

export class ChatServer {
  readonly hub: Hub;
  readonly log: Logger;
  readonly #server: net.Server | tls.Server;
  /** the WebSocket port (and the browser client's files), with --ws-port */
  readonly #web: http.Server | null;
  readonly #conns = new Set<Connection>();
  /** raw TCP sockets open, by address, TLS handshakes included: what the connection caps count */
  readonly #perAddress = new Map<string, number>();
  #open = 0;
  /** `address:port` -> stop counting that socket (it is being refused) */
  readonly #release = new Map<string, () => void>();
  #nextId = 1;
  #closing = false;
  readonly #idleSweep: NodeJS.Timeout;
  #connOpts: ConnectionOptions | null = null;

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
    this.#web = hub.opts.wsPort === null ? null : createWebServer(hub.opts, (ws, socket) => this.#acceptWebSocket(ws, socket));
    for (const server of this.#web ? [this.#server, this.#web] : [this.#server]) {
      // before the accept handler: every socket is counted from its first moment
      server.prependListener('connection', (raw: net.Socket) => this.#count(raw, tlsOn));
      server.on('error', (err) => this.log.error({ err }, 'server error'));
      if (tlsCert) {
        // a failed or timed-out handshake (--tls-handshake-timeout) is not closed by node itself
        server.on('tlsClientError', (err: Error, socket: net.Socket) => {
          this.log.debug({ err }, 'TLS handshake failed');
          socket.destroy();
        });
      }
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
    // `on`, not `once` (release runs once anyway): no once-wrapper per socket
    raw.on('close', release);
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
  #refuseOverCap(conn: Connection, socket: net.Socket, code: OverCap): void {
    this.#stopCounting(conn, code);
    const timer = setTimeout(() => conn.destroy(), 2000);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('data', (chunk: Buffer) => {
      conn.v2 = /"v"\s*:\s*2\b/.test(chunk.toString('utf8', 0, Math.min(chunk.length, 4096)));
      this.#refuse(conn, code);
    });
  }

  /** which cap a new connection is over, if any */
  #overCap(conn: Connection): OverCap | null {
    const opts = this.hub.opts;
    if (this.#open > opts.maxConnections) return 'SERVER_FULL';
    if ((this.#perAddress.get(conn.address) ?? 0) > opts.maxConnectionsPerAddress) return 'TOO_MANY_CONNECTIONS';
    return null;
  }

  /** a connection being refused no longer counts against the caps */
  #stopCounting(conn: Connection, code: OverCap): void {
    this.#release.get(conn.remote)?.();
    conn.log.warn(
      code === 'SERVER_FULL' ? { max: this.hub.opts.maxConnections } : { maxPerAddress: this.hub.opts.maxConnectionsPerAddress },
      code === 'SERVER_FULL' ? 'connection limit reached; refusing' : 'connection limit of this address reached; refusing',
    );
  }

  /** tells a v2 client why, then closes */
  #refuse(conn: Connection, code: ErrorCode, detail?: string): void {
    if (conn.v2) {
      const e = Errors[code];
      conn.send(errorReply(e.errno, detail ? `${e.errmsg} (${detail})` : e.errmsg, null));
    }
    conn.end();
  }

  listen(port: number, host: string): Promise<net.AddressInfo> {
    return listenOn(this.#server, port, host);
  }

  /** starts the WebSocket port (--ws-port); null when it is off */
  async listenWeb(port: number, host: string): Promise<net.AddressInfo | null> {
    return this.#web ? listenOn(this.#web, port, host) : null;
  }

  get connectionCount(): number {
    return this.#conns.size;
  }

  /** open connections of one transport */
  connectionsOf(kind: TransportKind): number {
    let n = 0;
    for (const c of this.#conns) if (c.transport === kind) n++;
    return n;
  }

  /** bytes waiting in every connection's socket buffer */
  get queuedBytes(): number {
    let n = 0;
    for (const c of this.#conns) n += c.queuedBytes;
    return n;
  }

  #connection(transport: Transport): Connection {
    const opts = this.hub.opts;
    // one options object for every connection
    this.#connOpts ??= {
      stats: this.hub.stats,
      maxFrame: opts.maxFrame,
      maxOutBytes: opts.maxOutBytes,
      drainTimeoutMs: opts.drainTimeoutMs,
      maxPendingFrames: opts.maxPendingFrames,
      maxPendingBytes: opts.maxPendingBytes,
    };
    return new Connection(this.#nextId++, transport, this.log, this.#connOpts);
  }

  #accept(socket: net.Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const opts = this.hub.opts;
    const conn = this.#connection(new TcpTransport(socket));
    socket.on('error', (err) => conn.log.debug({ err }, 'socket error'));
    const cap = this.#overCap(conn);
    if (cap) {
      this.#refuseOverCap(conn, socket, cap);
      return;
    }
    const intake = this.#admit(conn);
    socket.on('data', (chunk: Buffer) => {
      if (conn.closed) return;
      if (!conn.feed(chunk, intake.frame)) {
        conn.log.warn({ max: opts.maxFrame }, 'frame over the size limit; closing the connection');
        intake.then(() => this.#refuse(conn, 'FRAME_TOO_LARGE', `limit ${opts.maxFrame} bytes`));
        return;
      }
      // a legacy client cannot read an error reply: over its rate it is slowed down instead
      if (!conn.v2 && intake.bucket.waitMs() > 0) conn.pauseFor(intake.bucket.waitMs());
    });
    socket.on('close', intake.closed);
  }

  /** a WebSocket on the --ws-port: one frame per message, v2 from the start */
  #acceptWebSocket(ws: WebSocket, socket: net.Socket): void {
    if (this.#closing) {
      ws.terminate();
      return;
    }
    const conn = this.#connection(new WsTransport(ws, socket));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') conn.log.warn({ max: this.hub.opts.maxFrame }, 'frame over the size limit; closing the connection');
      else conn.log.debug({ err }, 'websocket error');
    });
    const cap = this.#overCap(conn);
    if (cap) {
      this.#stopCounting(conn, cap);
      this.#refuse(conn, cap);
      return;
    }
    const intake = this.#admit(conn);
    ws.on('message', (data: RawData) => {
      if (conn.closed) return;
      const text = messageText(data);
      // blank frames are ignored, as on TCP
      if (text.charCodeAt(0) <= 0x20 && text.trim() === '') return;
      intake.frame(text);
    });
    ws.on('close', intake.closed);
  }

  /** a connection within the caps: its frames go through the dispatcher one after another */
  #admit(conn: Connection): Intake {
    const opts = this.hub.opts;
    this.#conns.add(conn);
    // debug: every later line of the connection names its address, one that never logs in is
    // logged when the login timeout closes it, and a line is a synchronous write (lib/log.ts)
    conn.note({}, 'connected', 'debug');
    const bucket = new TokenBucket(opts.frameRate, opts.frameBurst);
    // frames of one connection are handled one after another, in arrival order
    let serial: Promise<void> = Promise.resolve();
    const enqueue = (text: string, job: () => void | Promise<void>) => {
      conn.framePending(text.length);
      serial = serial.then(job).finally(() => conn.frameDone(text.length));
    };
    return {
      bucket,
      frame: (text: string) => {
        conn.lastFrameAt = performance.now();
        if (!conn.v2) bucket.takeOnCredit();
        else if (!bucket.take()) {
          // dropped, and said so in its turn (after the replies to the frames before it)
          const err = new ChatError('RATE_LIMITED', `at most ${opts.frameRate} frames/s`);
          enqueue(text, () => rejectFrame(conn, text, err));
          return;
        }
        enqueue(text, () => dispatch(this.hub, conn, text));
      },
      then: (job) => {
        serial = serial.then(job);
      },
      closed: () => {
        this.#conns.delete(conn);
        conn.destroy();
        const s = conn.session;
        if (s) void serial.then(() => this.hub.closeSession(s));
        conn.note({ user: s?.userId }, 'disconnected');
      },
    };
  }

  /**
   * Stops accepting, lets queued frames and the write batch finish, tells v2 clients to
   * reconnect elsewhere, ends this process's sessions and closes the sockets.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#idleSweep);
    const web = this.#web;
    const closed = Promise.all([
      new Promise<void>((resolve) => this.#server.close(() => resolve())),
      ...(web?.listening ? [new Promise<void>((resolve) => web.close(() => resolve()))] : []),
    ]);
    web?.closeIdleConnections();
    await this.hub.shutdown();
    for (const conn of this.#conns) {
      if (conn.v2) {
        const e = Errors.SHUTTING_DOWN;
        conn.send(notice('shutdown', e.errno, e.errmsg));
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

type OverCap = 'SERVER_FULL' | 'TOO_MANY_CONNECTIONS';

function listenOn(server: net.Server, port: number, host: string): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

/** a WebSocket message's text (a binary message's bytes are read as UTF-8 too) */
function messageText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}
