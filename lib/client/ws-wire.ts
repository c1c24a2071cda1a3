/**
 * The browser's wire: a WebSocket to the server's --ws-port, one JSON frame per message.
 */
import { Emitter } from './emitter.js';
import type { Wire, WireFrame } from './wire.js';

export class WebSocketWire extends Emitter<{ frame: [WireFrame]; close: [Error | null] }> implements Wire {
  readonly #ws: WebSocket;
  #closed = false;

  private constructor(ws: WebSocket) {
    super();
    this.#ws = ws;
    ws.addEventListener('message', (e: MessageEvent) => {
      if (typeof e.data !== 'string') return;
      let f: unknown;
      try {
        f = JSON.parse(e.data);
      } catch {
        return;
      }
      if (typeof f === 'object' && f !== null && !Array.isArray(f)) this.emit('frame', f as WireFrame);
    });
    ws.addEventListener('close', (e: CloseEvent) => {
      this.#closed = true;
      this.emit('close', e.code === 1000 ? null : new Error(`connection closed (${e.code}${e.reason ? ` ${e.reason}` : ''})`));
    });
  }

  /** opens `url` (ws:// or wss://); rejects when it cannot be opened within `timeoutMs` */
  static open(url: string, timeoutMs = 5000): Promise<WebSocketWire> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`connect to ${url} timed out`));
      }, timeoutMs);
      ws.addEventListener('open', () => {
        clearTimeout(timer);
        resolve(new WebSocketWire(ws));
      });
      ws.addEventListener('error', () => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${url}`));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(frame: WireFrame): void {
    if (!this.#closed) this.#ws.send(JSON.stringify(frame));
  }

  close(): void {
    this.#ws.close();
  }
}
