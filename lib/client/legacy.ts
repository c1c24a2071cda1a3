/**
 * The original protocol's client: msgid 1 to 10, as the C++ ChatClient speaks it, for
 * bin/chatclient against the original ClusterChatServer (clusterchat's legacy flavour too).
 *
 * - Only REG and LOGIN are answered; chat, friends, groups and logout are sent and never
 *   confirmed (the original has no acks, no seq, no receipts, no recall).
 * - Frames go out as JSON plus NUL, one per write, at least `gapMs` apart: the original server
 *   parses each read as one object and drops what follows a NUL in it. Replies come with no
 *   delimiter and are split by brace depth (WireConnection's legacy framing).
 * - The original server forwards a chat frame unchanged, so the client fills in `id`, `name`
 *   and `time` as the original client does.
 * - A dropped connection is reopened with backoff and the user logged in again; what was typed
 *   meanwhile goes out then. What was in flight when it dropped may be lost: nothing says.
 */
import { EventEmitter } from 'node:events';
import { MsgId } from '../protocol/msgid.js';
import { legacyTime } from '../protocol/shapes.js';
import { Backoff } from './backoff.js';
import { ChatReplyError } from './client.js';
import { WireConnection, type Endpoint, type WireFrame } from './connection.js';

export interface LegacyOptions extends Endpoint {
  /** reopen a dropped connection @default true */
  reconnect?: boolean;
  /** first and largest reconnect delay, ms @default [200, 5000] */
  backoffMs?: [number, number];
  /** REG or LOGIN without a reply after this long fails, ms @default 15000 */
  requestTimeoutMs?: number;
  /** the least time between two frames, ms @default 20 */
  gapMs?: number;
}

export interface LegacyUser {
  id: number;
  name: string;
  state: string;
}

export interface LegacyGroup {
  id: number;
  groupname: string;
  groupdesc: string;
  users: Array<LegacyUser & { role: string }>;
}

/** a chat line, pushed or from the login's offline messages */
export interface LegacyMessage {
  from: { id: number; name: string };
  text: string;
  time: string;
  toid?: number;
  groupid?: number;
}

export interface LegacyLogin {
  id: number;
  name: string;
  friends: LegacyUser[];
  groups: LegacyGroup[];
  offline: LegacyMessage[];
}

export interface LegacyEvents {
  /** chat lines pushed by the server, in arrival order */
  message: [LegacyMessage];
  /** the connection dropped (a reconnect follows when enabled) */
  disconnected: [Error | null];
  /** reconnected (and logged in again, when logged in) */
  reconnected: [];
  /** a background failure: a reconnect attempt, or a login again that was refused */
  error: [Error];
}

interface Waiter {
  msgid: number;
  resolve: (f: WireFrame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class LegacyClient extends EventEmitter<LegacyEvents> {
  readonly #opts: Required<Omit<LegacyOptions, 'tls'>> & Pick<LegacyOptions, 'tls'>;
  #wire: WireConnection;
  #waiters: Waiter[] = [];
  #queue: WireFrame[] = [];
  #lastWrite = 0;
  #pumpTimer: NodeJS.Timeout | null = null;
  #user: { id: number; name: string; password: string } | null = null;
  #closing = false;
  readonly #backoff: Backoff;

  private constructor(wire: WireConnection, opts: LegacyOptions) {
    super();
    this.#opts = { reconnect: true, backoffMs: [200, 5000], requestTimeoutMs: 15_000, gapMs: 20, ...opts };
    this.#backoff = new Backoff(this.#opts.backoffMs);
    this.#wire = wire;
    this.#attach(wire);
  }

  static async connect(opts: LegacyOptions): Promise<LegacyClient> {
    return new LegacyClient(await WireConnection.open(opts, 5000, true), opts);
  }

  get connected(): boolean {
    return !this.#wire.closed;
  }

  /** the logged-in user's id, or null */
  get userId(): number | null {
    return this.#user?.id ?? null;
  }

  async register(name: string, password: string): Promise<number> {
    const r = await this.#request({ msgid: MsgId.REG_MSG, name, password }, MsgId.REG_MSG_ACK);
    return num(r.id) ?? 0;
  }

  async login(id: number, password: string): Promise<LegacyLogin> {
    const r = await this.#request({ msgid: MsgId.LOGIN_MSG, id, password }, MsgId.LOGIN_MSG_ACK);
    const info = loginInfo(r);
    this.#user = { id: info.id, name: info.name, password };
    return info;
  }

  /** ends the session (no reply in the original protocol) */
  logout(): void {
    if (this.#user) this.#send({ msgid: MsgId.LOGINOUT_MSG, id: this.#user.id });
    this.#user = null;
  }

  sendTo(toid: number, msg: string): void {
    this.#send({ msgid: MsgId.ONE_CHAT_MSG, ...this.#me(), toid, msg, time: legacyTime(Date.now()) });
  }

  sendGroup(groupid: number, msg: string): void {
    this.#send({ msgid: MsgId.GROUP_CHAT_MSG, ...this.#me(), groupid, msg, time: legacyTime(Date.now()) });
  }

  addFriend(friendid: number): void {
    this.#send({ msgid: MsgId.ADD_FRIEND_MSG, id: this.#user?.id ?? 0, friendid });
  }

  createGroup(groupname: string, groupdesc: string): void {
    this.#send({ msgid: MsgId.CREATE_GROUP_MSG, id: this.#user?.id ?? 0, groupname, groupdesc });
  }

  joinGroup(groupid: number): void {
    this.#send({ msgid: MsgId.ADD_GROUP_MSG, id: this.#user?.id ?? 0, groupid });
  }

  /** frames typed but not written yet (waiting for the connection, or for their gap) */
  get unsent(): number {
    return this.#queue.length;
  }

  close(): void {
    this.#closing = true;
    if (this.#pumpTimer) clearTimeout(this.#pumpTimer);
    this.#fail(new Error('client closed'));
    this.#wire.close();
  }

  #me(): { id: number; name: string } {
    return { id: this.#user?.id ?? 0, name: this.#user?.name ?? '' };
  }

  // ---- out

  #request(frame: WireFrame, reply: number, front = false): Promise<WireFrame> {
    if (!this.connected) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no reply to msgid ${String(frame.msgid)} within ${this.#opts.requestTimeoutMs} ms`));
      }, this.#opts.requestTimeoutMs);
      timer.unref();
      this.#waiters.push({ msgid: reply, resolve, reject, timer });
      this.#send(frame, front);
    });
  }

  #send(frame: WireFrame, front = false): void {
    if (front) this.#queue.unshift(frame);
    else this.#queue.push(frame);
    this.#pump();
  }

  /** writes the queue one frame at a time, `gapMs` apart, while connected */
  #pump(): void {
    if (this.#pumpTimer || this.#queue.length === 0 || !this.connected) return;
    const wait = this.#lastWrite + this.#opts.gapMs - performance.now();
    if (wait > 0) {
      this.#pumpTimer = setTimeout(() => {
        this.#pumpTimer = null;
        this.#pump();
      }, wait);
      return;
    }
    this.#wire.send(this.#queue.shift()!);
    this.#lastWrite = performance.now();
    this.#pump();
  }

  // ---- in

  #attach(wire: WireConnection): void {
    wire.on('frame', (f) => this.#onFrame(f));
    wire.on('close', (err) => this.#onClose(err));
  }

  #onFrame(f: WireFrame): void {
    if (f.msgid === MsgId.ONE_CHAT_MSG || f.msgid === MsgId.GROUP_CHAT_MSG) {
      const m = message(f);
      if (m) this.emit('message', m);
      return;
    }
    const i = this.#waiters.findIndex((w) => w.msgid === f.msgid);
    if (i === -1) return;
    const [w] = this.#waiters.splice(i, 1);
    clearTimeout(w!.timer);
    if (f.errno === 0) w!.resolve(f);
    else w!.reject(new ChatReplyError(f));
  }

  #fail(err: Error): void {
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  #onClose(err: Error | null): void {
    this.#fail(new Error('disconnected'));
    if (this.#closing) return;
    this.emit('disconnected', err);
    if (this.#opts.reconnect) void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    for (;;) {
      const wire = await this.#backoff.reopen(() => WireConnection.open(this.#opts, 5000, true), () => this.#closing, (e) => this.emit('error', e));
      if (!wire) return;
      this.#wire = wire;
      this.#attach(wire);
      const user = this.#user;
      if (user) {
        try {
          await this.#request({ msgid: MsgId.LOGIN_MSG, id: user.id, password: user.password }, MsgId.LOGIN_MSG_ACK, true);
        } catch (err) {
          this.emit('error', err as Error);
          if (this.#wire.closed) continue;
        }
      }
      this.emit('reconnected');
      this.#pump();
      return;
    }
  }
}

// ---- the original's shapes, read without trusting them

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** an array of JSON-encoded objects (how the original nests lists), the bad entries left out */
function encodedObjects(v: unknown): WireFrame[] {
  if (!Array.isArray(v)) return [];
  const out: WireFrame[] = [];
  for (const s of v) {
    if (typeof s !== 'string') continue;
    try {
      const o: unknown = JSON.parse(s);
      if (typeof o === 'object' && o !== null && !Array.isArray(o)) out.push(o as WireFrame);
    } catch {
      // left out
    }
  }
  return out;
}

function user(o: WireFrame): LegacyUser | null {
  const id = num(o.id);
  return id === undefined ? null : { id, name: str(o.name), state: str(o.state) };
}

function loginInfo(r: WireFrame): LegacyLogin {
  const friends = encodedObjects(r.friends)
    .map(user)
    .filter((u): u is LegacyUser => u !== null);
  const groups: LegacyGroup[] = [];
  for (const g of encodedObjects(r.groups)) {
    const id = num(g.id);
    if (id === undefined) continue;
    const users: LegacyGroup['users'] = [];
    for (const o of encodedObjects(g.users)) {
      const u = user(o);
      if (u) users.push({ ...u, role: str(o.role) });
    }
    groups.push({ id, groupname: str(g.groupname), groupdesc: str(g.groupdesc), users });
  }
  const offline = encodedObjects(r.offlinemsg)
    .map(message)
    .filter((m): m is LegacyMessage => m !== null);
  return { id: num(r.id) ?? 0, name: str(r.name), friends, groups, offline };
}

function message(f: WireFrame): LegacyMessage | null {
  const id = num(f.id);
  if (id === undefined || (f.msgid !== MsgId.ONE_CHAT_MSG && f.msgid !== MsgId.GROUP_CHAT_MSG)) return null;
  const m: LegacyMessage = { from: { id, name: str(f.name) }, text: str(f.msg), time: str(f.time) };
  const groupid = num(f.groupid);
  const toid = num(f.toid);
  if (f.msgid === MsgId.GROUP_CHAT_MSG && groupid !== undefined) m.groupid = groupid;
  else if (toid !== undefined) m.toid = toid;
  return m;
}
