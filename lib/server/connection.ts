/**
 * One client connection (TCP or WebSocket, lib/server/transport.ts): framing in, one write path
 * out (the aedes `write` pattern). Frames queued during a tick go out in one transport write,
 * except on a legacy connection that has not shown it reads line by line (a frame of its own
 * ended by `\n`): the original console client ends its frames with NUL, parses each read as one
 * JSON object and aborts on two, so there every frame is its own write, as the original server
 * writes them. A connection that stays unwritable past the drain timeout, or queues more than
 * the byte cap, is cut off (its messages stay in the log).
 */
import type { Logger } from 'pino';
import { FrameDecoder } from '../protocol/frame.js';
import type { Link } from '../core/link.js';
import type { Session } from '../core/session.js';
import type { Stats } from '../core/stats.js';
import type { Transport, TransportKind } from './transport.js';

export interface ConnectionOptions {
  stats: Stats;
  maxFrame: number;
  maxOutBytes: number;
  drainTimeoutMs: number;
  /** frames read but not handled yet, at most; past it (or the bytes) the socket is not read */
  maxPendingFrames: number;
  maxPendingBytes: number;
}

export class Connection implements Link {
  readonly id: number;
  readonly remote: string;
  /** the peer's IP address */
  readonly address: string;
  /** when the last frame came in (ms, performance.now()) */
  lastFrameAt = performance.now();
  /** since when the connection has had no session (ms, performance.now(); kept fresh while it has one) */
  noSessionSince = performance.now();
  /** the connection speaks v2 from its first frame carrying "v":2 on (a WebSocket from the start) */
  v2: boolean;
  /** a WebSocket: only v2 frames are handled (errno 131 otherwise) */
  readonly v2only: boolean;
  readonly transport: TransportKind;
  session: Session | null = null;
  /** a LOGIN or REG is being processed: later frames wait for its outcome */
  busy: Promise<void> | null = null;

  readonly #baseLog: Logger;
  /** made on first use: most connections only ever write the lines of `note` */
  #log: Logger | null = null;
  readonly #wire: Transport;
  readonly #decoder: FrameDecoder;
  readonly #opts: ConnectionOptions;
  #out: string[] = [];
  #outCallbacks: Array<() => void> = [];
  #flushScheduled = false;
  #drainTimer: NodeJS.Timeout | null = null;
  #closed = false;
  #holds = 0;
  #rateHeld = false;
  #backlogHeld = false;
  #pendingFrames = 0;
  #pendingBytes = 0;
  /**
   * a legacy connection that ends its frames with `\n` reads line by line (netcat, scripts,
   * bin/chatclient): its frames may be batched. The original client ends every frame with NUL.
   */
  #readsLines = false;

  constructor(id: number, socket: Transport, log: Logger, opts: ConnectionOptions) {
    this.id = id;
    this.#wire = socket;
    this.#opts = opts;
    this.#decoder = new FrameDecoder(opts.maxFrame);
    this.transport = socket.kind;
    this.v2only = this.v2 = socket.kind === 'ws';
    this.address = socket.remoteAddress;
    this.remote = `${this.address}:${socket.remotePort}`;
    this.#baseLog = log;
  }

  /** a logger with this connection's fields */
  get log(): Logger {
    return (this.#log ??= this.#baseLog.child(this.#fields()));
  }

  /** an info line with this connection's fields, without keeping a child logger for it */
  note(fields: object, msg: string, level: 'info' | 'debug' = 'info'): void {
    if (this.#log) this.#log[level](fields, msg);
    else if (this.#baseLog.isLevelEnabled(level)) this.#baseLog[level]({ ...this.#fields(), ...fields }, msg);
  }

  #fields(): Record<string, unknown> {
    return { conn: this.id, remote: this.remote, ...(this.v2only ? { transport: this.transport } : {}) };
  }

  get closed(): boolean {
    return this.#closed || this.#wire.destroyed;
  }

  /** feeds bytes to the decoder; false when a frame was over the limit */
  feed(chunk: Buffer, onFrame: (frame: string) => void): boolean {
    if (this.#readsLines || this.v2) return this.#decoder.push(chunk, onFrame);
    return this.#decoder.push(chunk, (frame, lf) => {
      if (lf) this.#readsLines = true;
      onFrame(frame);
    });
  }

  /** several frames may go out in one write (see the class comment) */
  get batches(): boolean {
    return this.v2 || this.#readsLines;
  }

  /** queues one frame; `onWritten` runs once the bytes were handed to the kernel */
  send(frame: object, onWritten?: () => void): void {
    if (this.closed) return;
    this.#opts.stats.countOut(frame);
    this.#queue(JSON.stringify(frame), onWritten);
  }

  /** queues a pushed event already serialised (once, for every session that gets it) */
  sendLine(json: string, msgid: number, onWritten?: () => void): void {
    if (this.closed) return;
    this.#opts.stats.countPush(msgid);
    this.#queue(json, onWritten);
  }

  #queue(json: string, onWritten: (() => void) | undefined): void {
    this.#out.push(json);
    if (onWritten) this.#outCallbacks.push(onWritten);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    if (this.closed || this.#out.length === 0) return;
    const frames = this.#out;
    const callbacks = this.#outCallbacks;
    this.#out = [];
    this.#outCallbacks = [];
    let batch = frames;
    if (!this.batches && frames.length > 1) {
      // one write per frame; the callbacks ride on the last (writes complete in order)
      for (let i = 0; i < frames.length - 1; i++) this.#wire.writeFrames([frames[i]!], undefined);
      batch = [frames[frames.length - 1]!];
    }
    const ok = this.#wire.writeFrames(
      batch,
      callbacks.length === 0
        ? undefined
        : (err) => {
            // node also calls back without an error when the socket was destroyed meanwhile:
            // those bytes never left, and a legacy push must not count as delivered
            if (!err && !this.#wire.destroyed) for (const cb of callbacks) cb();
          },
    );
    if (this.#wire.writableLength > this.#opts.maxOutBytes) {
      this.log.warn({ queued: this.#wire.writableLength }, 'slow reader: outgoing queue over the limit, disconnecting');
      this.destroy();
      return;
    }
    if (!ok && !this.#drainTimer) {
      this.#drainTimer = setTimeout(() => {
        this.log.warn('slow reader: no drain within the timeout, disconnecting');
        this.destroy();
      }, this.#opts.drainTimeoutMs);
      this.#drainTimer.unref();
      this.#wire.onceDrain(() => {
        if (this.#drainTimer) clearTimeout(this.#drainTimer);
        this.#drainTimer = null;
      });
    }
  };

  /** stops reading for a while (a legacy client over its frame rate: it just slows down) */
  pauseFor(ms: number): void {
    if (this.closed || this.#rateHeld) return;
    this.#rateHeld = true;
    this.#hold();
    setTimeout(() => {
      this.#rateHeld = false;
      this.#unhold();
    }, ms).unref();
  }

  /**
   * A frame was read and waits its turn. While too many frames (or bytes) wait, the socket is
   * not read: what one connection can make the process hold is bounded, whatever it sends.
   */
  framePending(bytes: number): void {
    this.#pendingFrames++;
    this.#pendingBytes += bytes;
    if (!this.#backlogHeld && (this.#pendingFrames >= this.#opts.maxPendingFrames || this.#pendingBytes >= this.#opts.maxPendingBytes)) {
      this.#backlogHeld = true;
      this.#hold();
    }
  }

  /** a frame that waited was handled; reading resumes once half the backlog is gone */
  frameDone(bytes: number): void {
    this.#pendingFrames--;
    this.#pendingBytes -= bytes;
    if (this.#backlogHeld && this.#pendingFrames <= this.#opts.maxPendingFrames / 2 && this.#pendingBytes <= this.#opts.maxPendingBytes / 2) {
      this.#backlogHeld = false;
      this.#unhold();
    }
  }

  /** reading pauses while anything holds it (the frame rate, the backlog) */
  #hold(): void {
    if (this.#holds++ === 0 && !this.closed) this.#wire.pause();
  }

  #unhold(): void {
    if (--this.#holds === 0 && !this.closed) this.#wire.resume();
  }

  /** writes what is queued, then half-closes */
  end(): void {
    if (this.closed) return;
    this.#flush();
    this.#closed = true;
    this.#wire.end();
  }

  destroy(): void {
    this.#closed = true;
    if (this.#drainTimer) clearTimeout(this.#drainTimer);
    this.#drainTimer = null;
    this.#wire.destroy();
  }

  get queuedBytes(): number {
    return this.#wire.writableLength;
  }
}
