/**
 * The TCP server: accepts connections, frames their input, runs each connection's frames in
 * order through the dispatcher, and shuts down gracefully.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { Errors } from '../errors.js';
import { dispatch } from '../handlers/index.js';
import { MsgId } from '../protocol/msgid.js';
import { Connection } from './connection.js';
import type { Hub } from './hub.js';

export class ChatServer {
  readonly hub: Hub;
  readonly log: Logger;
  readonly #server: net.Server;
  readonly #conns = new Set<Connection>();
  #nextId = 1;
  #closing = false;

  constructor(hub: Hub) {
    this.hub = hub;
    this.log = hub.log;
    this.#server = net.createServer((socket) => this.#accept(socket));
    this.#server.on('error', (err) => this.log.error({ err }, 'server error'));
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

  #accept(socket: net.Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const opts = this.hub.opts;
    const conn = new Connection(this.#nextId++, socket, this.log, {
      maxFrame: opts.maxFrame,
      maxOutBytes: opts.maxOutBytes,
      drainTimeoutMs: opts.drainTimeoutMs,
    });
    this.#conns.add(conn);
    conn.log.debug('connected');
    // frames of one connection are handled one after another, in arrival order
    let serial: Promise<void> = Promise.resolve();
    const onFrame = (text: string) => {
      serial = serial.then(() => dispatch(this.hub, conn, text));
    };
    socket.on('data', (chunk: Buffer) => {
      if (conn.closed) return;
      if (!conn.feed(chunk, onFrame)) {
        conn.log.warn({ max: opts.maxFrame }, 'frame over the size limit; closing the connection');
        if (conn.v2) {
          const e = Errors.FRAME_TOO_LARGE;
          conn.send({ msgid: MsgId.ERROR_MSG, v: 2, errno: e.errno, errmsg: `${e.errmsg} (limit ${opts.maxFrame} bytes)`, reqmsgid: null });
        }
        serial = serial.then(() => conn.end());
      }
    });
    socket.on('error', (err) => conn.log.debug({ err }, 'socket error'));
    socket.on('close', () => {
      this.#conns.delete(conn);
      conn.destroy();
      const s = conn.session;
      if (s) void serial.then(() => this.hub.closeSession(s));
      conn.log.debug('disconnected');
    });
  }

  /**
   * Stops accepting, lets queued frames and the write batch finish, tells v2 clients to
   * reconnect elsewhere, ends this process's sessions and closes the sockets.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
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
