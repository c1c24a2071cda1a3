/**
 * The interactive client: the original ChatClient's start menu, login overview and commands,
 * plus recall, history, read markers, receipts and unread counts, on the v2 client library
 * (ordered de-duplicated events, sends resent after a reconnect, resume with sync). A server
 * that does not answer v2 gets the original protocol's client instead (./legacy.ts).
 */
import { ChatClient, ChatReplyError, isLoginDeferred, type ChatEvent, type ClientOptions, type LoginInfo } from '../../client/client.js';
import type { WireFrame } from '../../client/connection.js';
import { LegacyClient } from '../../client/legacy.js';
import { speaksV2 } from '../../client/probe.js';
import { MsgStatus } from '../../protocol/msgid.js';
import { groupRef, pairRef, parseConvAndNumber, parseConvRef, parseId, parseIdAndText, refOfConv, type ConvRef } from './conv.js';
import { ConsoleE2E } from './e2e.js';
import { describeConnectError, describeError, Exit } from './errors.js';
import {
  convLabel,
  eventLine,
  groupPrefix,
  helpText,
  overview,
  seqList,
  userLabel,
  type Names,
  type OwnStatus,
} from './format.js';
import { endClient, startMenu, type Outcome } from './menu.js';
import { LegacyInteractive } from './legacy.js';
import { Screen } from './screen.js';

export interface InteractiveOptions {
  endpoint: ClientOptions;
  english: boolean;
  color: boolean;
  tty: boolean;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream & { isTTY?: boolean };
  /** history page size */
  pageSize: number;
  /** speak the original protocol without asking the server */
  legacy: boolean;
  /** how long to wait for the v2 answer that tells clusterchat from the original, ms */
  probeMs: number;
  /** where each user's device key file for end-to-end encryption is kept (./keys.ts) */
  keysDir: string;
}

const COMMAND_PROMPT = '> ';
/** how long the overview waits for the backlog before showing the prompt */
const BACKLOG_WAIT_MS = 3000;
/** how long quitting (or the end of piped input) waits for messages not yet acknowledged */
const UNSENT_WAIT_MS = 10_000;

const STATUS_NAMES: Record<number, string> = {
  [MsgStatus.SENDING]: 'sending',
  [MsgStatus.SENT]: 'sent',
  [MsgStatus.DELIVERED]: 'delivered',
  [MsgStatus.READ]: 'read',
  [MsgStatus.RECALLED]: 'recalled',
};

interface Marks {
  delivered: number;
  read: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs the interactive client; resolves the exit code. It speaks v2 when the server answers a
 * v2 PING, else (or with `legacy`) the original protocol (./legacy.ts).
 */
export async function runInteractive(opts: InteractiveOptions): Promise<number> {
  const ep = opts.endpoint;
  const screen = () => new Screen({ input: opts.input, output: opts.output, tty: opts.tty, color: opts.color });
  let run: () => Promise<number>;
  try {
    if (opts.legacy || !(await speaksV2(ep, opts.probeMs))) {
      const client = await LegacyClient.connect(ep);
      run = () => new LegacyInteractive(client, screen(), opts).run();
    } else {
      const client = await ChatClient.connect(ep);
      run = () => new Interactive(client, screen(), opts).run();
    }
  } catch (err) {
    process.stderr.write(`cannot connect to ${ep.host}:${ep.port}: ${describeConnectError(err)}\n`);
    return Exit.CONNECT;
  }
  return run();
}

class Interactive implements Names {
  readonly #screen: Screen;
  readonly #opts: InteractiveOptions;
  #client: ChatClient | null;
  #info: LoginInfo | null = null;
  readonly #names = new Map<number, string>();
  readonly #groupNames = new Map<number, string>();
  /** the conversation `recall:seq` and `status:seq` mean */
  #current: ConvRef | null = null;
  #history: { ref: ConvRef; before: number; more: boolean } | null = null;
  /** my messages seen this login, per conversation, with their status */
  #own = new Map<string, Map<number, OwnStatus>>();
  /** the other members' delivered and read positions, per conversation */
  #marks = new Map<string, Map<number, Marks>>();
  /** `conv#seq` of recalls already shown (as a tombstone, or announced by our own recall) */
  #recallsShown = new Set<string>();
  /** sends not acknowledged yet */
  #unsent = new Set<Promise<unknown>>();
  /** events that arrived before the overview was printed */
  #held: ChatEvent[] | null = null;
  #offline = false;
  readonly #e2e: ConsoleE2E;

  constructor(client: ChatClient, screen: Screen, opts: InteractiveOptions) {
    this.#client = client;
    this.#screen = screen;
    this.#opts = opts;
    this.#e2e = new ConsoleE2E(opts.keysDir, opts.endpoint.host, opts.endpoint.port);
    this.#attach(client);
    screen.onInterrupt(() => void this.#exit(Exit.OK));
  }

  name(id: number): string | undefined {
    return this.#names.get(id);
  }

  groupName(id: number): string | undefined {
    return this.#groupNames.get(id);
  }

  get #me(): number {
    return this.#info?.id ?? 0;
  }

  // ---- output

  #say(text: string): void {
    this.#screen.print(text);
  }

  #error(text: string): void {
    this.#screen.print(this.#screen.style('red', text));
  }

  #notice(text: string): void {
    this.#screen.print(this.#screen.style('yellow', text));
  }

  // ---- the connection

  #attach(client: ChatClient): void {
    client.on('event', (ev) => {
      if (client !== this.#client) return;
      if (this.#held) this.#held.push(ev);
      else this.#onEvent(ev);
    });
    client.on('status', (f) => {
      if (client === this.#client) this.#onStatus(f);
    });
    client.on('notice', (f) => {
      if (client === this.#client && f.notice !== 'shutdown') this.#notice(`[${typeof f.errmsg === 'string' ? f.errmsg : String(f.notice)}]`);
    });
    client.on('disconnected', () => {
      // at the start menu nobody needs to know: the library reconnects, and a login or a
      // register while it is away says so
      if (client !== this.#client || this.#offline || !this.#info) return;
      this.#offline = true;
      this.#notice('[connection lost, reconnecting…]');
    });
    client.on('reconnected', () => {
      if (client !== this.#client || !this.#offline) return;
      this.#offline = false;
      this.#notice('[reconnected]');
    });
    client.on('error', (err) => {
      // failed reconnect attempts and syncs cut short by a drop are retried by the library
      if (client !== this.#client || !(err instanceof ChatReplyError)) return;
      if (err.reply.msgid !== 2) return;
      if (isLoginDeferred(err)) this.#notice(`[reconnected, but the server cannot log you in right now: ${describeError(err, 'login')}; trying again…]`);
      else this.#error(`[reconnected, but could not log in again: ${describeError(err, 'login')}; use loginout]`);
    });
  }

  /** the connection for the start menu (a new one after loginout) */
  async #connection(): Promise<ChatClient | null> {
    if (this.#client) return this.#client;
    const ep = this.#opts.endpoint;
    try {
      this.#client = await ChatClient.connect(ep);
      this.#offline = false;
      this.#attach(this.#client);
      return this.#client;
    } catch (err) {
      this.#error(`cannot connect to ${ep.host}:${ep.port}: ${describeConnectError(err)}`);
      return null;
    }
  }

  #connected(): ChatClient | null {
    const c = this.#client;
    if (c && c.connected) return c;
    this.#error('not connected to the server right now (reconnecting…); try again in a moment');
    return null;
  }

  // ---- the start menu

  run(): Promise<number> {
    return startMenu(this.#screen, {
      login: (id, password) => this.#login(id, password),
      register: (name, password) => this.#register(name, password),
      exit: (code) => this.#exit(code),
    });
  }

  async #register(name: string, password: string): Promise<void> {
    const client = await this.#connection();
    if (!client || !this.#connected()) return;
    try {
      const id = await client.register(name, password);
      this.#say(`name register success, userid is ${id}, do not forget it!`);
    } catch (err) {
      this.#error(describeError(err, 'register'));
    }
  }

  async #login(id: number, password: string): Promise<Outcome | void> {
    const client = await this.#connection();
    if (!client || !this.#connected()) return;
    let info: LoginInfo;
    try {
      await this.#e2e.beforeLogin(client, id);
    } catch (err) {
      this.#error(`end-to-end encryption is off: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.#held = [];
    try {
      info = await client.login(id, password);
    } catch (err) {
      this.#held = null;
      this.#error(describeError(err, 'login'));
      return;
    }
    this.#startSession(info);
    this.#say(overview(info));
    this.#say('type help to list the commands');
    // the offline messages: what the library hands out for what was not yet delivered
    const held = this.#held ?? [];
    this.#held = null;
    for (const ev of held) this.#onEvent(ev);
    const until = Date.now() + BACKLOG_WAIT_MS;
    while (Date.now() < until && client.connected && info.convs.some((c) => c.lastSeq > client.appliedSeq(c.conv))) await sleep(20);
    const r = await this.#commandLoop();
    if (r === 'loginout') {
      this.#endSession();
      return;
    }
    return r;
  }

  #startSession(info: LoginInfo): void {
    this.#info = info;
    this.#names.clear();
    this.#groupNames.clear();
    this.#names.set(info.id, info.name);
    for (const f of info.friends) this.#names.set(f.id, f.name);
    for (const g of info.groups) {
      this.#groupNames.set(g.id, g.groupname);
      for (const u of g.users) this.#names.set(u.id, u.name);
    }
    this.#own.clear();
    this.#marks.clear();
    this.#recallsShown.clear();
    this.#current = null;
    this.#history = null;
    for (const c of info.convs) {
      const ref = refOfConv(c.conv, info.id);
      if (ref?.kind === 'pair' && (c.peerDelivered !== undefined || c.peerRead !== undefined)) {
        this.#marksOf(c.conv).set(ref.peer, { delivered: c.peerDelivered ?? 0, read: c.peerRead ?? 0 });
      }
    }
  }

  #endSession(): void {
    this.#info = null;
    this.#unsent.clear();
  }

  // ---- commands

  async #commandLoop(): Promise<Outcome> {
    for (;;) {
      const line = await this.#screen.ask(this.#screen.style('green', COMMAND_PROMPT), { command: true });
      if (line === null) return 'eof';
      const r = await this.#command(line);
      if (r) return r;
    }
  }

  async #command(raw: string): Promise<Outcome | void> {
    const line = raw.replace(/^\s+/, '');
    if (line.trim() === '') return;
    const i = line.indexOf(':');
    const cmd = (i === -1 ? line : line.slice(0, i)).trim();
    const rest = i === -1 ? '' : line.slice(i + 1);
    switch (cmd) {
      case 'help':
        this.#say(helpText(this.#opts.english));
        return;
      case 'chat':
        return this.#chat(rest);
      case 'groupchat':
        return this.#groupChat(rest);
      case 'addfriend':
        return this.#addFriend(rest);
      case 'creategroup':
        return this.#createGroup(rest);
      case 'addgroup':
        return this.#addGroup(rest);
      case 'loginout':
        return this.#loginout();
      case 'recall':
        return this.#recall(rest);
      case 'history':
        return this.#showHistory(rest);
      case 'more':
        return this.#more();
      case 'read':
        return this.#read(rest);
      case 'status':
        return this.#status(rest);
      case 'convs':
        return this.#convs();
      case 'encrypt':
        return this.#encrypt(rest);
      case 'fingerprint':
        return this.#fingerprint(rest);
      case 'quit':
        return 'quit';
      default:
        this.#error('invalid input command!');
    }
  }

  #chat(rest: string): void {
    const p = parseIdAndText(rest, 'chat');
    if ('error' in p) return this.#error(p.error);
    this.#current = pairRef(this.#me, p.id);
    this.#send((c) => c.sendTo(p.id, p.text), `cannot send to ${userLabel(p.id, this)}`);
  }

  #groupChat(rest: string): void {
    const p = parseIdAndText(rest, 'groupchat');
    if ('error' in p) return this.#error(p.error);
    this.#current = groupRef(p.id);
    this.#send((c) => c.sendGroup(p.id, p.text), `cannot send to group ${p.id}`);
  }

  /** sends without blocking the prompt: the ack shows the line, a reconnect resends it */
  #send(fn: (c: ChatClient) => Promise<unknown>, what: string): void {
    const c = this.#client;
    if (!c) return;
    if (!c.connected) this.#notice('[not connected: the message will be sent when the connection is back]');
    const p: Promise<unknown> = fn(c).then(
      () => this.#unsent.delete(p),
      (err: unknown) => {
        this.#unsent.delete(p);
        if (c === this.#client) this.#error(`${what}: ${describeError(err)}`);
      },
    );
    this.#unsent.add(p);
  }

  async #request<T>(fn: (c: ChatClient) => Promise<T>, what: string): Promise<T | undefined> {
    const c = this.#connected();
    if (!c) return undefined;
    try {
      return await fn(c);
    } catch (err) {
      this.#error(`${what}: ${describeError(err)}`);
      return undefined;
    }
  }

  async #addFriend(rest: string): Promise<void> {
    const id = parseId(rest);
    if (id === null) {
      this.#error('addfriend command invalid!');
      return;
    }
    const r = await this.#request((c) => c.addFriend(id), `cannot add friend ${id}`);
    if (r) this.#say(r.added === false ? `${id} is already your friend` : `friend ${id} added`);
  }

  async #createGroup(rest: string): Promise<void> {
    const j = rest.indexOf(':');
    const name = (j === -1 ? rest : rest.slice(0, j)).trim();
    const desc = j === -1 ? '' : rest.slice(j + 1);
    if (name === '') {
      this.#error('creategroup command invalid!');
      return;
    }
    const gid = await this.#request((c) => c.createGroup(name, desc), `cannot create group ${name}`);
    if (gid === undefined) return;
    this.#groupNames.set(gid, name);
    this.#say(`group ${name} created, groupid is ${gid}`);
  }

  async #addGroup(rest: string): Promise<void> {
    const gid = parseId(rest);
    if (gid === null) {
      this.#error('addgroup command invalid!');
      return;
    }
    const r = await this.#request((c) => c.joinGroup(gid), `cannot join group ${gid}`);
    if (r) this.#say(`joined group ${gid}`);
  }

  async #loginout(): Promise<Outcome> {
    const c = this.#client;
    this.#client = null;
    if (c) {
      if (this.#unsent.size > 0) this.#notice(`[${this.#unsent.size} message(s) not sent yet are dropped]`);
      if (c.connected) await Promise.race([c.logout().catch(() => undefined), sleep(2000)]);
      c.close();
    }
    // a fresh connection for the start menu (and whoever logs in next)
    await this.#connection();
    return 'loginout';
  }

  async #recall(rest: string): Promise<void> {
    const target = this.#convAndSeq(rest, 'recall');
    if (!target) return;
    const { ref, n: seq } = target;
    const r = await this.#request((c) => c.recall(ref.conv, seq), `cannot recall #${seq}`);
    if (!r) return;
    this.#setOwn(ref.conv, seq, 'recalled');
    const key = `${ref.conv}#${seq}`;
    const label = convLabel(ref.conv, this.#me, this);
    if (r.already === true) this.#say(`#${seq} (${label}) was already recalled`);
    else this.#say(`recalled #${seq} (${label})`);
    this.#recallsShown.add(key);
  }

  /** `seq` (the current conversation) or `conv:seq` */
  #convAndSeq(rest: string, cmd: string): { ref: ConvRef; n: number } | null {
    const seq = parseId(rest);
    if (seq !== null) {
      if (!this.#current) {
        this.#error(`no current conversation: use ${cmd}:conv:seq (conv: 13, g5)`);
        return null;
      }
      return { ref: this.#current, n: seq };
    }
    const t = parseConvAndNumber(rest, this.#me);
    if (!t) {
      this.#error(`${cmd} command invalid! (format ${cmd}:seq or ${cmd}:conv:seq)`);
      return null;
    }
    this.#current = t.ref;
    return t;
  }

  async #showHistory(rest: string): Promise<void> {
    const ref = parseConvRef(rest, this.#me);
    if (!ref) {
      this.#error('history command invalid! (format history:conv, conv: 13 or g5)');
      return;
    }
    this.#current = ref;
    this.#history = null;
    await this.#page(ref, Number.MAX_SAFE_INTEGER);
  }

  async #more(): Promise<void> {
    const h = this.#history;
    if (!h) {
      this.#error('no history shown yet: use history:conv first');
      return;
    }
    if (!h.more) {
      this.#say(`no older messages in ${convLabel(h.ref.conv, this.#me, this)}`);
      return;
    }
    await this.#page(h.ref, h.before);
  }

  async #page(ref: ConvRef, before: number): Promise<void> {
    const label = convLabel(ref.conv, this.#me, this);
    const r = await this.#request((c) => c.history(ref.conv, { before, limit: this.#opts.pageSize }), `cannot show the history of ${label}`);
    if (!r) return;
    const events = r.events.filter((e): e is ChatEvent => !('gap' in e));
    if (r.events.length === 0) {
      this.#say(before === Number.MAX_SAFE_INTEGER ? `no messages with ${label} yet` : `no older messages in ${label}`);
      this.#history = { ref, before, more: false };
      return;
    }
    const first = r.events[0]!.seq;
    const last = r.events[r.events.length - 1]!.seq;
    const out = [`---------------- history of ${label}: #${first}-#${last} of ${r.lastSeq} ----------------`];
    for (const ev of events) {
      if (ev.kind === 'recall' || ev.kind === 'expire') continue;
      if (ev.from.id !== this.#me) this.#names.set(ev.from.id, ev.from.name);
      out.push(eventLine(ev, { me: this.#me, names: this, english: this.#opts.english, history: true, ...this.#statusOpt(ev) }));
    }
    out.push(r.more ? '---------------- more: older messages ----------------' : '---------------- start of the conversation ----------------');
    this.#say(out.join('\n'));
    this.#history = { ref, before: first, more: r.more };
  }

  async #read(rest: string): Promise<void> {
    if (rest.trim() === '') {
      const convs = await this.#request((c) => c.conversations(), 'cannot list the conversations');
      if (!convs) return;
      const unread = convs.filter((c) => c.unread > 0);
      if (unread.length === 0) {
        this.#say('nothing unread');
        return;
      }
      for (const c of unread) await this.#markRead(c.conv, c.lastSeq);
      return;
    }
    const ref = parseConvRef(rest, this.#me);
    if (ref) {
      const convs = await this.#request((c) => c.conversations(), 'cannot list the conversations');
      if (!convs) return;
      const st = convs.find((c) => c.conv === ref.conv);
      const label = convLabel(ref.conv, this.#me, this);
      if (!st || st.lastSeq === 0) this.#say(`no messages with ${label} yet`);
      else if (st.read >= st.lastSeq) this.#say(`${label}: already read up to #${st.read}`);
      else await this.#markRead(ref.conv, st.lastSeq);
      this.#current = ref;
      return;
    }
    const t = parseConvAndNumber(rest, this.#me);
    if (!t) {
      this.#error('read command invalid! (format read, read:conv or read:conv:seq)');
      return;
    }
    this.#current = t.ref;
    await this.#markRead(t.ref.conv, t.n);
  }

  async #markRead(conv: string, seq: number): Promise<void> {
    const label = convLabel(conv, this.#me, this);
    const r = await this.#request((c) => c.markRead(conv, seq), `cannot mark ${label} read`);
    if (r) this.#say(`${label}: read up to #${seq}`);
  }

  async #status(rest: string): Promise<void> {
    const target = this.#convAndSeq(rest, 'status');
    if (!target) return;
    const { ref, n: seq } = target;
    const r = await this.#request((c) => c.messageStatus(ref.conv, seq), `no status for #${seq}`);
    if (!r) return;
    const sender = r.sender as number;
    const members = r.members as number;
    const label = convLabel(ref.conv, this.#me, this);
    const out = [
      `#${seq} (${label}) from ${userLabel(sender, this)}: ${STATUS_NAMES[r.status as number] ?? String(r.status)}` +
        (ref.kind === 'group' ? `, delivered ${String(r.delivered)}/${members}, read ${String(r.read)}/${members}` : ''),
    ];
    const who = (ids: unknown) => (Array.isArray(ids) && ids.length > 0 ? ids.map((id) => userLabel(id as number, this)).join(', ') : '-');
    if (r.deliveredBy !== undefined) {
      out.push(`  delivered to: ${who(r.deliveredBy)}`);
      out.push(`  read by: ${who(r.readBy)}`);
    }
    this.#say(out.join('\n'));
  }

  async #convs(): Promise<void> {
    const convs = await this.#request((c) => c.conversations(), 'cannot list the conversations');
    if (!convs) return;
    const out = ['----------------------conversations---------------------'];
    if (convs.length === 0) out.push('no conversations yet');
    for (const c of convs) {
      out.push(`${convLabel(c.conv, this.#me, this)} ${c.conv} last #${c.lastSeq} unread ${c.unread}${c.leftSeq !== undefined ? ' (left)' : ''}`);
    }
    out.push('======================================================');
    this.#say(out.join('\n'));
  }

  /** `encrypt:conv` seals my messages in conv from now on; `encrypt:conv:off` stops */
  async #encrypt(rest: string): Promise<void> {
    const off = /:\s*off\s*$/.test(rest);
    const ref = parseConvRef(off ? rest.replace(/:\s*off\s*$/, '') : rest, this.#me);
    const c = this.#connected();
    if (!ref) return this.#error('encrypt command invalid! (format encrypt:conv or encrypt:conv:off, conv: 13 or g5)');
    if (!c) return;
    const label = convLabel(ref.conv, this.#me, this);
    try {
      if (await this.#e2e.encrypt(c, ref.conv, !off)) this.#say(`[this device's key is new: kept in ${this.#e2e.file}]`);
    } catch (err) {
      return this.#error(`cannot ${off ? 'stop encrypting' : 'encrypt'} ${label}: ${describeError(err)}`);
    }
    this.#current = ref;
    this.#say(off ? `your messages to ${label} are sent in plain text again` : `your messages to ${label} are end-to-end encrypted from now on (compare fingerprints to be sure of the keys)`);
  }

  /** `fingerprint`: this device's key; `fingerprint:userid`: the keys that user's devices published */
  async #fingerprint(rest: string): Promise<void> {
    if (rest.trim() === '') {
      const mine = await this.#e2e.mine();
      this.#say(mine ? `this device ${mine.device}: ${mine.fingerprint}` : 'this device has no key yet (encrypt:conv makes one)');
      return;
    }
    const id = parseId(rest);
    if (id === null) return this.#error('fingerprint command invalid! (format fingerprint or fingerprint:userid)');
    const keys = await this.#request((c) => this.#e2e.of(c, id), `cannot fetch the keys of ${userLabel(id, this)}`);
    if (!keys) return;
    if (keys.length === 0) this.#say(`${userLabel(id, this)} has published no device key`);
    for (const k of keys) this.#say(`${userLabel(id, this)} device ${k.device}: ${k.fingerprint}`);
  }

  // ---- the stream

  #onEvent(ev: ChatEvent): void {
    const key = ev.kind === 'recall' ? `${ev.conv}#${ev.recalledSeq ?? 0}` : `${ev.conv}#${ev.seq}`;
    if (!ev.own) this.#names.set(ev.from.id, ev.from.name);
    const opts = { me: this.#me, names: this, english: this.#opts.english };
    if (ev.kind === 'recall') {
      if (ev.recalledSeq !== undefined) this.#setOwn(ev.conv, ev.recalledSeq, 'recalled');
      if (this.#recallsShown.has(key)) return;
      this.#recallsShown.add(key);
      this.#say(this.#screen.style('dim', eventLine(ev, opts)));
      return;
    }
    if (ev.kind !== 'chat') {
      this.#say(this.#screen.style('dim', eventLine(ev, opts)));
      return;
    }
    if (ev.recalled) this.#recallsShown.add(key);
    if (ev.own && !ev.recalled) {
      const ref = refOfConv(ev.conv, this.#me);
      let st: OwnStatus = 'sent';
      if (ref?.kind === 'pair') {
        const m = this.#marks.get(ev.conv)?.get(ref.peer);
        if (m && m.read >= ev.seq) st = 'read';
        else if (m && m.delivered >= ev.seq) st = 'delivered';
      }
      this.#setOwn(ev.conv, ev.seq, st);
      this.#say(eventLine(ev, { ...opts, status: st }));
      if (ref?.kind === 'group') this.#replayGroupMarks(ev.conv, ev.seq, ref.groupid);
      return;
    }
    const line = eventLine(ev, opts);
    this.#say(ev.groupid !== undefined ? this.#screen.style('cyan', line) : line);
  }

  /** receipts for a group message that came before its ack did */
  #replayGroupMarks(conv: string, seq: number, groupid: number): void {
    const prefix = groupPrefix(groupid, this.#opts.english);
    for (const [uid, m] of this.#marks.get(conv) ?? []) {
      if (uid === this.#me) continue;
      if (m.read >= seq) this.#say(this.#screen.style('dim', `${prefix}#${seq} read by ${userLabel(uid, this)}`));
      else if (m.delivered >= seq) this.#say(this.#screen.style('dim', `${prefix}#${seq} delivered to ${userLabel(uid, this)}`));
    }
  }

  #statusOpt(ev: ChatEvent): { status?: OwnStatus } {
    if (!ev.own || ev.recalled) return {};
    const known = this.#own.get(ev.conv)?.get(ev.seq);
    if (known) return { status: known };
    const ref = refOfConv(ev.conv, this.#me);
    if (ref?.kind !== 'pair') return {};
    const m = this.#marks.get(ev.conv)?.get(ref.peer);
    if (!m) return {};
    return { status: m.read >= ev.seq ? 'read' : m.delivered >= ev.seq ? 'delivered' : 'sent' };
  }

  #setOwn(conv: string, seq: number, st: OwnStatus): void {
    let m = this.#own.get(conv);
    if (!m) {
      if (st === 'recalled') return;
      this.#own.set(conv, (m = new Map()));
    }
    if (st === 'recalled' && !m.has(seq)) return;
    m.set(seq, st);
  }

  #marksOf(conv: string): Map<number, Marks> {
    let m = this.#marks.get(conv);
    if (!m) this.#marks.set(conv, (m = new Map()));
    return m;
  }

  /** MSG_STATUS_UPDATE: user `userid` has `conv` up to `delivered`, read up to `read` */
  #onStatus(f: WireFrame): void {
    const conv = f.conv;
    const uid = f.userid;
    if (typeof conv !== 'string' || typeof uid !== 'number' || !this.#info) return;
    const marks = this.#marksOf(conv);
    const prev = marks.get(uid) ?? { delivered: 0, read: 0 };
    const next = {
      delivered: Math.max(prev.delivered, typeof f.delivered === 'number' ? f.delivered : 0),
      read: Math.max(prev.read, typeof f.read === 'number' ? f.read : 0),
    };
    marks.set(uid, next);
    const own = this.#own.get(conv);
    if (!own) return;
    const ref = refOfConv(conv, this.#me);
    const delivered: number[] = [];
    const read: number[] = [];
    for (const [seq, st] of [...own].sort((a, b) => a[0] - b[0])) {
      if (st === 'recalled') continue;
      if (ref?.kind === 'pair') {
        if (seq <= next.read && st !== 'read') {
          own.set(seq, 'read');
          read.push(seq);
        } else if (seq <= next.delivered && (st === 'sent' || st === 'sending')) {
          own.set(seq, 'delivered');
          delivered.push(seq);
        }
      } else if (seq > prev.read && seq <= next.read) read.push(seq);
      else if (seq > prev.delivered && seq <= next.delivered) delivered.push(seq);
    }
    const prefix = ref?.kind === 'group' ? groupPrefix(ref.groupid, this.#opts.english) : '';
    const who = userLabel(uid, this);
    if (delivered.length > 0) this.#say(this.#screen.style('dim', `${prefix}${seqList(delivered)} delivered to ${who}`));
    if (read.length > 0) this.#say(this.#screen.style('dim', `${prefix}${seqList(read)} read by ${who}`));
  }

  // ---- the end

  async #exit(code: number): Promise<number> {
    if (this.#unsent.size > 0) {
      const until = Date.now() + UNSENT_WAIT_MS;
      let told = false;
      while (this.#unsent.size > 0 && Date.now() < until) {
        if (!told && Date.now() > until - UNSENT_WAIT_MS + 1000) {
          told = true;
          this.#notice(`[waiting for ${this.#unsent.size} message(s) to be sent…]`);
        }
        await sleep(20);
      }
      if (this.#unsent.size > 0) {
        this.#error(`[${this.#unsent.size} message(s) could not be sent]`);
        code = code === Exit.OK ? Exit.CONNECT : code;
      }
    }
    return endClient(this.#screen, code, () => this.#client?.close());
  }
}
