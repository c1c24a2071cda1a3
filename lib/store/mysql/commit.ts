/**
 * One attempt at a MySQL commit, retried by the caller from scratch on a deadlock or a
 * concurrent duplicate cmid. A batch is two round trips however many ops it has: the first
 * opens the transaction, locks the conversations it appends to (sorted, by one upsert) and
 * reads everything the ops need at once (known cmids, the targets of recalls and expiries, the
 * member rows of watermark moves and their conversations' last seqs, sender names the process
 * does not know yet); the ops are then applied in memory (seqs assigned, recalls and expiries
 * validated against the rows read and the batch's own events); the second sends every write and
 * the COMMIT together. A conversation's first event costs one more (its pair's member rows).
 */
import type { LRUCache } from 'lru-cache';
import type { RowDataPacket } from 'mysql2/promise';
import { pairMembers } from '../../protocol/conv.js';
import {
  appendedEvent,
  cmidKey,
  EVENT_SELECT,
  expireEvent,
  expiryOf,
  num,
  positionCap,
  positionResult,
  recallEvent,
  Tombstone,
  toLogEvent,
  type DbInt,
  type EventRow,
  type Watermarks,
} from '../rows.js';
import type { CommitOp, CommitResult, ConvId, LogEvent, NewEvent } from '../types.js';
import { groupedWhere, pairsWhere, Statements, type Queryable } from './db.js';

type AppendResult = CommitResult & { op: 'append' };
type PositionOp = CommitOp & { op: 'position' };
type TargetOp = CommitOp & { op: 'recall' | 'expire' };

/** sender names by user id: a name never changes, so the process keeps what it has read */
export type NameCache = LRUCache<number, string>;

/** text bytes per event INSERT; escaping at most doubles it, well under max_allowed_packet (16 MiB) */
const MAX_INSERT_BYTES = 4 * 1024 * 1024;

interface Member extends Watermarks {
  leftSeq: number | null;
  dirty: boolean;
}

/** what a recall or an expiry checks of its target */
interface Target {
  kind: string;
  state: number;
  expiresAt: number | null;
}

type TombstoneState = typeof Tombstone.RECALLED | typeof Tombstone.EXPIRED;

function memberKey(conv: ConvId, userId: number): string {
  return `${conv}\u0000${userId}`;
}

function eventKey(conv: ConvId, seq: number): string {
  return `${conv}#${seq}`;
}

function sortedUnique<T>(values: T[]): T[] {
  return [...new Set(values)].sort();
}

type MemberRowData = { conv: string; user_id: DbInt; delivered_seq: DbInt; read_seq: DbInt; left_seq: DbInt | null };

export class CommitBatch {
  readonly #conn: Queryable;
  readonly #ops: CommitOp[];
  readonly #names: NameCache;
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
  /** first event of every (sender, cmid) known to the batch */
  readonly #byCmid = new Map<string, LogEvent>();
  readonly #members = new Map<string, Member>();
  /** the targets of the batch's recalls and expiries, as read and as the batch changes them */
  readonly #targets = new Map<string, Target>();
  /** targets the batch turns into tombstones, by tombstone state */
  readonly #tombstones: Record<TombstoneState, Array<[ConvId, number]>> = { [Tombstone.RECALLED]: [], [Tombstone.EXPIRED]: [] };
  #pending: LogEvent[] = [];

  constructor(conn: Queryable, ops: CommitOp[], names: NameCache) {
    this.#conn = conn;
    this.#ops = ops;
    this.#names = names;
  }

  async run(): Promise<CommitResult[]> {
    await this.#read();
    const results = this.#ops.map((op) => this.#apply(op));
    await this.#write();
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
   * The first round trip: opens the transaction, creates missing conversations and takes their
   * row locks, in sorted order so two batches never wait on each other crosswise (an upsert
   * locks exclusively at once; INSERT IGNORE would take shared locks that deadlock on the
   * upgrade), then reads in lock order: recall and expiry targets (rows of conversations just
   * locked), member rows of watermark moves.
   */
  async #read(): Promise<void> {
    const q = new Statements();
    q.add('START TRANSACTION');
    const logOps = this.#logOps();
    const convs = sortedUnique(logOps.map((o) => o.conv));
    let locked = -1;
    if (convs.length > 0) {
      q.add('INSERT INTO conversation (conv, last_seq) VALUES ? ON DUPLICATE KEY UPDATE last_seq = last_seq', [convs.map((c) => [c, 0])]);
      locked = q.add('SELECT conv, last_seq, ttl FROM conversation WHERE conv IN (?) ORDER BY conv FOR UPDATE', [convs]);
    }
    const unnamed = sortedUnique(logOps.map((o) => o.event.senderId).filter((id) => !this.#names.has(id)));
    const names = unnamed.length === 0 ? -1 : q.add('SELECT id, name FROM user WHERE id IN (?)', [unnamed]);
    const cmids = logOps.flatMap(({ event: e }) => (e.cmid === null ? [] : [[e.senderId, e.cmid] as const]));
    const known = cmids.length === 0 ? -1 : q.add(`${EVENT_SELECT} WHERE ${pairsWhere('e.sender_id', 'e.cmid', cmids.length)}`, cmids.flat());
    const targetOps = this.#ops.filter((op): op is TargetOp => op.op === 'recall' || op.op === 'expire');
    let targets = -1;
    if (targetOps.length > 0) {
      const where = groupedWhere('conv', 'seq', targetOps.map((op) => [op.conv, op.seq]));
      targets = q.add(`SELECT conv, seq, kind, recalled, expires_at FROM event WHERE ${where.sql} ORDER BY conv, seq FOR UPDATE`, where.params);
    }
    const positions = this.#positionOps();
    let members = -1;
    let caps = -1;
    if (positions.length > 0) {
      members = this.#selectMembers(q, positions);
      const unlocked = sortedUnique(positions.map((op) => op.conv).filter((c) => !convs.includes(c)));
      if (unlocked.length > 0) caps = q.add('SELECT conv, last_seq FROM conversation WHERE conv IN (?)', [unlocked]);
    }
    const results = await q.send(this.#conn);
    const rows = <T>(i: number): T[] => (i === -1 ? [] : (results[i] as RowDataPacket[] as T[]));

    for (const r of rows<{ conv: string; last_seq: DbInt; ttl: DbInt }>(locked)) {
      this.#last.set(r.conv, num(r.last_seq));
      this.#lockedLast.set(r.conv, num(r.last_seq));
      this.#ttl.set(r.conv, num(r.ttl));
    }
    for (const r of rows<{ id: DbInt; name: string }>(names)) this.#names.set(num(r.id), r.name);
    for (const r of rows<EventRow>(known)) {
      const event = toLogEvent(r);
      this.#byCmid.set(cmidKey(event.senderId, event.cmid ?? ''), event);
    }
    for (const r of rows<{ conv: string; seq: DbInt; kind: string; recalled: DbInt; expires_at: DbInt | null }>(targets)) {
      this.#targets.set(eventKey(r.conv, num(r.seq)), { kind: r.kind, state: num(r.recalled), expiresAt: r.expires_at === null ? null : num(r.expires_at) });
    }
    this.#addMembers(rows<MemberRowData>(members));
    for (const r of rows<{ conv: string; last_seq: DbInt }>(caps)) this.#unlockedLast.set(r.conv, num(r.last_seq));
    await this.#addPairMembers(positions);
  }

  /** locks and reads the member rows the given moves touch */
  #selectMembers(q: Statements, ops: PositionOp[]): number {
    const where = groupedWhere(
      'conv',
      'user_id',
      ops.map((op) => [op.conv, op.userId]),
    );
    return q.add(
      `SELECT conv, user_id, delivered_seq, read_seq, left_seq FROM conv_member
       WHERE ${where.sql} ORDER BY conv, user_id FOR UPDATE`,
      where.params,
    );
  }

  #addMembers(rows: MemberRowData[]): void {
    for (const r of rows) {
      this.#members.set(memberKey(r.conv, num(r.user_id)), {
        delivered: num(r.delivered_seq),
        read: num(r.read_seq),
        leftSeq: r.left_seq === null ? null : num(r.left_seq),
        dirty: false,
      });
    }
  }

  /**
   * A pair's two members are made with its first event (a round trip more, once per
   * conversation), and read again for moves of the batch in it.
   */
  async #addPairMembers(positions: PositionOp[]): Promise<void> {
    const rows: Array<[ConvId, number]> = [];
    for (const [conv, last] of this.#last) {
      if (last !== 0) continue;
      for (const user of new Set(pairMembers(conv) ?? [])) rows.push([conv, user]);
    }
    if (rows.length === 0) return;
    const q = new Statements();
    q.add('INSERT IGNORE INTO conv_member (conv, user_id, role, joined_seq, delivered_seq, read_seq) VALUES ?', [rows.map(([conv, user]) => [conv, user, null, 0, 0, 0])]);
    const fresh = positions.filter((op) => this.#last.get(op.conv) === 0);
    const members = fresh.length === 0 ? -1 : this.#selectMembers(q, fresh);
    const results = await q.send(this.#conn);
    if (members !== -1) this.#addMembers(results[members] as RowDataPacket[] as MemberRowData[]);
  }

  #apply(op: CommitOp): CommitResult {
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
    // a recall or an expiry later in the batch may target it
    this.#targets.set(eventKey(e.conv, seq), { kind: e.kind, state: Tombstone.LIVE, expiresAt: event.expiresAt ?? null });
    this.#pending.push(event);
    return event;
  }

  #position(op: PositionOp): CommitResult {
    const member = this.#members.get(memberKey(op.conv, op.userId));
    const last = this.#last.get(op.conv) ?? this.#unlockedLast.get(op.conv) ?? 0;
    const r = positionResult(member ?? null, op, member ? positionCap(last, member.leftSeq) : 0);
    if (member && (r.delivered !== member.delivered || r.read !== member.read)) {
      member.delivered = r.delivered;
      member.read = r.read;
      member.dirty = true;
    }
    return r;
  }

  /** the target becomes a tombstone (its UPDATE goes out with the batch's writes, after the INSERTs) */
  #tombstone(conv: ConvId, seq: number, target: Target, state: TombstoneState): void {
    target.state = state;
    target.expiresAt = null;
    this.#tombstones[state].push([conv, seq]);
  }

  #recall(conv: ConvId, seq: number, e: NewEvent): CommitResult {
    const target = this.#targets.get(eventKey(conv, seq));
    const state = target?.kind === 'chat' ? target.state : null;
    if (!target || state === null || state === Tombstone.EXPIRED) return { op: 'recall', event: null, already: false, found: false };
    if (state === Tombstone.RECALLED) return { op: 'recall', event: null, already: true, found: true };
    this.#tombstone(conv, seq, target, Tombstone.RECALLED);
    // A recall is idempotent by its target; a reused cmid must not fail the whole batch.
    const cmidTaken = e.cmid !== null && this.#byCmid.has(cmidKey(e.senderId, e.cmid));
    const event = this.#enqueue(recallEvent({ ...e, conv, cmid: cmidTaken ? null : e.cmid }, seq));
    return { op: 'recall', event, already: false, found: true };
  }

  #expire(conv: ConvId, seq: number, e: NewEvent): CommitResult {
    const target = this.#targets.get(eventKey(conv, seq));
    const due = target?.kind === 'chat' && target.state === Tombstone.LIVE && target.expiresAt !== null && target.expiresAt <= e.ts;
    if (!target || !due) return { op: 'expire', event: null };
    this.#tombstone(conv, seq, target, Tombstone.EXPIRED);
    return { op: 'expire', event: this.#enqueue(expireEvent({ ...e, conv, cmid: null }, seq)) };
  }

  /** the second round trip: every write of the batch, then COMMIT */
  async #write(): Promise<void> {
    const q = new Statements();
    await this.#addEvents(q);
    for (const state of [Tombstone.RECALLED, Tombstone.EXPIRED] as const) {
      const list = this.#tombstones[state];
      if (list.length === 0) continue;
      const where = groupedWhere('conv', 'seq', list);
      q.add(`UPDATE event SET recalled = ?, \`text\` = '', expires_at = NULL WHERE ${where.sql}`, [state, ...where.params]);
    }
    this.#addMemberWrites(q);
    const moved = [...this.#last].filter(([conv, last]) => last !== this.#lockedLast.get(conv));
    if (moved.length > 0) {
      q.add('INSERT INTO conversation (conv, last_seq) VALUES ? ON DUPLICATE KEY UPDATE last_seq = VALUES(last_seq)', [moved]);
    }
    for (const conv of this.#ttlSet) q.add('UPDATE conversation SET ttl = ? WHERE conv = ?', [this.#ttl.get(conv) ?? 0, conv]);
    q.add('COMMIT');
    await q.send(this.#conn);
  }

  /** the events' INSERTs: all but the last chunk of a very large batch go out on their own */
  async #addEvents(q: Statements): Promise<void> {
    while (this.#pending.length > 0) {
      const chunk = this.#pending.splice(0, this.#chunkLength());
      const into = this.#pending.length > 0 ? new Statements() : q;
      into.add('INSERT INTO event (conv, seq, mid, kind, sender_id, ts, `text`, ref, recalled, cmid, expires_at) VALUES ?', [
        chunk.map((e) => [e.conv, e.seq, e.mid, e.kind, e.senderId, e.ts, e.text, e.ref, 0, e.cmid, e.expiresAt ?? null]),
      ]);
      if (into !== q) await into.send(this.#conn);
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

  #addMemberWrites(q: Statements): void {
    const rows: Array<[string, number, number, number]> = [];
    for (const op of this.#positionOps()) {
      const member = this.#members.get(memberKey(op.conv, op.userId));
      if (!member?.dirty) continue;
      member.dirty = false;
      rows.push([op.conv, op.userId, member.delivered, member.read]);
    }
    if (rows.length === 0) return;
    // every row exists and is locked by #read, so this upsert only updates
    q.add(
      `INSERT INTO conv_member (conv, user_id, delivered_seq, read_seq) VALUES ?
       ON DUPLICATE KEY UPDATE delivered_seq = VALUES(delivered_seq), read_seq = VALUES(read_seq)`,
      [rows],
    );
  }
}
