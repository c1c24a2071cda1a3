/**
 * A logged-in session: one user on one connection. It owns the push order of every
 * conversation it receives: each conversation's events go out in msgSeq order with no repeats,
 * and when a later seq shows up first (another process committed it, or a push was lost on the
 * bus) the missing range is read from the log before it. Legacy clients cannot reorder, so this
 * is where their order is guaranteed; v2 clients get the same order for free.
 */
import type { ConvId, LogEvent, Store } from '../store/types.js';
import { MsgId } from '../protocol/msgid.js';
import type { Connection } from './connection.js';

interface Pending {
  ev: LogEvent;
  /** the session that sent it: it got an ack instead, so the push only advances its order */
  origin: string | undefined;
}

interface Cursor {
  /** highest seq pushed (or known to the client); null until first needed */
  pushed: number | null;
  /** events waiting while a gap is read from the log */
  waiting: Pending[];
  filling: boolean;
}

export interface SessionDeps {
  store: Store;
  /** renders an event as a JSON line for this session's flavour; null: it does not show it */
  render: (ev: LogEvent, session: Session) => string | null;
  /** a legacy push reached the socket: the user now has it (DELIVERED) */
  onLegacyWritten: (session: Session, conv: ConvId, seq: number) => void;
  onError: (err: unknown, session: Session) => void;
}

/** most events a gap fill reads in one go */
const FILL_PAGE = 500;

export class Session {
  readonly id: string;
  readonly userId: number;
  readonly name: string;
  readonly conn: Connection;
  readonly #deps: SessionDeps;
  readonly #cursors = new Map<ConvId, Cursor>();
  #ended = false;
  #held = false;

  constructor(id: string, userId: number, name: string, conn: Connection, deps: SessionDeps) {
    this.id = id;
    this.userId = userId;
    this.name = name;
    this.conn = conn;
    this.#deps = deps;
  }

  /** a legacy session gets the original's shapes; a connection that says "v":2 turns v2 */
  get legacy(): boolean {
    return !this.conn.v2;
  }

  get ended(): boolean {
    return this.#ended || this.conn.closed;
  }

  end(): void {
    this.#ended = true;
    this.#cursors.clear();
  }

  /** queue pushes (while the login reply is being made) until release() */
  hold(): void {
    this.#held = true;
  }

  /** sends what was held, each conversation in order */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    for (const c of this.#cursors.values()) {
      if (c.waiting.length === 0) continue;
      const waiting = c.waiting;
      c.waiting = [];
      for (const { ev, origin } of waiting.sort((x, y) => x.ev.seq - y.ev.seq)) this.push(ev, origin);
    }
  }

  /** the client already has this conversation up to `seq` (login offline messages, sync) */
  setPosition(conv: ConvId, seq: number): void {
    const c = this.#cursor(conv);
    if (c.pushed === null || seq > c.pushed) c.pushed = seq;
  }

  /** pushes one committed event, keeping this conversation's order */
  push(ev: LogEvent, origin?: string): void {
    if (this.ended) return;
    const c = this.#cursor(ev.conv);
    if (c.filling || this.#held) {
      c.waiting.push({ ev, origin });
      return;
    }
    if (c.pushed === null && !this.legacy) c.pushed = ev.seq - 1;
    if (c.pushed !== null) {
      if (ev.seq <= c.pushed) return;
      if (ev.seq === c.pushed + 1) {
        this.#write(ev, origin);
        c.pushed = ev.seq;
        return;
      }
    }
    c.waiting.push({ ev, origin });
    c.filling = true;
    this.#fill(ev.conv, c).catch((err: unknown) => {
      c.filling = false;
      c.waiting = [];
      this.#deps.onError(err, this);
    });
  }

  #cursor(conv: ConvId): Cursor {
    let c = this.#cursors.get(conv);
    if (!c) {
      c = { pushed: null, waiting: [], filling: false };
      this.#cursors.set(conv, c);
    }
    return c;
  }

  async #fill(conv: ConvId, c: Cursor): Promise<void> {
    if (c.pushed === null) {
      // a legacy session meeting this conversation for the first time: it has what it was
      // delivered (and nothing before it joined)
      const st = await this.#deps.store.convState(this.userId, conv);
      c.pushed = st ? Math.max(st.delivered, st.joinedSeq) : 0;
    }
    while (c.waiting.length > 0 && !this.ended) {
      c.waiting.sort((x, y) => x.ev.seq - y.ev.seq);
      const { ev: next, origin } = c.waiting[0]!;
      if (next.seq <= c.pushed) {
        c.waiting.shift();
        continue;
      }
      if (next.seq > c.pushed + 1) {
        const upTo = Math.min(next.seq - 1, c.pushed + FILL_PAGE);
        const missing = await this.#deps.store.readRange(conv, c.pushed + 1, upTo, FILL_PAGE);
        for (const ev of missing) {
          if (ev.seq > c.pushed) {
            this.#write(ev, undefined);
            c.pushed = ev.seq;
          }
        }
        // seqs the log does not hold are holes that will never fill
        c.pushed = Math.max(c.pushed, upTo);
        continue;
      }
      c.waiting.shift();
      this.#write(next, origin);
      c.pushed = next.seq;
    }
    c.filling = false;
  }

  #write(ev: LogEvent, origin: string | undefined): void {
    // the sending session has its ack; a legacy client would show its own line as incoming
    if (origin === this.id || (this.legacy && ev.senderId === this.userId)) return;
    const line = this.#deps.render(ev, this);
    if (line === null) return;
    // what the push is on the wire: a recall (v2) or a one-to-one or group chat line
    const msgid = ev.kind === 'recall' && !this.legacy ? MsgId.RECALL_MSG : ev.conv.startsWith('g:') ? MsgId.GROUP_CHAT_MSG : MsgId.ONE_CHAT_MSG;
    if (this.legacy) this.conn.sendLine(line, msgid, () => this.#deps.onLegacyWritten(this, ev.conv, ev.seq));
    else this.conn.sendLine(line, msgid);
  }
}
