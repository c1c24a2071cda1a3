/**
 * What the browser client knows, apart from the page: names, friends, groups, each
 * conversation's messages by seq with its unread count, and the receipts of the user's own
 * messages (the peer's watermarks one-to-one; who has each group message). Pure: no DOM, no
 * socket, so it is the same in a browser and in a test.
 */
import type { ChatEvent, ConvSummary, LoginInfo, WireFrame } from '../client/core.js';
import { convLabel, shownText, type Names } from '../cli/client/format.js';
import { refOfConv } from '../cli/client/conv.js';

/** the server's default --recall-window: the page offers a recall within it (the server decides) */
export const RECALL_WINDOW_MS = 120_000;

export interface Msg {
  seq: number;
  kind: ChatEvent['kind'];
  from: { id: number; name: string };
  text: string;
  time: string;
  ts: number;
  own: boolean;
  recalled: boolean;
  recalledSeq?: number;
}

export interface Conv {
  conv: string;
  lastSeq: number;
  /** my read watermark */
  read: number;
  /** seqs at or below it are outside my window */
  joinedSeq: number;
  msgs: Map<number, Msg>;
  /** no older history to load */
  complete: boolean;
}

export interface Receipt {
  status: 'sent' | 'delivered' | 'read';
  /** groups: members other than the sender, and who of them has it / read it */
  members?: number;
  deliveredBy?: number[];
  readBy?: number[];
}

interface Marks {
  delivered: number;
  read: number;
}

interface GroupInfo {
  name: string;
  creator: number | null;
  members: Set<number>;
}

export class ChatModel implements Names {
  readonly me: number;
  readonly myName: string;
  readonly friends = new Map<number, { name: string; state: string }>();
  readonly groups = new Map<number, GroupInfo>();
  readonly convs = new Map<string, Conv>();
  readonly #names = new Map<number, string>();
  /** conv -> user -> watermarks, from status pushes and the login summary */
  readonly #marks = new Map<string, Map<number, Marks>>();
  /** `conv#seq` -> what MSG_STATUS_QUERY said of one of my group messages */
  readonly #queried = new Map<string, { members: number; deliveredBy: number[]; readBy: number[] }>();

  constructor(info: LoginInfo) {
    this.me = info.id;
    this.myName = info.name;
    this.#names.set(info.id, info.name);
    for (const f of info.friends) this.addFriend(f.id, f.name, f.state);
    for (const g of info.groups) {
      const creator = g.users.find((u) => u.role === 'creator')?.id ?? null;
      this.groups.set(g.id, { name: g.groupname, creator, members: new Set(g.users.map((u) => u.id)) });
      for (const u of g.users) this.#names.set(u.id, u.name);
    }
    for (const c of info.convs) this.summary(c);
  }

  name(id: number): string | undefined {
    return this.#names.get(id);
  }

  groupName(id: number): string | undefined {
    return this.groups.get(id)?.name;
  }

  label(conv: string): string {
    return convLabel(conv, this.me, this);
  }

  addFriend(id: number, name: string, state = 'online'): void {
    this.friends.set(id, { name, state });
    this.#names.set(id, name);
  }

  addGroup(id: number, name: string, creator: number | null): void {
    const g = this.groups.get(id) ?? { name, creator, members: new Set<number>() };
    g.members.add(this.me);
    this.groups.set(id, g);
  }

  conv(conv: string): Conv {
    let c = this.convs.get(conv);
    if (!c) this.convs.set(conv, (c = { conv, lastSeq: 0, read: 0, joinedSeq: 0, msgs: new Map(), complete: false }));
    return c;
  }

  /** a conversation summary (login, CONV_LIST) */
  summary(s: ConvSummary): void {
    const c = this.conv(s.conv);
    c.lastSeq = Math.max(c.lastSeq, s.lastSeq);
    c.read = Math.max(c.read, s.read);
    c.joinedSeq = s.joinedSeq;
    const ref = refOfConv(s.conv, this.me);
    if (ref?.kind === 'pair' && s.peerDelivered !== undefined) this.mark(s.conv, ref.peer, s.peerDelivered, s.peerRead ?? 0);
  }

  unread(conv: string): number {
    const c = this.convs.get(conv);
    if (!c) return 0;
    let n = 0;
    for (let s = Math.max(c.read, c.joinedSeq) + 1; s <= c.lastSeq; s++) {
      const m = c.msgs.get(s);
      if (!m || (!m.own && m.kind === 'chat')) n++;
    }
    return n;
  }

  /** an event of the live stream or of a history page; returns its conversation */
  add(ev: ChatEvent): Conv {
    const c = this.conv(ev.conv);
    if (!ev.own) this.#names.set(ev.from.id, ev.from.name);
    const msg: Msg = { seq: ev.seq, kind: ev.kind, from: ev.from, text: eventText(ev), time: ev.time, ts: ev.ts, own: ev.own, recalled: ev.recalled };
    if (ev.recalledSeq !== undefined) msg.recalledSeq = ev.recalledSeq;
    c.msgs.set(ev.seq, msg);
    c.lastSeq = Math.max(c.lastSeq, ev.seq);
    if (ev.own) c.read = Math.max(c.read, ev.seq);
    if (ev.kind === 'recall' && ev.recalledSeq !== undefined) this.recalled(ev.conv, ev.recalledSeq);
    const gone = ev.kind === 'expire' && ev.expiredSeq !== undefined ? c.msgs.get(ev.expiredSeq) : undefined;
    if (gone) gone.text = '[expired]';
    return c;
  }

  recalled(conv: string, seq: number): void {
    const m = this.convs.get(conv)?.msgs.get(seq);
    if (m) {
      m.recalled = true;
      m.text = '';
    }
  }

  /** MSG_STATUS_UPDATE */
  status(f: WireFrame): string | null {
    if (typeof f.conv !== 'string' || typeof f.userid !== 'number') return null;
    this.mark(f.conv, f.userid, typeof f.delivered === 'number' ? f.delivered : 0, typeof f.read === 'number' ? f.read : 0);
    return f.conv;
  }

  mark(conv: string, user: number, delivered: number, read: number): void {
    let m = this.#marks.get(conv);
    if (!m) this.#marks.set(conv, (m = new Map()));
    const prev = m.get(user) ?? { delivered: 0, read: 0 };
    m.set(user, { delivered: Math.max(prev.delivered, delivered), read: Math.max(prev.read, read) });
    if (user === this.me) this.conv(conv).read = Math.max(this.conv(conv).read, read);
  }

  /** MSG_STATUS_ACK for one of my group messages */
  queried(f: WireFrame): void {
    if (typeof f.conv !== 'string' || typeof f.msgSeq !== 'number') return;
    const ids = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);
    this.#queried.set(`${f.conv}#${f.msgSeq}`, { members: typeof f.members === 'number' ? f.members : 0, deliveredBy: ids(f.deliveredBy), readBy: ids(f.readBy) });
  }

  /** whether a group message's receipt was asked for */
  hasQueried(conv: string, seq: number): boolean {
    return this.#queried.has(`${conv}#${seq}`);
  }

  /** the status of one of my messages (null for others' and recalled ones) */
  receipt(conv: string, msg: Msg): Receipt | null {
    if (!msg.own || msg.recalled || msg.kind !== 'chat') return null;
    const marks = this.#marks.get(conv);
    const ref = refOfConv(conv, this.me);
    if (ref?.kind === 'pair') {
      const m = ref.peer === this.me ? { delivered: msg.seq, read: msg.seq } : marks?.get(ref.peer);
      return { status: m && m.read >= msg.seq ? 'read' : m && m.delivered >= msg.seq ? 'delivered' : 'sent' };
    }
    const q = this.#queried.get(`${conv}#${msg.seq}`);
    const deliveredBy = new Set(q?.deliveredBy);
    const readBy = new Set(q?.readBy);
    for (const [user, m] of marks ?? []) {
      if (user === this.me) continue;
      if (m.delivered >= msg.seq) deliveredBy.add(user);
      if (m.read >= msg.seq) readBy.add(user);
    }
    const members = Math.max(q?.members ?? 0, deliveredBy.size);
    const status = members > 0 && readBy.size >= members ? 'read' : members > 0 && deliveredBy.size >= members ? 'delivered' : 'sent';
    return { status, members, deliveredBy: [...deliveredBy].sort((a, b) => a - b), readBy: [...readBy].sort((a, b) => a - b) };
  }

  /** my own message within the recall window, or any chat message of a group I created */
  canRecall(conv: string, msg: Msg, now: number): boolean {
    if (msg.recalled || msg.kind !== 'chat') return false;
    if (msg.own && now - msg.ts < RECALL_WINDOW_MS) return true;
    const ref = refOfConv(conv, this.me);
    return ref?.kind === 'group' && this.groups.get(ref.groupid)?.creator === this.me;
  }
}

/** what a message line shows: the text, or what a timer or expiry event says */
function eventText(ev: ChatEvent): string {
  if (ev.kind === 'expire') return `#${ev.expiredSeq ?? '?'} expired`;
  if (ev.kind === 'timer') return ev.ttl ? `set disappearing messages to ${ev.ttl} s` : 'turned disappearing messages off';
  return ev.expired ? '[expired]' : shownText(ev);
}
