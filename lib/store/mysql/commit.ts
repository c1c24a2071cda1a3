/**
 * One attempt at a MySQL commit, inside a transaction the caller opened (and retries on a
 * deadlock or a concurrent duplicate cmid). Round trips do not grow with the batch: the
 * conversations are locked in sorted order by one upsert, known cmids and member rows are
 * read once, seqs are assigned in memory, and the events go out as multi-row INSERTs.
 */
import { pairMembers } from '../../protocol/conv.js';
import {
  appendedEvent,
  cmidKey,
  EVENT_SELECT,
  expireEvent,
  expiryOf,
  movePosition,
  num,
  positionCap,
  recallEvent,
  Tombstone,
  toLogEvent,
  type DbInt,
  type EventRow,
  type Watermarks,
} from '../rows.js';
import type { CommitOp, CommitResult, ConvId, LogEvent, NewEvent } from '../types.js';
import { groupedWhere, pairsWhere, run, select, type Queryable } from './db.js';

type AppendResult = CommitResult & { op: 'append' };
type PositionOp = CommitOp & { op: 'position' };

/** text bytes per event INSERT; escaping at most doubles it, well under max_allowed_packet (16 MiB) */
const MAX_INSERT_BYTES = 4 * 1024 * 1024;

interface Member extends Watermarks {
  leftSeq: number | null;
  dirty: boolean;
}

function memberKey(conv: ConvId, userId: number): string {
  return `${conv}\u0000${userId}`;
}

function sortedUnique<T>(values: T[]): T[] {
  return [...new Set(values)].sort();
}

export class CommitBatch {
  readonly #conn: Queryable;
  readonly #ops: CommitOp[];
  /** last seq of each locked conversation as the batch found it */
  readonly #lockedLast = new Map<ConvId, number>();
  /** ... and as the batch advances it */
  readonly #last = new Map<ConvId, number>();
  /** the timer of each locked conversation, as the batch found it and as its timer events set it */
  readonly #ttl = new Map<ConvId, number>();
  /** conversations whose timer a timer event of the batch set */
  readonly #ttlSet = new Set<ConvId>();
  /** last seq of conversations the batch only moves positions in (read without locking) */
  readonly #unlockedLast = new Map<ConvId, number>();
  readonly #names = new Map<number, string>();
  /** first event of every (sender, cmid) known to the batch */
  readonly #byCmid = new Map<string, LogEvent>();
  readonly #members = new Map<string, Member>();
  #pending: LogEvent[] = [];

  constructor(conn: Queryable, ops: CommitOp[]) {
    this.#conn = conn;
    this.#ops = ops;
  }

  async run(): Promise<CommitResult[]> {
    await this.#lockConversations();
    await this.#addPairMembers();
    await this.#loadNames();
    await this.#loadCmids();
    await this.#loadMembers();
    const results: CommitResult[] = [];
    for (const op of this.#ops) results.push(await this.#apply(op));
    await this.#flushEvents();
    await this.#writeMembers();
    await this.#writeLastSeqs();
    await this.#writeTimers();
    return results;
  }

  /** the ops that append to a log, with the conversation each appends to */
  #logOps(): Array<{ conv: ConvId; event: NewEvent }> {
    return this.#ops.flatMap((op) => {
      if (op.op === 'append') return [{ conv: op.event.conv, event: op.event }];
      if (op.op === 'recall' || op.op === 'expire') return [{ conv: op.conv, event: op.event }];
      return [];
    });
  }

  #positionOps(): PositionOp[] {
    return this.#ops.filter((op): op is PositionOp => op.op === 'position');
  }

  /**
   * Creates missing conversations and takes their row locks, in sorted order so two batches
   * never wait on each other crosswise (an upsert locks exclusively at once; INSERT IGNORE
   * would take shared locks that deadlock on the upgrade).
   */
  async #lockConversations(): Promise<void> {
    const convs = sortedUnique(this.#logOps().map((o) => o.conv));
    if (convs.length === 0) return;
    await run(
      this.#conn,
      'INSERT INTO conversation (conv, last_seq) VALUES ? ON DUPLICATE KEY UPDATE last_seq = last_seq',
      [convs.map((c) => [c, 0])],
    );
    const rows = await select<{ conv: string; last_seq: DbInt; ttl: DbInt }>(
      this.#conn,
      'SELECT conv, last_seq, ttl FROM conversation WHERE conv IN (?) ORDER BY conv FOR UPDATE',
      [convs],
    );
    for (const r of rows) {
      this.#last.set(r.conv, num(r.last_seq));
      this.#lockedLast.set(r.conv, num(r.last_seq));
      this.#ttl.set(r.conv, num(r.ttl));
    }
  }

  /** a pair's two members are made with its first event */
  async #addPairMembers(): Promise<void> {
    const rows: Array<[ConvId, number]> = [];
    for (const [conv, last] of this.#last) {
      if (last !== 0) continue;
      for (const user of new Set(pairMembers(conv) ?? [])) rows.push([conv, user]);
    }
    if (rows.length === 0) return;
    await run(
      this.#conn,
      'INSERT IGNORE INTO conv_member (conv, user_id, role, joined_seq, delivered_seq, read_seq) VALUES ?',
      [rows.map(([conv, user]) => [conv, user, null, 0, 0, 0])],
    );
  }

  async #loadNames(): Promise<void> {
    const ids = sortedUnique(this.#logOps().map((o) => o.event.senderId));
    if (ids.length === 0) return;
    const rows = await select<{ id: DbInt; name: string }>(this.#conn, 'SELECT id, name FROM user WHERE id IN (?)', [ids]);
    for (const r of rows) this.#names.set(num(r.id), r.name);
  }

  async #loadCmids(): Promise<void> {
    const pairs = this.#logOps().flatMap(({ event: e }) => (e.cmid === null ? [] : [[e.senderId, e.cmid] as const]));
    if (pairs.length === 0) return;
    const rows = await select<EventRow>(
      this.#conn,
      `${EVENT_SELECT} WHERE ${pairsWhere('e.sender_id', 'e.cmid', pairs.length)}`,
      pairs.flat(),
    );
    for (const r of rows) {
      const event = toLogEvent(r);
      this.#byCmid.set(cmidKey(event.senderId, event.cmid ?? ''), event);
    }
  }

  /** locks and reads the member rows the batch moves, and the caps of their conversations */
  async #loadMembers(): Promise<void> {
    const ops = this.#positionOps();
    if (ops.length === 0) return;
    const where = groupedWhere(
      'conv',
      'user_id',
      ops.map((op) => [op.conv, op.userId]),
    );
    const rows = await select<{ conv: string; user_id: DbInt; delivered_seq: DbInt; read_seq: DbInt; left_seq: DbInt | null }>(
      this.#conn,
      `SELECT conv, user_id, delivered_seq, read_seq, left_seq FROM conv_member
       WHERE ${where.sql} ORDER BY conv, user_id FOR UPDATE`,
      where.params,
    );
    for (const r of rows) {
      this.#members.set(memberKey(r.conv, num(r.user_id)), {
        delivered: num(r.delivered_seq),
        read: num(r.read_seq),
        leftSeq: r.left_seq === null ? null : num(r.left_seq),
        dirty: false,
      });
    }
    const unlocked = sortedUnique(rows.map((r) => r.conv).filter((c) => !this.#last.has(c)));
    if (unlocked.length === 0) return;
    const caps = await select<{ conv: string; last_seq: DbInt }>(
      this.#conn,
      'SELECT conv, last_seq FROM conversation WHERE conv IN (?)',
      [unlocked],
    );
    for (const r of caps) this.#unlockedLast.set(r.conv, num(r.last_seq));
  }

  async #apply(op: CommitOp): Promise<CommitResult> {
    switch (op.op) {
      case 'append':
        return this.#append(op.event);
      case 'position':
        return this.#position(op);
      case 'recall':
        return this.#recall(op.conv, op.seq, op.event);
      case 'expire':
        return this.#expire(op.conv, op.seq, op.event);
    }
  }

  #append(e: NewEvent): AppendResult {
    const first = e.cmid === null ? undefined : this.#byCmid.get(cmidKey(e.senderId, e.cmid));
    if (first) return { op: 'append', event: first, duplicate: true };
    return { op: 'append', event: this.#enqueue(e), duplicate: false };
  }

  /** assigns e the next seq of its conversation and queues its INSERT */
  #enqueue(e: NewEvent): LogEvent {
    const seq = (this.#last.get(e.conv) ?? 0) + 1;
    this.#last.set(e.conv, seq);
    if (e.kind === 'timer') {
      this.#ttl.set(e.conv, e.ref ?? 0);
      this.#ttlSet.add(e.conv);
    }
    const event = appendedEvent(e, seq, this.#names.get(e.senderId) ?? '', expiryOf(e, this.#ttl.get(e.conv) ?? 0));
    if (e.cmid !== null) this.#byCmid.set(cmidKey(e.senderId, e.cmid), event);
    this.#pending.push(event);
    return event;
  }

  #position(op: PositionOp): CommitResult {
    const member = this.#members.get(memberKey(op.conv, op.userId));
    if (!member) return { op: 'position', delivered: 0, read: 0, prevDelivered: 0, prevRead: 0 };
    const last = this.#last.get(op.conv) ?? this.#unlockedLast.get(op.conv) ?? 0;
    const prevDelivered = member.delivered;
    const prevRead = member.read;
    const next = movePosition(member, op, positionCap(last, member.leftSeq));
    if (next.delivered !== prevDelivered || next.read !== prevRead) {
      member.delivered = next.delivered;
      member.read = next.read;
      member.dirty = true;
    }
    return { op: 'position', delivered: next.delivered, read: next.read, prevDelivered, prevRead };
  }

  async #recall(conv: ConvId, seq: number, e: NewEvent): Promise<CommitResult> {
    await this.#flushEvents(); // the target may be an event of this very batch
    const [target] = await select<{ kind: string; recalled: DbInt }>(
      this.#conn,
      'SELECT kind, recalled FROM event WHERE conv = ? AND seq = ? FOR UPDATE',
      [conv, seq],
    );
    const state = target?.kind === 'chat' ? num(target.recalled) : null;
    if (state === null || state === Tombstone.EXPIRED) return { op: 'recall', event: null, already: false, found: false };
    if (state === Tombstone.RECALLED) return { op: 'recall', event: null, already: true, found: true };
    await run(this.#conn, "UPDATE event SET recalled = ?, `text` = '', expires_at = NULL WHERE conv = ? AND seq = ?", [Tombstone.RECALLED, conv, seq]);
    // A recall is idempotent by its target; a reused cmid must not fail the whole batch.
    const cmidTaken = e.cmid !== null && this.#byCmid.has(cmidKey(e.senderId, e.cmid));
    const event = this.#enqueue(recallEvent({ ...e, conv, cmid: cmidTaken ? null : e.cmid }, seq));
    return { op: 'recall', event, already: false, found: true };
  }

  async #expire(conv: ConvId, seq: number, e: NewEvent): Promise<CommitResult> {
    await this.#flushEvents();
    const res = await run(
      this.#conn,
      "UPDATE event SET recalled = ?, `text` = '', expires_at = NULL WHERE conv = ? AND seq = ? AND kind = 'chat' AND recalled = ? AND expires_at <= ?",
      [Tombstone.EXPIRED, conv, seq, Tombstone.LIVE, e.ts],
    );
    if (res.affectedRows === 0) return { op: 'expire', event: null };
    return { op: 'expire', event: this.#enqueue(expireEvent({ ...e, conv, cmid: null }, seq)) };
  }

  async #flushEvents(): Promise<void> {
    while (this.#pending.length > 0) {
      const chunk = this.#pending.splice(0, this.#chunkLength());
      await run(
        this.#conn,
        'INSERT INTO event (conv, seq, mid, kind, sender_id, ts, `text`, ref, recalled, cmid, expires_at) VALUES ?',
        [chunk.map((e) => [e.conv, e.seq, e.mid, e.kind, e.senderId, e.ts, e.text, e.ref, 0, e.cmid, e.expiresAt ?? null])],
      );
    }
  }

  /** how many pending events fit one INSERT (always at least one) */
  #chunkLength(): number {
    let bytes = 0;
    for (let n = 0; n < this.#pending.length; n++) {
      bytes += Buffer.byteLength(this.#pending[n]!.text);
      if (bytes > MAX_INSERT_BYTES) return Math.max(n, 1);
    }
    return this.#pending.length;
  }

  async #writeMembers(): Promise<void> {
    const rows: Array<[string, number, number, number]> = [];
    for (const op of this.#positionOps()) {
      const member = this.#members.get(memberKey(op.conv, op.userId));
      if (!member?.dirty) continue;
      member.dirty = false;
      rows.push([op.conv, op.userId, member.delivered, member.read]);
    }
    if (rows.length === 0) return;
    // every row exists and is locked by #loadMembers, so this upsert only updates
    await run(
      this.#conn,
      `INSERT INTO conv_member (conv, user_id, delivered_seq, read_seq) VALUES ?
       ON DUPLICATE KEY UPDATE delivered_seq = VALUES(delivered_seq), read_seq = VALUES(read_seq)`,
      [rows],
    );
  }

  async #writeLastSeqs(): Promise<void> {
    const rows = [...this.#last].filter(([conv, last]) => last !== this.#lockedLast.get(conv));
    if (rows.length === 0) return;
    await run(
      this.#conn,
      'INSERT INTO conversation (conv, last_seq) VALUES ? ON DUPLICATE KEY UPDATE last_seq = VALUES(last_seq)',
      [rows],
    );
  }

  async #writeTimers(): Promise<void> {
    for (const conv of this.#ttlSet) await run(this.#conn, 'UPDATE conversation SET ttl = ? WHERE conv = ?', [this.#ttl.get(conv) ?? 0, conv]);
  }
}
