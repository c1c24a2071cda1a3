/**
 * The browser client: what bin/chatclient does, on a page. The protocol, its order, acks,
 * resend and reconnect are lib/client's ClientCore over a WebSocket (ws-wire.ts); this file
 * wires it to the page.
 */
import { ClientCore, type ChatEvent } from '../client/core.js';
import { loadIdentity, newIdentity } from '../client/e2e.js';
import { WebSocketWire } from '../client/ws-wire.js';
import { pairConv, parseId, refOfConv } from '../cli/client/conv.js';
import { describeError, describeReply } from '../cli/client/errors.js';
import { userLabel } from '../cli/client/format.js';
import { byId, el, field, onSubmit } from './dom.js';
import { loadKeys, saveKeys, type WebKeys } from './keys.js';
import { ChatModel } from './model.js';
import { logLine, renderConvs, renderMessages } from './view.js';

/** messages per history page */
const PAGE = 30;
const WS_URL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const LAST_ID = 'clusterchat.lastId';

class Page {
  #client: ClientCore | null = null;
  #model: ChatModel | null = null;
  /** events that came before the model (during the login reply) */
  #early: ChatEvent[] = [];
  #open: string | null = null;
  #loading = false;
  readonly #asked = new Set<string>();
  /** the logged-in user's device key, once it has one */
  #keys: WebKeys | null = null;
  readonly #log = byId('log');
  readonly #messages = byId('messages');

  start(): void {
    const login = byId<HTMLFormElement>('login-form');
    const lastId = localStorage.getItem(LAST_ID);
    if (lastId) field(login, 'id').value = lastId;
    onSubmit(login, () => void this.#login(login));
    const reg = byId<HTMLFormElement>('register-form');
    onSubmit(reg, () => void this.#register(reg));
    const friend = byId<HTMLFormElement>('add-friend');
    onSubmit(friend, () => void this.#addFriend(friend));
    const group = byId<HTMLFormElement>('create-group');
    onSubmit(group, () => void this.#createGroup(group));
    const join = byId<HTMLFormElement>('join-group');
    onSubmit(join, () => void this.#joinGroup(join));
    const composer = byId<HTMLFormElement>('composer');
    onSubmit(composer, () => void this.#send(composer));
    const sealed = field(composer, 'e2e');
    sealed.addEventListener('change', () => void this.#seal(sealed.checked));
    byId('earlier').addEventListener('click', () => void this.#earlier());
    this.#messages.addEventListener('scroll', () => {
      if (this.#messages.scrollTop === 0) void this.#earlier();
    });
    byId('logout').addEventListener('click', () => void this.#logout());
    document.addEventListener('visibilitychange', () => this.#markRead());
    void this.#connect();
  }

  // ---- connection

  async #connect(): Promise<void> {
    this.#conn('connecting…');
    for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
      try {
        const client = await ClientCore.open(() => WebSocketWire.open(WS_URL));
        this.#attach(client);
        this.#client = client;
        this.#conn('connected');
        return;
      } catch (err) {
        this.#error(`cannot connect to the server: ${describeError(err)}; trying again`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  #attach(client: ClientCore): void {
    client.on('event', (ev) => this.#onEvent(ev));
    client.on('status', (f) => {
      const conv = this.#model?.status(f);
      if (conv) this.#refresh(conv);
    });
    client.on('notice', (f) => this.#notice(describeReply(typeof f.errno === 'number' ? f.errno : 0, typeof f.errmsg === 'string' ? f.errmsg : undefined)));
    client.on('disconnected', (err) => {
      this.#conn('reconnecting…');
      this.#error(`connection lost${err ? ` (${describeError(err)})` : ''}; reconnecting, unsent messages will be resent`);
    });
    client.on('reconnected', () => {
      this.#conn('connected');
      this.#notice('reconnected');
      void this.#request((c) => c.conversations(), 'could not refresh the conversations').then((convs) => {
        for (const s of convs ?? []) this.#model?.summary(s);
        this.#refresh(null);
      });
    });
    client.on('error', (err) => this.#error(describeError(err)));
  }

  /** runs a request; a failure is one error line and resolves null */
  async #request<T>(fn: (c: ClientCore) => Promise<T>, what: string, context?: 'register' | 'login'): Promise<T | null> {
    if (!this.#client) {
      this.#error(`${what}: not connected yet`);
      return null;
    }
    try {
      return await fn(this.#client);
    } catch (err) {
      this.#error(`${what}: ${describeError(err, context)}`);
      return null;
    }
  }

  // ---- account

  async #register(form: HTMLFormElement): Promise<void> {
    const name = field(form, 'name').value.trim();
    const id = await this.#request((c) => c.register(name, field(form, 'password').value), 'registration failed', 'register');
    if (id === null) return;
    this.#notice(`registered ${name}: your user id is ${id}; log in with it`);
    field(byId<HTMLFormElement>('login-form'), 'id').value = String(id);
    form.reset();
  }

  async #login(form: HTMLFormElement): Promise<void> {
    const id = parseId(field(form, 'id').value);
    if (id === null) {
      this.#error('login failed: the user id is a number');
      return;
    }
    // a device key kept in this browser goes to the library first: the first sync opens sealed messages
    this.#keys = loadKeys(id);
    const keys = this.#keys;
    await this.#request(async (c) => {
      await c.enableE2E(keys ? await loadIdentity(keys.identity) : null);
      for (const conv of keys?.sealed ?? []) c.setSealed(conv, true);
    }, 'end-to-end encryption is off');
    const info = await this.#request((c) => c.login(id, field(form, 'password').value), 'login failed', 'login');
    if (!info) return;
    localStorage.setItem(LAST_ID, String(id));
    form.reset();
    field(form, 'id').value = String(id);
    const model = new ChatModel(info);
    this.#model = model;
    for (const ev of this.#early.splice(0)) model.add(ev);
    byId('me').textContent = userLabel(model.me, model);
    byId('auth').hidden = true;
    byId('app').hidden = false;
    byId('logout').hidden = false;
    this.#notice(`logged in as ${userLabel(model.me, model)}`);
    this.#refresh(null);
  }

  async #logout(): Promise<void> {
    await this.#request((c) => c.logout(), 'logout failed');
    this.#model = null;
    this.#keys = null;
    this.#open = null;
    this.#asked.clear();
    byId('auth').hidden = false;
    byId('app').hidden = true;
    byId('logout').hidden = true;
    byId('me').textContent = '';
    this.#notice('logged out');
  }

  // ---- contacts

  async #addFriend(form: HTMLFormElement): Promise<void> {
    const id = parseId(field(form, 'id').value);
    if (id === null) return this.#error('add friend: the user id is a number');
    const r = await this.#request((c) => c.addFriend(id), 'add friend failed');
    if (!r || !this.#model) return;
    this.#model.addFriend(id, typeof r.name === 'string' ? r.name : '');
    form.reset();
    this.#notice(`friend ${userLabel(id, this.#model)} added`);
    this.#openConv(pairConv(this.#model.me, id));
  }

  async #createGroup(form: HTMLFormElement): Promise<void> {
    const name = field(form, 'name').value.trim();
    const gid = await this.#request((c) => c.createGroup(name, field(form, 'desc').value.trim()), 'create group failed');
    if (gid === null || !this.#model) return;
    this.#model.addGroup(gid, name, this.#model.me);
    form.reset();
    this.#notice(`group ${name} created, its id is ${gid}`);
    this.#openConv(`g:${gid}`);
  }

  async #joinGroup(form: HTMLFormElement): Promise<void> {
    const gid = parseId(field(form, 'id').value);
    if (gid === null) return this.#error('join group: the group id is a number');
    const r = await this.#request((c) => c.joinGroup(gid), 'join group failed');
    if (!r || !this.#model) return;
    this.#model.addGroup(gid, '', null);
    this.#model.conv(r.conv).joinedSeq = r.joinedSeq;
    form.reset();
    this.#notice(`joined group ${gid}`);
    this.#openConv(r.conv);
  }

  // ---- conversations

  #onEvent(ev: ChatEvent): void {
    if (!this.#model) {
      this.#early.push(ev);
      return;
    }
    this.#model.add(ev);
    this.#refresh(ev.conv);
  }

  #openConv(conv: string): void {
    if (!this.#model) return;
    this.#model.conv(conv);
    this.#open = conv;
    byId('chat-title').textContent = this.#model.label(conv);
    byId('composer').hidden = false;
    field(byId<HTMLFormElement>('composer'), 'e2e').checked = this.#client?.isSealed(conv) ?? false;
    this.#refresh(null);
    const c = this.#model.conv(conv);
    if (c.msgs.size < PAGE && !c.complete) void this.#earlier();
  }

  /** loads the page of history before the oldest message shown */
  async #earlier(): Promise<void> {
    const conv = this.#open;
    const model = this.#model;
    if (!conv || !model || this.#loading) return;
    const c = model.conv(conv);
    if (c.complete) return;
    const oldest = Math.min(c.lastSeq + 1, ...c.msgs.keys());
    if (oldest <= c.joinedSeq + 1) {
      c.complete = true;
      return this.#refresh(conv);
    }
    this.#loading = true;
    const page = await this.#request((cl) => cl.history(conv, { before: oldest, limit: PAGE }), 'could not load the history');
    this.#loading = false;
    if (!page) return;
    for (const ev of page.events) if (!('gap' in ev)) model.add(ev);
    c.lastSeq = Math.max(c.lastSeq, page.lastSeq);
    if (!page.more) c.complete = true;
    const before = this.#messages.scrollHeight;
    this.#refresh(conv);
    // keep the message that was on top where it was
    if (oldest <= c.lastSeq) this.#messages.scrollTop = this.#messages.scrollHeight - before;
  }

  async #send(form: HTMLFormElement): Promise<void> {
    const conv = this.#open;
    const model = this.#model;
    const text = field(form, 'text').value;
    if (!conv || !model || text.trim() === '') return;
    const ref = refOfConv(conv, model.me);
    if (!ref) return;
    form.reset();
    await this.#request((c) => (ref.kind === 'pair' ? c.sendTo(ref.peer, text) : c.sendGroup(ref.groupid, text)), `not sent ("${text}")`);
  }

  /** "encrypted" ticked (or not) for the open conversation; the first tick makes this browser's device key */
  async #seal(on: boolean): Promise<void> {
    const conv = this.#open;
    const model = this.#model;
    if (!conv || !model) return;
    const done = await this.#request(async (c) => {
      let keys = this.#keys;
      if (!keys) {
        keys = { identity: await newIdentity(), sealed: [] };
        await c.enableE2E(await loadIdentity(keys.identity));
        this.#keys = keys;
        this.#notice(`this browser has a device key now (${keys.identity.device})`);
      }
      c.setSealed(conv, on);
      keys.sealed = on ? [...new Set([...keys.sealed, conv])] : keys.sealed.filter((x) => x !== conv);
      saveKeys(model.me, keys);
      return true;
    }, 'could not change end-to-end encryption');
    if (done) this.#notice(on ? `your messages to ${model.label(conv)} are end-to-end encrypted from now on` : `your messages to ${model.label(conv)} are sent in plain text again`);
  }

  async #recall(conv: string, seq: number): Promise<void> {
    const r = await this.#request((c) => c.recall(conv, seq), `could not recall #${seq}`);
    if (!r || !this.#model) return;
    this.#model.recalled(conv, seq);
    this.#notice(`recalled #${seq} (${this.#model.label(conv)})`);
    this.#refresh(conv);
  }

  async #who(conv: string, seq: number): Promise<void> {
    const r = await this.#request((c) => c.messageStatus(conv, seq), `no status for #${seq}`);
    const model = this.#model;
    if (!r || !model) return;
    model.queried(r);
    const names = (v: unknown) => (Array.isArray(v) && v.length > 0 ? v.map((id) => userLabel(id as number, model)).join(', ') : 'nobody');
    this.#notice(`#${seq} (${model.label(conv)}): delivered to ${names(r.deliveredBy)}; read by ${names(r.readBy)}`);
    this.#refresh(conv);
  }

  /** marks the open conversation read up to its last message, when the page is seen */
  #markRead(): void {
    const conv = this.#open;
    const c = conv ? this.#model?.convs.get(conv) : undefined;
    if (!conv || !c || document.visibilityState !== 'visible' || c.lastSeq <= Math.max(c.read, c.joinedSeq)) return;
    const seq = c.lastSeq;
    c.read = seq;
    void this.#request((cl) => cl.markRead(conv, seq), `could not mark ${this.#model?.label(conv) ?? conv} read`);
  }

  // ---- the page

  /** redraws the list, and the open conversation when it is `conv` (or always with null) */
  #refresh(conv: string | null): void {
    const model = this.#model;
    if (!model) return;
    if (conv === null || conv === this.#open) this.#markRead();
    renderConvs(byId('convs'), model, this.#open, (cv) => this.#openConv(cv));
    this.#renderContacts(model);
    if (!this.#open || (conv !== null && conv !== this.#open)) return;
    const c = model.conv(this.#open);
    const atBottom = this.#messages.scrollHeight - this.#messages.scrollTop - this.#messages.clientHeight < 40;
    renderMessages(this.#messages, model, c, { recall: (cv, s) => void this.#recall(cv, s), who: (cv, s) => void this.#who(cv, s) });
    byId('earlier').hidden = c.complete;
    if (atBottom) this.#messages.scrollTop = this.#messages.scrollHeight;
    this.#askReceipts(c.conv);
  }

  /** my group messages on screen get their receipts once from the server; pushes update them */
  #askReceipts(conv: string): void {
    const model = this.#model;
    const c = model?.convs.get(conv);
    if (!model || !c || !conv.startsWith('g:')) return;
    for (const m of c.msgs.values()) {
      const key = `${conv}#${m.seq}`;
      if (!m.own || m.recalled || m.kind !== 'chat' || this.#asked.has(key)) continue;
      this.#asked.add(key);
      void this.#client?.messageStatus(conv, m.seq).then(
        (r) => {
          model.queried(r);
          this.#refresh(conv);
        },
        (err: unknown) => this.#error(`no status for #${m.seq}: ${describeError(err)}`),
      );
    }
  }

  #renderContacts(model: ChatModel): void {
    byId('friends').replaceChildren(
      ...[...model.friends].map(([id, f]) => {
        const li = el('li', 'friend', `${userLabel(id, model)} ${f.state}`, { 'data-id': String(id) });
        li.addEventListener('click', () => this.#openConv(pairConv(model.me, id)));
        return li;
      }),
    );
    byId('groups').replaceChildren(
      ...[...model.groups].map(([id]) => {
        const li = el('li', 'group', model.label(`g:${id}`), { 'data-id': String(id) });
        li.addEventListener('click', () => this.#openConv(`g:${id}`));
        return li;
      }),
    );
  }

  #conn(text: string): void {
    const c = byId('conn');
    c.textContent = text;
    c.dataset.state = text === 'connected' ? 'up' : 'down';
  }

  #notice(text: string): void {
    logLine(this.#log, 'notice', text);
  }

  #error(text: string): void {
    logLine(this.#log, 'error', text);
  }
}

new Page().start();
