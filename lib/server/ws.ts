/**
 * The WebSocket transport: one JSON frame per WebSocket message, v2 only. The raw TCP socket
 * under the WebSocket gives the write buffer and 'drain', as on a TCP connection.
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { SocketTransport, type Transport } from './transport.js';

export class WsTransport extends SocketTransport implements Transport {
  readonly kind = 'ws';
  readonly #ws: WebSocket;
  readonly #socket: Socket;

  constructor(ws: WebSocket, socket: Socket) {
    super(socket);
    this.#ws = ws;
    this.#socket = socket;
  }

  get destroyed(): boolean {
    return this.#socket.destroyed || this.#ws.readyState === WebSocket.CLOSED;
  }

  /** one message per frame, corked: the batch leaves in one write, as on TCP */
  writeFrames(frames: string[], cb: ((err?: Error | null) => void) | undefined): boolean {
    const last = frames.length - 1;
    this.#socket.cork();
    for (let i = 0; i < last; i++) this.#ws.send(frames[i]!);
    this.#ws.send(frames[last]!, cb);
    this.#socket.uncork();
    return !this.#socket.writableNeedDrain;
  }

  pause(): void {
    this.#ws.pause();
  }

  resume(): void {
    this.#ws.resume();
  }

  /** a normal close (1000) once what is queued is sent */
  end(): void {
    this.#ws.close(1000);
  }

  destroy(): void {
    this.#ws.terminate();
  }
}
