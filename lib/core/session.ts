/**
 * A logged-in session: one user on one connection. It owns the push order of every
 * conversation it receives: each conversation's events go out in msgSeq order with no repeats
 * and nothing skipped.
 *
 * Where a conversation starts for a session is never guessed from the first push it sees:
 * a v2 session starts after the `lastSeq` its login summary showed (the client syncs up to
 * there), a legacy one after what its `offlinemsg` held; a conversation met later starts at the
 * member's durable position read from the store (v2: where it joined; legacy: what it was
 * delivered). A later seq that arrives first (another process committed the one before it, and
 * that push is still on its way over the bus) waits up to `gapWaitMs` for the missing ones,
 * then the session reads them from the log. `catchUp` (after a bus outage, and periodically)
 * reads what was committed but never pushed.
 *
 * A session never pushes back what it sent itself (it gets an ack instead): the mids of its
 * appends in flight are remembered until its cursor passes them, so a log read cannot hand the
 * sender its own message before its ack.
 */
import { visibleTop } from '../models/conversations.js';
import type { ConvId, ConvState, LogEvent, Store } from '../store/types.js';
import { eventMsgId } from '../protocol/shapes.js';
import type { Link } from './link.js';

interface Pending {
  ev: LogEvent;
  /** the session that sent it: it got an ack instead, so the push only advances its order */
  origin: string | undefined;
}

interface Cursor {
  /** highest seq pushed (or known to the client); null until the start is read from the store */
  pushed: number | null;
  /** later seqs that arrived early (or while the log is read, or during the login reply) */
  waiting: Pending[];
  /** the log is known to hold seqs up to here: read them even if no push names them */
  target: number;
  /** reading the start position or a range of the log */
  filling: boolean;
  /** armed while a gap waits for its missing pushes */
  gapTimer: NodeJS.Timeout | null;
}

export interface SessionDeps {
  store: Store;
  /** renders an event as a JSON line for this session's flavour; null: it does not show it */
  render: (ev: LogEvent, session: Session) => string | null;
  /** a legacy push reached the socket: the user now has it (DELIVERED) */
  onLegacyWritten: (session: Session, conv: ConvId, seq: number) => void;
  onError: (err: unknown, session: Session) => void;
  /** how long a gap waits for the missing pushes before they are read from the log, ms */
  gapWaitMs: number;
}

/** most events a gap fill reads in one go */
const FILL_PAGE = 500;
/** a failed log read is tried again after this long */
const RETRY_MS = 1000;
/** early arrivals kept per conversation; past it they are dropped and read from the log instead */
const MAX_WAITING = 10_000;

export class Session {
  readonly id: string;
  readonly userId: number;
  readonly name: string;
  readonly conn: Link;
  /** a v2 session's device: the chain of resume tokens it belongs to (null: legacy) */
  readonly device: string | null;
  readonly #deps: SessionDeps;
  // made on first use: an idle connection's session holds neither (100,000 of them, docs/SCALING.md)
  #cursors: Map<ConvId, Cursor> | null = null;
  /** mids of events this session sent that its cursors have not passed yet */
  #own: Set<string> | null = null;
  /** legacy: conversations whose sealed messages this session was told it cannot read (made on first use) */
  #toldSealed: Set<ConvId> | null = null;
  #ended = false;
  #held = false;

  constructor(id: string, userId: number, name: string, conn: Link, deps: SessionDeps, device: string | null = null) {
    this.id = id;
    this.device = device;
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
    if (this.#cursors) for (const c of this.#cursors.values()) if (c.gapTimer) clearTimeout(c.gapTimer);
    this.#cursors = null;
    this.#own = null;
  }

  /**
   * a legacy session reads one notice per conversation for its sealed messages: true the
   * first time (that one shows), false after (those do not)
   */
  firstSealed(conv: ConvId): boolean {
    this.#toldSealed ??= new Set();
    if (this.#toldSealed.has(conv)) return false;
    this.#toldSealed.add(conv);
    return true;
  }

  /** queue pushes (while the login reply is being made) until release() */
  hold(): void {
    this.#held = true;
  }

  /** sends what was held, each conversation in order */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (this.#cursors) for (const [conv, c] of this.#cursors) this.#advance(conv, c);
  }

  /** the client already has this conversation up to `seq` (login summary or backlog, a join) */
  setPosition(conv: ConvId, seq: number): void {
    const c = this.#cursor(conv);
    if (c.pushed === null || seq > c.pushed) c.pushed = seq;
  }

  /** this session is sending the event with this mid: it must never be pushed back to it */
  expectOwn(mid: string): void {
    (this.#own ??= new Set()).add(mid);
  }

  /** the send with this mid will not come back (it failed, or it was a resend of an earlier one) */
  forgetOwn(mid: string): void {
    this.#own?.delete(mid);
  }

  /** pushes one committed event, keeping this conversation's order */
  push(ev: LogEvent, origin?: string): void {
    if (this.ended) return;
    const c = this.#cursor(ev.conv);
    if (c.pushed !== null && ev.seq <= c.pushed) {
      this.#own?.delete(ev.mid);
      return;
    }
    if (!this.#held && !c.filling && c.pushed !== null && ev.seq === c.pushed + 1) {
      this.#write(ev, origin);
      c.pushed = ev.seq;
      if (c.waiting.length > 0 || c.target > c.pushed) this.#advance(ev.conv, c);
      return;
    }
    c.waiting.push({ ev, origin });
    if (c.waiting.length > MAX_WAITING) this.#spill(c);
    this.#advance(ev.conv, c);
  }

  /**
   * The member's stored state of a conversation, read just now: push whatever this session has
   * not had of it, up to what the member may see. Cheap when it is up to date; a conversation
   * the session has not met yet starts where `st` says, without another read.
   */
  catchUp(st: ConvState): void {
    if (this.ended || this.#held) return;
    const top = visibleTop(st);
    let c = this.#cursors?.get(st.conv);
    if (c && c.pushed !== null && top <= c.pushed) return;
    if (!c || c.pushed === null) {
      const start = this.#startOf(st);
      if (top <= start) return;
      c ??= this.#cursor(st.conv);
      c.pushed ??= start;
    }
    c.target = Math.max(c.target, top);
    this.#advance(st.conv, c);
  }

  /**
   * Where a conversation met after login starts. Legacy: after what it was delivered. v2: its
   * login summary did not list it, so it has nothing of it since it joined.
   */
  #startOf(st: ConvState | null): number {
    if (!st) return 0;
    return this.legacy ? Math.max(st.delivered, st.joinedSeq) : st.joinedSeq;
  }

  #cursor(conv: ConvId): Cursor {
    let c = this.#cursors?.get(conv);
    if (!c) {
      c = { pushed: null, waiting: [], target: 0, filling: false, gapTimer: null };
      (this.#cursors ??= new Map()).set(conv, c);
    }
    return c;
  }

  /** sends what is next in order; reads the log when the start is unknown or a gap outlived its wait */
  #advance(conv: ConvId, c: Cursor): void {
    if (this.#held || c.filling || this.ended) return;
    if (c.pushed === null) {
      this.#fill(conv, c);
      return;
    }
    if (c.waiting.length > 0) {
      c.waiting.sort((x, y) => x.ev.seq - y.ev.seq);
      let i = 0;
      for (; i < c.waiting.length; i++) {
        const { ev, origin } = c.waiting[i]!;
        if (ev.seq <= c.pushed) {
          this.#own?.delete(ev.mid);
          continue;
        }
        if (ev.seq !== c.pushed + 1) break;
        this.#write(ev, origin);
        c.pushed = ev.seq;
      }
      c.waiting.splice(0, i);
    }
    if (c.waiting.length === 0 && c.target <= c.pushed) {
      if (c.gapTimer) clearTimeout(c.gapTimer);
      c.gapTimer = null;
      return;
    }
    // the log is known to reach further than anything waiting: no push is on its way for it
    if (c.waiting.length === 0) {
      this.#fill(conv, c);
      return;
    }
    if (!c.gapTimer) this.#fillLater(conv, c, this.#deps.gapWaitMs);
  }

  /** reads the log after `ms` (a gap's wait, or a retry), unless something else does first */
  #fillLater(conv: ConvId, c: Cursor, ms: number): void {
    c.gapTimer = setTimeout(() => {
      c.gapTimer = null;
      this.#fill(conv, c);
    }, ms);
    c.gapTimer.unref();
  }

  /** drops early arrivals from memory; they are in the log and are read from there instead */
  #spill(c: Cursor): void {
    for (const { ev } of c.waiting) c.target = Math.max(c.target, ev.seq);
    c.waiting = [];
  }

  #fill(conv: ConvId, c: Cursor): void {
    if (c.filling || this.ended) return;
    c.filling = true;
    if (c.gapTimer) clearTimeout(c.gapTimer);
    c.gapTimer = null;
    this.#readLog(conv, c).then(
      () => {
        c.filling = false;
        this.#advance(conv, c);
      },
      (err: unknown) => {
        c.filling = false;
        this.#deps.onError(err, this);
        if (this.ended) return;
        // nothing is dropped: what waits stays (or is re-read), and the read is tried again
        if (c.waiting.length > 0) this.#spill(c);
        this.#fillLater(conv, c, RETRY_MS);
      },
    );
  }

  /** reads the start position if unknown, then every seq up to what waits (or the target) */
  async #readLog(conv: ConvId, c: Cursor): Promise<void> {
    if (c.pushed === null) {
      const start = this.#startOf(await this.#deps.store.convState(this.userId, conv));
      c.pushed = Math.max(c.pushed ?? 0, start);
    }
    for (;;) {
      if (this.ended) return;
      const pushed: number = c.pushed;
      c.waiting.sort((x, y) => x.ev.seq - y.ev.seq);
      const next = c.waiting.find((p) => p.ev.seq > pushed)?.ev.seq;
      // up to the first seq that waits (and is still ahead), else as far as the log is known to reach
      const want = next === undefined ? c.target : next - 1;
      if (want <= pushed) return;
      const upTo = Math.min(want, pushed + FILL_PAGE);
      const events = await this.#deps.store.readRange(conv, pushed + 1, upTo, FILL_PAGE);
      if (this.ended) return;
      for (const ev of events) {
        if (ev.seq <= c.pushed) continue;
        this.#write(ev, undefined);
        c.pushed = ev.seq;
      }
      // seqs the log does not hold are holes that will never fill
      c.pushed = Math.max(c.pushed, upTo);
    }
  }

  #write(ev: LogEvent, origin: string | undefined): void {
    const own = this.#own !== null && this.#own.size > 0 && this.#own.delete(ev.mid);
    // the sending session has its ack; a legacy client would show its own line as incoming
    if (own || origin === this.id || (this.legacy && ev.senderId === this.userId)) return;
    const line = this.#deps.render(ev, this);
    if (line === null) return;
    // what the push is on the wire: a recall, timer or expiry event (v2) or a one-to-one or group chat line
    const msgid = eventMsgId(ev, this.legacy);
    if (this.legacy) this.conn.sendLine(line, msgid, () => this.#deps.onLegacyWritten(this, ev.conv, ev.seq));
    else this.conn.sendLine(line, msgid);
  }
}
