/**
 * The client's transport: one TCP (or TLS) connection speaking NDJSON, with the same framing
 * rules as the server (newline-terminated frames, UTF-8 split across chunks survives). With
 * `legacy` it frames as the original C++ client and server do: each frame sent as JSON plus a
 * NUL, replies taken as JSON objects back to back with no delimiter.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { FrameDecoder, JsonObjectSplitter } from '../protocol/frame.js';
import type { Wire, WireFrame } from './wire.js';

export type { WireFrame };

export interface Endpoint {
  host: string;
  port: number;
  /** TLS: CA to trust (PEM), or true to use the system's */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean } | undefined;
}

/** the largest frame a client accepts from the server (a login reply can be big) */
const MAX_INCOMING = 64 * 1024 * 1024;

export class WireConnection extends EventEmitter<{ frame: [WireFrame]; close: [Error | null] }> implements Wire {
  readonly #socket: net.Socket;
  readonly #decoder: FrameDecoder | JsonObjectSplitter;
  readonly #terminator: string;
  #closed = false;

  private constructor(socket: net.Socket, legacy: boolean) {
    super();
    this.#socket = socket;
    this.#decoder = legacy ? new JsonObjectSplitter(MAX_INCOMING) : new FrameDecoder(MAX_INCOMING);
    this.#terminator = legacy ? '\0' : '\n';
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => {
      const ok = this.#decoder.push(chunk, (text) => {
        let f: unknown;
        try {
          f = JSON.parse(text);
        } catch {
          return;
        }
        if (typeof f === 'object' && f !== null && !Array.isArray(f)) this.emit('frame', f as WireFrame);
      });
      if (!ok) socket.destroy(new Error('frame from the server over the limit'));
    });
    let error: Error | null = null;
    socket.on('error', (err) => (error = err));
    socket.on('close', () => {
      this.#closed = true;
      this.emit('close', error);
    });
  }

  /** `legacy`: the original's framing (see the top of this file) */
  static open(ep: Endpoint, timeoutMs = 5000, legacy = false): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const socket = ep.tls
        ? tls.connect({ host: ep.host, port: ep.port, servername: net.isIP(ep.host) ? undefined : ep.host, ...ep.tls })
        : net.connect({ host: ep.host, port: ep.port });
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${ep.host}:${ep.port} timed out`)), timeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', fail);
      socket.once(ep.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        resolve(new WireConnection(socket, legacy));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(frame: WireFrame): void {
    if (!this.#closed) this.#socket.write(JSON.stringify(frame) + this.#terminator);
  }

  close(): void {
    this.#socket.destroy();
  }
}
