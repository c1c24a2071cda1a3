/**
 * The load generator's connection: raw NDJSON over TCP with no client-side reordering or
 * de-duplication (the point is to see exactly what the server sends). Outgoing frames queued
 * during one tick go out in one write. Replies are matched by waiters; everything else goes to
 * `onPush`, which the running scenario sets.
 */
import net from 'node:net';
import { FrameDecoder } from '../lib/protocol/frame.js';

export type Frame = Record<string, unknown>;

const MAX_INCOMING = 256 * 1024 * 1024;

interface Waiter {
  pred: (f: Frame) => boolean;
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class BenchConn {
  readonly socket: net.Socket;
  /** what the user logged in as */
  userId = 0;
  v2 = false;
  closed = false;
  /** frames no waiter took */
  onPush: (f: Frame) => void = () => undefined;
  /** frames that did not parse */
  junk = 0;
  readonly #decoder = new FrameDecoder(MAX_INCOMING);
  #waiters: Waiter[] = [];
  #out: string[] = [];
  #scheduled = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#decoder.push(chunk, this.#onText);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.#waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error('connection closed'));
      }
    });
  }

  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<BenchConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) }, () => {
        s.off('error', reject);
        resolve(new BenchConn(s));
      });
      s.once('error', reject);
    });
  }

  readonly #onText = (text: string): void => {
    let f: Frame;
    try {
      f = JSON.parse(text) as Frame;
    } catch {
      this.junk++;
      return;
    }
    if (this.#waiters.length > 0) {
      for (let i = 0; i < this.#waiters.length; i++) {
        const w = this.#waiters[i]!;
        if (w.pred(f)) {
          this.#waiters.splice(i, 1);
          clearTimeout(w.timer);
          w.resolve(f);
          return;
        }
      }
    }
    this.onPush(f);
  };

  /** queues a frame; the tick's frames go out in one write */
  send(f: Frame | string): void {
    if (this.closed) return;
    this.#out.push(typeof f === 'string' ? f : JSON.stringify(f));
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.closed || this.#out.length === 0) return;
    const data = this.#out.join('\n') + '\n';
    this.#out = [];
    this.socket.write(data);
  };

  /** the next frame matching `pred` (registered before `frame` is sent) */
  request(frame: Frame | null, pred: (f: Frame) => boolean, ms = 30_000): Promise<Frame> {
    const p = new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no reply within ${ms} ms to ${JSON.stringify(frame)}`));
      }, ms);
      this.#waiters.push({ pred, resolve, reject, timer });
    });
    if (frame) this.send(frame);
    return p;
  }

  /** LOGIN; resolves the reply (throws unless errno 0); a v2 "busy" (131) is retried after its retryAfterMs */
  async login(id: number, password: string, v2: boolean, ms = 120_000): Promise<Frame> {
    const frame: Frame = v2 ? { msgid: 1, v: 2, id, password, cmid: `login-${id}` } : { msgid: 1, id, password };
    let r = await this.request(frame, (f) => f.msgid === 2, ms);
    while (r.errno === 131 && typeof r.retryAfterMs === 'number') {
      await new Promise((resolve) => setTimeout(resolve, r.retryAfterMs as number));
      r = await this.request(frame, (f) => f.msgid === 2, ms);
    }
    if (r.errno !== 0) throw new Error(`login ${id}: ${JSON.stringify(r)}`);
    this.userId = id;
    this.v2 = v2;
    return r;
  }

  /** REG; resolves the new id */
  async register(name: string, password: string, v2 = false): Promise<number> {
    const r = await this.request({ msgid: 4, name, password, ...(v2 ? { v: 2, cmid: `reg-${name}` } : {}) }, (f) => f.msgid === 5, 120_000);
    if (r.errno !== 0) throw new Error(`register ${name}: ${JSON.stringify(r)}`);
    return r.id as number;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** connects `n` sockets, `parallel` at a time */
export async function connectMany(
  n: number,
  target: (i: number) => { host: string; port: number; localAddress?: string },
  parallel = 200,
): Promise<BenchConn[]> {
  const out: BenchConn[] = new Array<BenchConn>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t = target(i);
      out[i] = await BenchConn.connect(t.port, t.host, t.localAddress);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return out;
}

/** runs `fn` over items, `parallel` at a time */
export async function forEachLimit<T>(items: T[], parallel: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}
