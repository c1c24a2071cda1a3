/**
 * What a Connection needs from the wire under it: write a batch of frames (and learn when they
 * reached the kernel, or that the buffer is full until 'drain'), pause and resume reading, the
 * peer's address, end and destroy. TCP (and TLS) is one; a WebSocket (lib/server/ws.ts) another.
 */
import type { Socket } from 'node:net';

export type TransportKind = 'tcp' | 'ws';

export interface Transport {
  readonly kind: TransportKind;
  /** the peer's IP address and port */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** bytes written but not yet taken by the kernel */
  readonly writableLength: number;
  readonly destroyed: boolean;
  /**
   * writes frames (JSON texts) in order; `cb` runs once all of them reached the kernel (node also
   * calls it when the socket was destroyed meanwhile: check `destroyed`). False: the buffer is
   * full, wait for `onceDrain`.
   */
  writeFrames(frames: string[], cb: ((err?: Error | null) => void) | undefined): boolean;
  onceDrain(fn: () => void): void;
  pause(): void;
  resume(): void;
  /** writes what is buffered, then closes */
  end(): void;
  destroy(): void;
}

/** the TCP socket under a transport: the peer's address, the write buffer and 'drain' */
export abstract class SocketTransport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly #raw: Socket;

  constructor(socket: Socket) {
    this.#raw = socket;
    this.remoteAddress = socket.remoteAddress ?? '?';
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
  }

  get writableLength(): number {
    return this.#raw.writableLength;
  }

  onceDrain(fn: () => void): void {
    this.#raw.once('drain', fn);
  }
}

/** newline-delimited JSON on a TCP or TLS socket: a batch is one write */
export class TcpTransport extends SocketTransport implements Transport {
  readonly kind = 'tcp';
  readonly #socket: Socket;

  constructor(socket: Socket) {
    super(socket);
    this.#socket = socket;
  }

  get destroyed(): boolean {
    return this.#socket.destroyed;
  }

  writeFrames(frames: string[], cb: ((err?: Error | null) => void) | undefined): boolean {
    return this.#socket.write(frames.join('\n') + '\n', cb);
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }
}
