/**
 * What the client library needs from a connection to the server, whatever carries it: TCP or
 * TLS in Node (connection.ts), a WebSocket in a browser (ws-wire.ts).
 */
export type WireFrame = Record<string, unknown>;

export interface Wire {
  readonly closed: boolean;
  send(frame: WireFrame): void;
  close(): void;
  on(event: 'frame', fn: (frame: WireFrame) => void): unknown;
  on(event: 'close', fn: (err: Error | null) => void): unknown;
}

/** `setImmediate` where there is one (Node), else the next macrotask */
export const soon: (fn: () => void) => void = typeof setImmediate === 'function' ? (fn) => setImmediate(fn) : (fn) => setTimeout(fn, 0);

/** a timer that does not keep Node running (browsers have no such thing) */
export function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** a random id of 12 URL-safe characters (9 random bytes) */
export function randomId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(9));
  return btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_');
}

const encoder = new TextEncoder();

export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
