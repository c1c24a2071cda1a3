/**
 * The load generator's connection: raw NDJSON over TCP (or one frame per message over a
 * WebSocket, --ws-port) with no client-side reordering or de-duplication (the point is to see
 * exactly what the server sends). Outgoing frames queued during one tick go out in one write.
 * Replies are matched by waiters; everything else goes to `onPush`, which the running scenario
 * sets.
 */
import net from 'node:net';
import { WebSocket } from 'ws';
import { FrameDecoder } from '../lib/protocol/frame.js';
import { Errors } from '../lib/errors.js';

export type Frame = Record<string, unknown>;

const MAX_INCOMING = 256 * 1024 * 1024;

interface Waiter {
  pred: (f: Frame) => boolean;
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class BenchConn {
  /** what the user logged in as */
  userId = 0;
  v2 = false;
  closed = false;
  /** frames no waiter took */
  onPush: (f: Frame) => void = () => undefined;
  /** frames that did not parse */
  junk = 0;
  #waiters: Waiter[] = [];
  #out: string[] = [];
  #scheduled = false;
  /** writes one tick's frames */
  readonly #write: (frames: string[]) => void;
  readonly #destroy: () => void;

  private constructor(write: (frames: string[]) => void, destroy: () => void) {
    this.#write = write;
    this.#destroy = destroy;
  }

  readonly #onClose = (): void => {
    this.closed = true;
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error('connection closed'));
    }
  };

  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<BenchConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) }, () => {
        s.off('error', reject);
        const c = new BenchConn(
          (frames) => s.write(frames.join('\n') + '\n'),
          () => s.destroy(),
        );
        const decoder = new FrameDecoder(MAX_INCOMING);
        s.setNoDelay(true);
        s.on('data', (chunk: Buffer) => decoder.push(chunk, c.#onText));
        s.on('error', () => undefined);
        s.on('close', c.#onClose);
        resolve(c);
      });
      s.once('error', reject);
    });
  }

  /** a WebSocket to a server's --ws-port */
  static connectWs(port: number, host = '127.0.0.1'): Promise<BenchConn> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${host}:${port}/ws`, { perMessageDeflate: false, maxPayload: MAX_INCOMING });
      ws.once('error', reject);
      ws.once('open', () => {
        ws.off('error', reject);
        const c = new BenchConn(
          (frames) => {
            for (const f of frames) ws.send(f);
          },
          () => ws.terminate(),
        );
        ws.on('message', (data: Buffer) => c.#onText(data.toString('utf8')));
        ws.on('error', () => undefined);
        ws.on('close', c.#onClose);
        resolve(c);
      });
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
    const frames = this.#out;
    this.#out = [];
    this.#write(frames);
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

  /** LOGIN; resolves the reply (throws unless errno 0); a v2 "busy" (132) is retried after its retryAfterMs */
  async login(id: number, password: string, v2: boolean, ms = 120_000): Promise<Frame> {
    const frame: Frame = v2 ? { msgid: 1, v: 2, id, password, cmid: `login-${id}` } : { msgid: 1, id, password };
    let r = await this.request(frame, (f) => f.msgid === 2, ms);
    while (r.errno === Errors.BUSY.errno && typeof r.retryAfterMs === 'number') {
      await new Promise((resolve) => setTimeout(resolve, r.retryAfterMs as number));
      r = await this.request(frame, (f) => f.msgid === 2, ms);
    }
    if (r.errno !== 0) throw new Error(`login ${id}: ${JSON.stringify(r)}`);
    this.userId = id;
    this.v2 = v2;
    return r;
  }

  /** a v2 LOGIN with a session token instead of the password; resolves the reply (throws unless errno 0) */
  async resume(id: number, token: string, ms = 120_000): Promise<Frame> {
    const r = await this.request({ msgid: 1, v: 2, id, token, cmid: `resume-${id}` }, (f) => f.msgid === 2, ms);
    if (r.errno !== 0) throw new Error(`resume ${id}: ${JSON.stringify(r)}`);
    this.userId = id;
    this.v2 = true;
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
    this.#destroy();
  }
}

/**
 * LOGIN, retried while refused as "in use" (a previous session of the user still closing) or
 * "server busy" (a legacy refusal while too many password checks wait: no retryAfterMs)
 */
export async function loginRetrying(c: BenchConn, id: number, password: string, v2: boolean): Promise<Frame> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await c.login(id, password, v2);
    } catch (err) {
      if (attempt < 50 && /"errno":2|server busy/.test(String(err))) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      throw err;
    }
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
