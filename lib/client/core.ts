/**
 * The v2 client library, whatever carries it (client.ts: TCP in Node for bin/chatclient, bench/
 * and the tests; ws-wire.ts: a WebSocket in the browser client). It imports nothing from Node.
 * It turns the wire
 * into an ordered, de-duplicated stream of events per conversation:
 * - every request carries a cmid and its reply is matched by it;
 * - pushes are applied in msgSeq order; an out-of-order push waits in a small reorder buffer,
 *   and a gap still open after `gapWaitMs` is filled by SYNC (placeholders just advance);
 * - what was applied is acknowledged (DELIVERED_MSG, one per conversation per tick);
 * - sends are resent with the same cmid after a timeout and after a reconnect (the server
 *   answers a repeated cmid with the first ack, so nothing is duplicated);
 * - a dropped connection is reopened with backoff, the session resumed with its token (no
 *   password; the password only when the token is refused), and every conversation synced
 *   after its last applied seq.
 */
import { Errors } from '../errors.js';
import { DEFAULT_MAX_FRAME } from '../protocol/defaults.js';
import { groupConv, pairConv } from '../protocol/conv.js';
import { MsgId } from '../protocol/msgid.js';
import type { ConvSummary } from '../protocol/summary.js';
import { legacyTime } from '../protocol/shapes.js';
import { Backoff } from './backoff.js';
import type { DeviceIdentity, DeviceKey } from './e2e.js';
import { E2E, keysOf, type SealedState } from './sealing.js';
import { Emitter } from './emitter.js';
import { randomId, soon, unref, utf8Length, type Wire, type WireFrame } from './wire.js';

export type { WireFrame };
export { NoDeviceKeyError, type SealedState } from './sealing.js';

/** opens a new connection to the server (the first one, and each reconnect) */
export type Dial = () => Promise<Wire>;

export interface CoreOptions {
  /** reopen a dropped connection @default true */
  reconnect?: boolean;
  /** first and largest reconnect delay, ms @default [200, 5000] */
  backoffMs?: [number, number];
  /** a request without a reply after this long fails, ms @default 15000 */
  requestTimeoutMs?: number;
  /** an unacked send is sent again after this long, ms @default 5000 */
  resendAfterMs?: number;
  /** how long an out-of-order push waits for the missing ones before a sync, ms @default 300 */
  gapWaitMs?: number;
  /**
   * a PING this often while logged in (the server closes v2 connections idle past its
   * --idle-timeout); one left unanswered for requestTimeoutMs drops the connection, which
   * then reconnects — how a half-open connection is noticed @default 30000 (0: never)
   */
  pingIntervalMs?: number;
  /**
   * the largest frame the server takes (its --max-frame): a request whose frame is bigger is
   * refused here (FrameTooLargeError), since the server would close the connection on it
   * @default 65536
   */
  maxFrameBytes?: number;
  /**
   * reconnects a send may be resent after: one that is still unanswered after this many
   * (each connection dropped again before the ack) fails instead of being sent forever @default 3
   */
  maxResends?: number;
}

/** a request not sent: its frame is over the server's frame limit */
export class FrameTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`the request's frame would be ${bytes} bytes, over the server's limit of ${limit}`);
  }
}

/** a send given up on: every connection it was resent on dropped before the ack */
export class ResendLimitError extends Error {
  constructor(readonly resends: number) {
    super(`resent after ${resends} reconnects and the connection dropped each time; not sending it again`);
  }
}

/** one event of a conversation, as the stream hands it out */
export interface ChatEvent {
  conv: string;
  seq: number;
  /** chat; recall (names `recalledSeq`); timer (a conversation's timer, `ttl`); expire (names `expiredSeq`) */
  kind: 'chat' | 'recall' | 'timer' | 'expire';
  mid: string;
  ts: number;
  /** `YYYY-MM-DD HH:MM:SS`, server local time */
  time: string;
  from: { id: number; name: string };
  /** '' for a recalled message and for a recall event */
  text: string;
  recalled: boolean;
  groupid?: number;
  toid?: number;
  /** recall events: the seq they recall */
  recalledSeq?: number;
  /** a chat message that expired (its text is gone) */
  expired?: true;
  /** a chat message that disappears: when (ms since the epoch) */
  expiresAt?: number;
  /** expire events: the seq that expired */
  expiredSeq?: number;
  /** timer events: the conversation's disappearing-messages timer in seconds (0: off) */
  ttl?: number;
  cmid?: string;
  /** true for the user's own messages (sent from this or another device) */
  own: boolean;
  /**
   * an end-to-end encrypted message: 'ok' (opened, `text` is the plaintext), 'no-copy' (none
   * for this device), 'failed' (did not open: tampered with); `text` is '' unless 'ok'
   */
  sealed?: SealedState;
}

export interface SendAck {
  conv: string;
  msgSeq: number;
  mid: string;
  ts: number;
  cmid: string;
  duplicate: boolean;
  /** a sealed send: the members who have no device key and cannot read it */
  unreadableBy?: number[];
}

/** a conversation's summary, as the server sends it (v2 login, CONV_LIST) */
export type { ConvSummary };

export interface LoginInfo {
  id: number;
  name: string;
  token: string;
  friends: Array<{ id: number; name: string; state: string }>;
  groups: Array<{ id: number; groupname: string; groupdesc: string; users: Array<{ id: number; name: string; role: string; state: string }> }>;
  convs: ConvSummary[];
}

/** an error reply from the server */
export class ChatReplyError extends Error {
  readonly errno: number;
  readonly reply: WireFrame;
  constructor(reply: WireFrame) {
    super(typeof reply.errmsg === 'string' ? reply.errmsg : `errno ${String(reply.errno)}`);
    this.name = 'ChatReplyError';
    this.errno = typeof reply.errno === 'number' ? reply.errno : -1;
    this.reply = reply;
  }
}

/** replies the server matches to a request by cmid */
const REPLY_IDS = new Set<number>([
  MsgId.LOGIN_MSG_ACK,
  MsgId.REG_MSG_ACK,
  MsgId.ERROR_MSG,
  MsgId.CHAT_ACK,
  MsgId.REQ_ACK,
  MsgId.SYNC_MSG_ACK,
  MsgId.RECALL_MSG_ACK,
  MsgId.MSG_STATUS_ACK,
  MsgId.CONV_LIST_ACK,
  MsgId.PONG_MSG,
  MsgId.KEY_FETCH_ACK,
]);

/** errnos that mean "not now": storage unavailable, rate limited */
const RETRY_ERRNOS = new Set<number>([Errors.STORAGE_UNAVAILABLE.errno, Errors.RATE_LIMITED.errno]);

/** a login refused for "not now" (storage unavailable, too many attempts, hashing queue full): tried again later */
export function isLoginDeferred(err: unknown): err is ChatReplyError {
  return err instanceof ChatReplyError && (RETRY_ERRNOS.has(err.errno) || err.errno === Errors.BUSY.errno);
}

const PUSH_IDS = new Set<number>([MsgId.ONE_CHAT_MSG, MsgId.GROUP_CHAT_MSG, MsgId.RECALL_MSG, MsgId.TIMER_MSG, MsgId.EXPIRED_MSG]);

const KIND_OF: ReadonlyMap<unknown, ChatEvent['kind']> = new Map([
  [MsgId.RECALL_MSG, 'recall'],
  [MsgId.TIMER_MSG, 'timer'],
  [MsgId.EXPIRED_MSG, 'expire'],
]);

interface Pending {
  frame: WireFrame;
  resolve: (f: WireFrame) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout> | null;
  /** sends survive reconnects and are resent; other requests fail on disconnect */
  send: boolean;
  /** how many reconnects it was resent after */
  resends: number;
}

interface ConvState {
  applied: number;
  buffer: Map<number, ChatEvent | null>;
  gapTimer: ReturnType<typeof setTimeout> | null;
  syncing: boolean;
  ackScheduled: boolean;
}

const SYNC_PAGE = 200;

export interface ClientEvents {
  /** each conversation's events, in order, once each */
  event: [ChatEvent];
  /** MSG_STATUS_UPDATE pushes */
  status: [WireFrame];
  /** NOTICE_MSG pushes (shutdown, replaced) */
  notice: [WireFrame];
  /** the connection dropped (a reconnect follows when enabled) */
  disconnected: [Error | null];
  /** reconnected, resumed and resynced */
  reconnected: [];
  /** a background failure (a sync that failed, a reconnect attempt that failed) */
  error: [Error];
}

export class ClientCore extends Emitter<ClientEvents> {
  readonly #opts: Required<CoreOptions>;
  readonly #dial: Dial;
  readonly #backoff: Backoff;
  #wire: Wire;
  /** between a drop and the login that resumes the session: sends wait instead of going out */
  #resuming = false;
  #pending = new Map<string, Pending>();
  #convs = new Map<string, ConvState>();
  #credentials: { id: number; password: string } | null = null;
  #token: string | null = null;
  #closing = false;
  /** this device's end-to-end identity, and its state for the current login */
  #identity: DeviceIdentity | null = null;
  #e2e: E2E | null = null;
  /** conversations this device's sends are sealed in */
  readonly #sealedConvs = new Set<string>();
  /** sends waiting behind a sealed one (in #sendQueue), so that none overtakes another */
  #queued = 0;
  #sendQueue: Promise<void> = Promise.resolve();
  userId: number | null = null;
  userName: string | null = null;

  protected constructor(wire: Wire, opts: CoreOptions, dial: Dial) {
    super();
    this.#dial = dial;
    this.#opts = {
      reconnect: true,
      backoffMs: [200, 5000],
      requestTimeoutMs: 15_000,
      resendAfterMs: 5000,
      gapWaitMs: 300,
      pingIntervalMs: 30_000,
      maxFrameBytes: DEFAULT_MAX_FRAME,
      maxResends: 3,
      ...opts,
    };
    this.#backoff = new Backoff(this.#opts.backoffMs);
    this.#wire = wire;
    this.#attach(wire);
    if (this.#opts.pingIntervalMs > 0) {
      this.#pinger = unref(setInterval(() => this.#heartbeat(), this.#opts.pingIntervalMs));
    }
  }

  #pinger: ReturnType<typeof setInterval> | null = null;

  #heartbeat(): void {
    if (!this.connected || this.userId === null) return;
    const wire = this.#wire;
    this.ping().catch(() => {
      // no answer: the connection is dead even if the socket does not know yet
      if (wire === this.#wire && !this.#closing) wire.close();
    });
  }

  /** a client over the connections `dial` opens */
  static async open(dial: Dial, opts: CoreOptions = {}): Promise<ClientCore> {
    return new ClientCore(await dial(), opts, dial);
  }

  get connected(): boolean {
    return !this.#wire.closed;
  }

  // ---- requests

  /** sends a v2 request with a fresh cmid and resolves its reply (rejects on errno != 0) */
  request(frame: WireFrame, opts: { send?: boolean } = {}): Promise<WireFrame> {
    const cmid = typeof frame.cmid === 'string' ? frame.cmid : randomId();
    const full = { ...frame, v: 2, cmid };
    // a send waits for the reconnect and goes out then; anything else fails now
    if (!this.connected && opts.send !== true) return Promise.reject(new Error('not connected'));
    const bytes = utf8Length(JSON.stringify(full));
    if (bytes > this.#opts.maxFrameBytes) return Promise.reject(new FrameTooLargeError(bytes, this.#opts.maxFrameBytes));
    return new Promise((resolve, reject) => {
      const p: Pending = { frame: full, resolve, reject, timer: null, send: opts.send === true, resends: 0 };
      this.#pending.set(cmid, p);
      this.#arm(cmid, p);
      // a send made while the session is being resumed goes out with the resends after it
      if (!(p.send && this.#resuming)) this.#wire.send(full);
    });
  }

  #arm(cmid: string, p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    if (p.send) {
      p.timer = setTimeout(() => {
        if (this.connected && !this.#resuming) this.#wire.send(p.frame);
        this.#arm(cmid, p);
      }, this.#opts.resendAfterMs);
    } else {
      p.timer = setTimeout(() => {
        this.#pending.delete(cmid);
        p.reject(new Error(`no reply to msgid ${String(p.frame.msgid)} within ${this.#opts.requestTimeoutMs} ms`));
      }, this.#opts.requestTimeoutMs);
    }
    unref(p.timer);
  }

  async register(name: string, password: string): Promise<number> {
    const r = await this.request({ msgid: MsgId.REG_MSG, name, password });
    return r.id as number;
  }

  async login(id: number, password: string): Promise<LoginInfo> {
    // ready before the reply: pushes and syncs right after it may be sealed
    if (this.#identity) this.#e2e = this.#newE2E(this.#identity, id);
    let r: WireFrame;
    try {
      r = await this.request({ msgid: MsgId.LOGIN_MSG, id, password });
    } catch (err) {
      this.#e2e = null;
      throw err;
    }
    this.#credentials = { id, password };
    const info = this.#loggedIn(r);
    for (const c of info.convs) {
      // a fresh client starts from what the server says this user has received (pushes that
      // came in the same read as this reply may already have made the conversation's state)
      const st = this.#state(c.conv);
      this.#raiseTo(st, Math.max(c.delivered, c.joinedSeq));
      this.#drain(c.conv, st);
    }
    this.#syncAll(info.convs);
    // (not awaited: the positions above are set before any push can be handled; the server
    // stores the key before it handles this connection's next frame, a send say)
    if (this.#e2e) this.#e2e.publish().catch((err: unknown) => this.emit('error', err as Error));
    return info;
  }

  #loggedIn(r: WireFrame): LoginInfo {
    const info = r as unknown as LoginInfo;
    this.#token = info.token;
    this.userId = info.id;
    this.userName = info.name;
    return info;
  }

  /** ends the session; positions and unsent messages belong to it and are dropped */
  async logout(): Promise<void> {
    await this.request({ msgid: MsgId.LOGINOUT_MSG });
    this.#credentials = null;
    this.#token = null;
    this.userId = null;
    this.userName = null;
    this.#e2e = null;
    this.#identity = null;
    this.#sealedConvs.clear();
    this.#dropPending(new Error('logged out'));
    for (const st of this.#convs.values()) if (st.gapTimer) clearTimeout(st.gapTimer);
    this.#convs.clear();
  }

  #dropPending(err: Error): void {
    for (const [cmid, p] of this.#pending) {
      if (p.timer) clearTimeout(p.timer);
      this.#pending.delete(cmid);
      p.reject(err);
    }
  }

  sendTo(toid: number, msg: string): Promise<SendAck> {
    return this.#send({ msgid: MsgId.ONE_CHAT_MSG, toid, msg }, pairConv(this.userId ?? 0, toid));
  }

  sendGroup(groupid: number, msg: string): Promise<SendAck> {
    return this.#send({ msgid: MsgId.GROUP_CHAT_MSG, groupid, msg }, groupConv(groupid));
  }

  // ---- end-to-end encryption (sealing.ts)

  /**
   * turns end-to-end encryption on for this device: before login (then the first sync opens
   * sealed messages already) or after; its key is published at each login and reconnect. Then
   * sealed messages open, and conversations can be sealed (setSealed). null turns it off.
   */
  async enableE2E(identity: DeviceIdentity | null): Promise<void> {
    this.#identity = identity;
    this.#sealedConvs.clear();
    if (identity === null) this.#e2e = null;
    if (identity === null || this.userId === null) return;
    const e2e = this.#newE2E(identity, this.userId);
    await e2e.publish();
    this.#e2e = e2e;
  }

  #newE2E(identity: DeviceIdentity, userId: number): E2E {
    return new E2E(identity, userId, (f) => this.request(f));
  }

  /** this device's sends in `conv` are sealed (on) or plain (off) */
  setSealed(conv: string, on: boolean): void {
    if (!this.#identity) throw new Error('end-to-end encryption is not enabled on this client');
    if (on) this.#sealedConvs.add(conv);
    else this.#sealedConvs.delete(conv);
  }

  isSealed(conv: string): boolean {
    return this.#sealedConvs.has(conv);
  }

  /** the published device keys of these users (KEY_FETCH_MSG) */
  async deviceKeys(ids: number[]): Promise<DeviceKey[]> {
    return keysOf(await this.request({ msgid: MsgId.KEY_FETCH_MSG, ids }));
  }

  async #send(plain: WireFrame, conv: string): Promise<SendAck> {
    const sealing = this.#sealedConvs.has(conv);
    let frame = plain;
    let keyless: number[] = [];
    let reply: Promise<WireFrame>;
    if (sealing || this.#queued > 0) {
      // sends go out in the order they were made: a sealed one waits for its keys and its
      // sealing, and every send after it waits for it
      this.#queued++;
      const before = this.#sendQueue;
      let done!: () => void;
      this.#sendQueue = new Promise<void>((resolve) => (done = resolve));
      try {
        await before;
        if (sealing) {
          const { msg, ...rest } = plain;
          if (!this.#e2e) throw new Error('log in first');
          const sealed = await this.#e2e.seal(conv, msg as string);
          frame = { ...rest, e2e: sealed.env };
          keyless = sealed.keyless;
        }
        reply = this.request(frame, { send: true });
      } finally {
        this.#queued--;
        done();
      }
    } else {
      reply = this.request(frame, { send: true });
    }
    const r = await reply;
    const ack: SendAck = {
      conv: r.conv as string,
      msgSeq: r.msgSeq as number,
      mid: r.mid as string,
      ts: r.ts as number,
      cmid: r.cmid as string,
      duplicate: r.duplicate === true,
      ...(keyless.length > 0 ? { unreadableBy: keyless } : {}),
    };
    // the sender's own message takes its place in the conversation's stream
    const groupid = typeof frame.groupid === 'number' ? frame.groupid : undefined;
    const toid = typeof frame.toid === 'number' ? frame.toid : undefined;
    this.#offer({
      conv: ack.conv,
      seq: ack.msgSeq,
      kind: 'chat',
      mid: ack.mid,
      ts: ack.ts,
      time: legacyTime(ack.ts),
      from: { id: this.userId ?? 0, name: this.userName ?? '' },
      text: plain.msg as string,
      recalled: false,
      ...(groupid !== undefined ? { groupid } : {}),
      ...(toid !== undefined ? { toid } : {}),
      cmid: ack.cmid,
      own: true,
      ...(sealing ? { sealed: 'ok' as const } : {}),
    });
    return ack;
  }

  async addFriend(friendid: number): Promise<WireFrame> {
    return this.request({ msgid: MsgId.ADD_FRIEND_MSG, friendid });
  }

  async removeFriend(friendid: number): Promise<WireFrame> {
    return this.request({ msgid: MsgId.REMOVE_FRIEND_MSG, friendid });
  }

  async createGroup(groupname: string, groupdesc = ''): Promise<number> {
    const r = await this.request({ msgid: MsgId.CREATE_GROUP_MSG, groupname, groupdesc });
    this.#state(`g:${String(r.groupid)}`);
    return r.groupid as number;
  }

  async joinGroup(groupid: number): Promise<{ conv: string; joinedSeq: number }> {
    const r = await this.request({ msgid: MsgId.ADD_GROUP_MSG, groupid });
    const st = this.#state(r.conv as string);
    st.applied = Math.max(st.applied, r.joinedSeq as number);
    return { conv: r.conv as string, joinedSeq: r.joinedSeq as number };
  }

  async leaveGroup(groupid: number): Promise<WireFrame> {
    return this.request({ msgid: MsgId.LEAVE_GROUP_MSG, groupid });
  }

  async removeMember(groupid: number, userid: number): Promise<WireFrame> {
    return this.request({ msgid: MsgId.REMOVE_MEMBER_MSG, groupid, userid });
  }

  async markRead(conv: string, msgSeq: number): Promise<WireFrame> {
    return this.request({ msgid: MsgId.READ_MSG, conv, msgSeq });
  }

  async recall(conv: string, msgSeq: number): Promise<WireFrame> {
    return this.request({ msgid: MsgId.RECALL_MSG, conv, msgSeq });
  }

  /** sets the conversation's disappearing-messages timer (seconds, 0: off) */
  async setTimer(conv: string, ttl: number): Promise<WireFrame> {
    return this.request({ msgid: MsgId.TIMER_MSG, conv, ttl });
  }

  async messageStatus(conv: string, msgSeq: number): Promise<WireFrame> {
    return this.request({ msgid: MsgId.MSG_STATUS_QUERY, conv, msgSeq });
  }

  async conversations(): Promise<ConvSummary[]> {
    const r = await this.request({ msgid: MsgId.CONV_LIST_MSG });
    return r.convs as ConvSummary[];
  }

  /** one page of history (does not touch the live stream); `before` pages backwards */
  async history(conv: string, opts: { before?: number; after?: number; limit?: number } = {}): Promise<{ events: Array<ChatEvent | { seq: number; gap: true }>; more: boolean; lastSeq: number }> {
    const r = await this.request({ msgid: MsgId.SYNC_MSG, conv, ...opts });
    return {
      events: await Promise.all((r.events as WireFrame[]).map((f) => (f.gap === true ? { seq: f.msgSeq as number, gap: true as const } : this.#toEvent(f)))),
      more: r.more === true,
      lastSeq: r.lastSeq as number,
    };
  }

  async ping(): Promise<number> {
    const r = await this.request({ msgid: MsgId.PING_MSG });
    return r.ts as number;
  }

  /** the last seq applied (handed out) in a conversation */
  appliedSeq(conv: string): number {
    return this.#convs.get(conv)?.applied ?? 0;
  }

  close(): void {
    this.#closing = true;
    if (this.#pinger) clearInterval(this.#pinger);
    this.#dropPending(new Error('client closed'));
    for (const st of this.#convs.values()) if (st.gapTimer) clearTimeout(st.gapTimer);
    this.#wire.close();
  }

  // ---- incoming

  #attach(wire: Wire): void {
    wire.on('frame', (f) => this.#onFrame(f));
    wire.on('close', (err) => this.#onClose(err));
  }

  #onFrame(f: WireFrame): void {
    const msgid = f.msgid as number;
    if (PUSH_IDS.has(msgid) && typeof f.conv === 'string' && typeof f.msgSeq === 'number' && f.errno === undefined) {
      // a sealed one is offered once opened: the reorder buffer keeps the order meanwhile
      if (f.e2e !== undefined) this.#toEvent(f).then((ev) => this.#offer(ev), (err: unknown) => this.emit('error', err as Error));
      else this.#offer(toEvent(f, this.userId));
      return;
    }
    if (REPLY_IDS.has(msgid) && typeof f.cmid === 'string') {
      const p = this.#pending.get(f.cmid);
      if (!p) return;
      // a send refused for now (storage down, too fast) stays pending: its resend timer retries
      if (p.send && RETRY_ERRNOS.has(f.errno as number)) return;
      this.#pending.delete(f.cmid);
      if (p.timer) clearTimeout(p.timer);
      if (typeof f.errno === 'number' && f.errno !== 0) p.reject(new ChatReplyError(f));
      else p.resolve(f);
      return;
    }
    if (msgid === MsgId.MSG_STATUS_UPDATE) this.emit('status', f);
    else if (msgid === MsgId.NOTICE_MSG) this.emit('notice', f);
  }

  #state(conv: string): ConvState {
    let st = this.#convs.get(conv);
    if (!st) {
      st = { applied: 0, buffer: new Map(), gapTimer: null, syncing: false, ackScheduled: false };
      this.#convs.set(conv, st);
    }
    return st;
  }

  /** an event from a push, an ack or a sync: applied in order, buffered, or dropped as seen */
  #offer(ev: ChatEvent): void {
    const st = this.#state(ev.conv);
    if (ev.seq <= st.applied) return;
    st.buffer.set(ev.seq, ev);
    this.#drain(ev.conv, st);
  }

  /** hands out what is next in order; arms the gap timer when something is missing */
  #drain(conv: string, st: ConvState): void {
    this.#applyInOrder(st);
    this.#scheduleAck(conv, st);
    if (st.buffer.size === 0) {
      if (st.gapTimer) clearTimeout(st.gapTimer);
      st.gapTimer = null;
    } else if (!st.gapTimer && !st.syncing) {
      st.gapTimer = setTimeout(() => {
        st.gapTimer = null;
        this.#catchUp(conv).catch((err: unknown) => this.emit('error', err as Error));
      }, this.#opts.gapWaitMs);
      unref(st.gapTimer);
    }
  }

  #applyInOrder(st: ConvState): void {
    let next: ChatEvent | null | undefined;
    while ((next = st.buffer.get(st.applied + 1)) !== undefined) {
      st.buffer.delete(st.applied + 1);
      st.applied++;
      if (next) this.emit('event', next);
    }
  }

  #scheduleAck(conv: string, st: ConvState): void {
    if (st.ackScheduled || st.applied === 0) return;
    st.ackScheduled = true;
    soon(() => {
      st.ackScheduled = false;
      if (this.connected && this.userId !== null) this.#wire.send({ msgid: MsgId.DELIVERED_MSG, v: 2, conv, msgSeq: st.applied });
    });
  }

  /** reads the log after the last applied seq until caught up */
  async #catchUp(conv: string): Promise<void> {
    const st = this.#state(conv);
    if (st.syncing) return;
    st.syncing = true;
    try {
      for (;;) {
        const r = await this.request({ msgid: MsgId.SYNC_MSG, conv, after: st.applied, limit: SYNC_PAGE });
        this.#raiseTo(st, typeof r.joinedSeq === 'number' ? r.joinedSeq : 0);
        const frames = r.events as WireFrame[];
        // sealed ones are opened first (pushes may be applied meanwhile: the seqs are checked after)
        const events = frames.some((f) => f.e2e !== undefined)
          ? await Promise.all(frames.map((f) => (f.gap === true ? null : this.#toEvent(f))))
          : frames.map((f) => (f.gap === true ? null : toEvent(f, this.userId)));
        frames.forEach((f, i) => {
          const seq = f.msgSeq as number;
          if (seq > st.applied) st.buffer.set(seq, events[i] ?? null);
        });
        const before = st.applied;
        this.#applyInOrder(st);
        if (r.more !== true || st.applied === before) break;
      }
    } catch (err) {
      // try again later (the gap timer re-arms with a longer wait), never stall for good
      st.syncing = false;
      st.gapTimer = setTimeout(() => {
        st.gapTimer = null;
        this.#catchUp(conv).catch((e: unknown) => this.emit('error', e as Error));
      }, this.#opts.gapWaitMs * 5);
      unref(st.gapTimer);
      throw err;
    }
    st.syncing = false;
    this.#drain(conv, st);
  }

  /** a pushed or synced event, a sealed one opened (or marked as not opened) */
  async #toEvent(f: WireFrame): Promise<ChatEvent> {
    const ev = toEvent(f, this.userId);
    if (f.e2e === undefined) return ev;
    const { state, text } = this.#e2e ? await this.#e2e.open(f) : { state: 'no-copy' as const, text: '' };
    ev.sealed = state;
    ev.text = text;
    return ev;
  }

  /** nothing at or below `seq` is handed out (it is known already, or before the user's time) */
  #raiseTo(st: ConvState, seq: number): void {
    if (seq <= st.applied) return;
    st.applied = seq;
    for (const s of st.buffer.keys()) if (s <= seq) st.buffer.delete(s);
  }

  #syncAll(convs: ConvSummary[]): void {
    for (const c of convs) {
      if (c.lastSeq > this.#state(c.conv).applied) this.#catchUp(c.conv).catch((err: unknown) => this.emit('error', err as Error));
    }
  }

  // ---- reconnect

  #onClose(err: Error | null): void {
    for (const [cmid, p] of this.#pending) {
      if (p.send) continue;
      if (p.timer) clearTimeout(p.timer);
      this.#pending.delete(cmid);
      p.reject(new Error('disconnected'));
    }
    if (this.#closing) return;
    this.emit('disconnected', err);
    if (!this.#opts.reconnect) return;
    this.#resuming = this.#credentials !== null;
    void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    const wire = await this.#backoff.reopen(this.#dial, () => this.#closing, (e) => this.emit('error', e));
    if (!wire) return;
    this.#wire = wire;
    this.#attach(wire);
    await this.#resumeOn(wire);
  }

  /**
   * Resumes on a new connection, waiting out "not now" refusals (the server's retryAfterMs, or
   * the next reconnect delay). Any other refusal is the caller's to handle ('error' event) and
   * ends the attempts; a drop meanwhile ends them too, as its close event reconnects anew.
   */
  async #resumeOn(wire: Wire): Promise<void> {
    for (;;) {
      try {
        await this.#resume();
        this.emit('reconnected');
        return;
      } catch (err) {
        this.emit('error', err as Error);
        if (wire.closed || this.#closing) return;
        if (!isLoginDeferred(err)) {
          this.#resuming = false;
          return;
        }
        const after = err.reply.retryAfterMs;
        if (typeof after === 'number' && after > 0) await new Promise((r) => setTimeout(r, after));
        else await this.#backoff.wait();
        if (wire.closed || this.#closing) return;
      }
    }
  }

  /** logs in again on the new connection (replacing the stale session), resends, resyncs */
  async #resume(): Promise<void> {
    if (!this.#credentials) return;
    const info = this.#loggedIn(await this.#resumeLogin(this.#credentials.id, this.#credentials.password));
    this.#resuming = false;
    // the directory keeps the most recently published keys: this device stays among them
    if (this.#e2e) this.#e2e.publish().catch((err: unknown) => this.emit('error', err as Error));
    for (const [cmid, p] of this.#pending) {
      if (!p.send) continue;
      if (++p.resends <= this.#opts.maxResends) {
        this.#wire.send(p.frame);
        continue;
      }
      if (p.timer) clearTimeout(p.timer);
      this.#pending.delete(cmid);
      p.reject(new ResendLimitError(this.#opts.maxResends));
    }
    this.#syncAll(info.convs);
  }
  /** the token alone (the server hashes nothing); the password when the token is refused (expired, revoked) */
  async #resumeLogin(id: number, password: string): Promise<WireFrame> {
    if (this.#token) {
      try {
        return await this.request({ msgid: MsgId.LOGIN_MSG, id, token: this.#token });
      } catch (err) {
        if (!(err instanceof ChatReplyError) || err.errno !== Errors.LOGIN_INVALID.errno) throw err;
      }
    }
    return this.request({ msgid: MsgId.LOGIN_MSG, id, password });
  }

}

function toEvent(f: WireFrame, me: number | null): ChatEvent {
  const fromId = f.id as number;
  const ev: ChatEvent = {
    conv: f.conv as string,
    seq: f.msgSeq as number,
    kind: KIND_OF.get(f.msgid) ?? 'chat',
    mid: f.mid as string,
    ts: f.ts as number,
    time: typeof f.time === 'string' ? f.time : legacyTime(f.ts as number),
    from: { id: fromId, name: f.name as string },
    text: typeof f.msg === 'string' ? f.msg : '',
    recalled: f.recalled === true,
    own: me !== null && fromId === me,
  };
  if (typeof f.groupid === 'number') ev.groupid = f.groupid;
  if (typeof f.toid === 'number') ev.toid = f.toid;
  if (typeof f.recalledSeq === 'number') ev.recalledSeq = f.recalledSeq;
  if (f.expired === true) ev.expired = true;
  if (typeof f.expiresAt === 'number') ev.expiresAt = f.expiresAt;
  if (typeof f.expiredSeq === 'number') ev.expiredSeq = f.expiredSeq;
  if (typeof f.ttl === 'number') ev.ttl = f.ttl;
  if (typeof f.cmid === 'string') ev.cmid = f.cmid;
  return ev;
}

