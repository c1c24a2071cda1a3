/**
 * The embedded store: one SQLite file through better-sqlite3 (synchronous; the methods still
 * return promises to honour the Store contract). A commit is one IMMEDIATE transaction, so a
 * second process on the same file waits for the write lock instead of failing halfway.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { pairMembers, groupConv } from '../../protocol/conv.js';
import {
  appendedEvent,
  CONVERSATIONS_AFTER,
  DUE_EXPIRIES,
  EVENT_SELECT,
  expireEvent,
  expiryOf,
  MEMBER_ORDER,
  MEMBER_SELECT,
  MEMBERS_OF_USERS_SELECT,
  convStatesByUser,
  num,
  pageLimit,
  positionCap,
  positionResult,
  PRUNE_CANDIDATES,
  PRUNE_DELETE,
  PRUNED_UPTO,
  pruneUpTo,
  recallEvent,
  toConvState,
  toDueExpiry,
  toGroupRecord,
  toLogEvent,
  SENDERS_BETWEEN,
  toMemberPosition,
  Tombstone,
  type DueRow,
  type EventRow,
  type GroupRow,
  type MemberRow,
  type PositionRow,
} from '../rows.js';
import { ADDED_COLUMNS, EXPIRY_INDEX, readSchema } from '../schema.js';
import { TickBatch } from '../tick-batch.js';
import { TOKEN_SQL } from '../tokens.js';
import { deviceKeyOf, KEY_SQL, type DeviceKeyRow } from '../keys.js';
import type {
  DeviceKey,
  CommitOp,
  CommitResult,
  ConvId,
  ConvState,
  DueExpiry,
  GroupMember,
  GroupRecord,
  GroupRole,
  LogEvent,
  MemberPosition,
  NewEvent,
  NewSessionToken,
  Store,
  UserRecord,
  UserRef,
} from '../types.js';

export interface SqliteStoreOptions {
  /** a file path (its directory is created when missing) or ':memory:' */
  file: string;
  /** `synchronous` pragma: 'normal' (default) may lose the last commits on power loss, never corrupts */
  sync?: 'normal' | 'full';
}

/** 10,000 rotations of a 10,000-token table (WAL, no checkpoint): 75 µs each one per commit, 27 µs ten per commit */
const ROTATION_WINDOW_MS = 3;
const ROTATION_BATCH_MAX = 256;

interface Rotation {
  userId: number;
  oldHash: string;
  newHash: string;
  now: number;
  expires: number;
}

interface MemberParams {
  conv: string;
  user: number;
  role: GroupRole | null;
  seq: number;
}

function prepare(db: Database.Database) {
  return {
    insertUser: db.prepare<[string, string], { id: number }>(
      'INSERT INTO user (name, password_hash) VALUES (?, ?) ON CONFLICT (name) DO NOTHING RETURNING id',
    ),
    getUser: db.prepare<[number], { id: number; name: string; password_hash: string }>(
      'SELECT id, name, password_hash FROM user WHERE id = ?',
    ),
    replacePasswordHash: db.prepare<[string, number, string]>('UPDATE user SET password_hash = ? WHERE id = ? AND password_hash = ?'),
    userRefs: db.prepare<[string], UserRef>(
      'SELECT id, name FROM user WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id',
    ),
    userName: db.prepare<[number], { name: string }>('SELECT name FROM user WHERE id = ?'),

    purgeExpiredTokens: db.prepare<[number, number]>(TOKEN_SQL.purgeExpired),
    insertToken: db.prepare<[string, number, string, number, number]>(TOKEN_SQL.insert),
    tokenDevice: db.prepare<[string, number, number], { device: string }>(TOKEN_SQL.device),
    rotateToken: db.prepare<[string, number, number, string, number, number]>(TOKEN_SQL.rotate),
    revokeToken: db.prepare<[number, string]>(TOKEN_SQL.revoke),
    revokeUserTokens: db.prepare<[number]>(TOKEN_SQL.revokeUser),

    upsertKey: db.prepare<[number, string, string, number]>(KEY_SQL.upsertSqlite),
    trimKeys: db.prepare<[number, number, number]>(KEY_SQL.trim),
    deviceKeys: db.prepare<[string], DeviceKeyRow>(
      'SELECT user_id, device, pubkey FROM device_keys WHERE user_id IN (SELECT value FROM json_each(?)) ORDER BY user_id, device',
    ),

    insertFriend: db.prepare<[number, number]>(
      'INSERT INTO friend (user_id, friend_id) VALUES (?, ?) ON CONFLICT DO NOTHING',
    ),
    deleteFriend: db.prepare<[{ a: number; b: number }]>(
      'DELETE FROM friend WHERE (user_id = @a AND friend_id = @b) OR (user_id = @b AND friend_id = @a)',
    ),
    listFriends: db.prepare<[number], UserRef>(
      'SELECT u.id, u.name FROM friend f JOIN user u ON u.id = f.friend_id WHERE f.user_id = ? ORDER BY u.id',
    ),

    insertGroup: db.prepare<[string, string, number], { id: number }>(
      'INSERT INTO chat_group (name, descr, creator_id) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id',
    ),
    getGroup: db.prepare<[number], GroupRow>('SELECT id, name, descr, creator_id FROM chat_group WHERE id = ?'),
    userGroups: db.prepare<[number], GroupRow>(
      `SELECT g.id, g.name, g.descr, g.creator_id
       FROM conv_member m JOIN chat_group g ON g.id = CAST(substr(m.conv, 3) AS INTEGER)
       WHERE m.user_id = ? AND m.left_seq IS NULL AND substr(m.conv, 1, 2) = 'g:'
       ORDER BY g.id`,
    ),

    insertConversation: db.prepare<[string]>(
      'INSERT INTO conversation (conv, last_seq) VALUES (?, 0) ON CONFLICT DO NOTHING',
    ),
    lastSeq: db.prepare<[string], { last_seq: number }>('SELECT last_seq FROM conversation WHERE conv = ?'),
    reserveSeqs: db.prepare<[string, number], Reserved>(
      `INSERT INTO conversation (conv, last_seq) VALUES (?, ?)
       ON CONFLICT (conv) DO UPDATE SET last_seq = last_seq + excluded.last_seq RETURNING last_seq, ttl`,
    ),
    setTtl: db.prepare<[number, string]>('UPDATE conversation SET ttl = ? WHERE conv = ?'),
    setLastSeq: db.prepare<[number, string]>('UPDATE conversation SET last_seq = ? WHERE conv = ?'),

    insertMember: db.prepare<[MemberParams]>(
      `INSERT INTO conv_member (conv, user_id, role, joined_seq, delivered_seq, read_seq, join_order)
       VALUES (@conv, @user, @role, @seq, @seq, @seq,
               (SELECT COALESCE(MAX(join_order), 0) + 1 FROM conv_member WHERE conv = @conv))
       ON CONFLICT DO NOTHING`,
    ),
    rejoinMember: db.prepare<[MemberParams]>(
      `UPDATE conv_member SET role = @role, joined_seq = @seq, left_seq = NULL,
         delivered_seq = @seq, read_seq = @seq,
         join_order = (SELECT MAX(join_order) + 1 FROM conv_member WHERE conv = @conv)
       WHERE conv = @conv AND user_id = @user`,
    ),
    leaveMember: db.prepare<[{ conv: string; user: number; seq: number }]>(
      'UPDATE conv_member SET left_seq = @seq WHERE conv = @conv AND user_id = @user AND left_seq IS NULL',
    ),
    member: db.prepare<[string, number], MemberRow>(
      `${MEMBER_SELECT} WHERE m.conv = ? AND m.user_id = ?`,
    ),
    listMembers: db.prepare<[string], { id: number; name: string; role: GroupRole }>(
      `SELECT u.id, u.name, m.role FROM conv_member m JOIN user u ON u.id = m.user_id
       WHERE m.conv = ? AND m.left_seq IS NULL
       ORDER BY ${MEMBER_ORDER}`,
    ),
    userConversations: db.prepare<[number], MemberRow>(
      `${MEMBER_SELECT} WHERE m.user_id = ? ORDER BY m.conv`,
    ),
    sendersBetween: db.prepare<[string, number, number], { sender_id: number }>(SENDERS_BETWEEN),
    memberPositions: db.prepare<[string], PositionRow>(
      `SELECT user_id, joined_seq, delivered_seq, read_seq FROM conv_member
       WHERE conv = ? AND left_seq IS NULL ORDER BY user_id`,
    ),
    setPosition: db.prepare<[number, number, string, number]>(
      'UPDATE conv_member SET delivered_seq = ?, read_seq = ? WHERE conv = ? AND user_id = ?',
    ),

    insertEvent: db.prepare<[Omit<NewEvent, 'ttl'> & { seq: number; expiresAt: number | null }]>(
      `INSERT INTO event (conv, seq, mid, kind, sender_id, ts, text, ref, recalled, cmid, expires_at)
       VALUES (@conv, @seq, @mid, @kind, @senderId, @ts, @text, @ref, 0, @cmid, @expiresAt)`,
    ),
    eventByCmid: db.prepare<[number, string], EventRow>(
      `${EVENT_SELECT} WHERE e.sender_id = ? AND e.cmid = ?`,
    ),
    getEvent: db.prepare<[string, number], EventRow>(`${EVENT_SELECT} WHERE e.conv = ? AND e.seq = ?`),
    readRange: db.prepare<[string, number, number, number], EventRow>(
      `${EVENT_SELECT} WHERE e.conv = ? AND e.seq BETWEEN ? AND ? ORDER BY e.seq LIMIT ?`,
    ),
    readBefore: db.prepare<[string, number, number, number], EventRow>(
      `${EVENT_SELECT} WHERE e.conv = ? AND e.seq < ? AND e.seq >= ? ORDER BY e.seq DESC LIMIT ?`,
    ),
    tombstone: db.prepare<[string, number]>(
      `UPDATE event SET recalled = ${Tombstone.RECALLED}, text = '', expires_at = NULL WHERE conv = ? AND seq = ?`,
    ),
    expire: db.prepare<[string, number, number]>(
      `UPDATE event SET recalled = ${Tombstone.EXPIRED}, text = '', expires_at = NULL
       WHERE conv = ? AND seq = ? AND kind = 'chat' AND recalled = ${Tombstone.LIVE} AND expires_at <= ?`,
    ),
    dueExpiries: db.prepare<[number, number], DueRow>(DUE_EXPIRIES),
    conversationsAfter: db.prepare<[string, number], { conv: string }>(CONVERSATIONS_AFTER),
    pruneCandidates: db.prepare<[string, number, number], { seq: number; ts: number }>(PRUNE_CANDIDATES),
    pruneDelete: db.prepare<[string, number, number]>(PRUNE_DELETE),
    prunedUpTo: db.prepare<[string], { upto_seq: number }>(PRUNED_UPTO),
    setPruned: db.prepare<[string, number]>(
      'INSERT INTO pruned (conv, upto_seq) VALUES (?, ?) ON CONFLICT (conv) DO UPDATE SET upto_seq = MAX(upto_seq, excluded.upto_seq)',
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

/** a conversation's row as a seq reservation returns it */
interface Reserved {
  last_seq: number;
  ttl: number;
}

/**
 * One commit's sequence numbers: each conversation's block (as many seqs as the commit has
 * appends and recalls for it) is reserved with one statement at its first use, then handed out
 * in order; what resends left unused is returned at the end.
 */
class SeqBlocks {
  readonly #wanted = new Map<ConvId, number>();
  readonly #blocks = new Map<ConvId, { next: number; last: number; ttl: number }>();
  readonly #reserve: Database.Statement<[string, number], Reserved>;

  constructor(ops: CommitOp[], reserve: Database.Statement<[string, number], Reserved>) {
    this.#reserve = reserve;
    for (const op of ops) {
      if (op.op === 'position') continue;
      const conv = op.op === 'append' ? op.event.conv : op.conv;
      this.#wanted.set(conv, (this.#wanted.get(conv) ?? 0) + 1);
    }
  }

  next(conv: ConvId): number {
    return this.#block(conv).next++;
  }

  #block(conv: ConvId): { next: number; last: number; ttl: number } {
    let b = this.#blocks.get(conv);
    if (!b) {
      const n = this.#wanted.get(conv) ?? 1;
      const row = this.#reserve.get(conv, n)!;
      b = { next: row.last_seq - n + 1, last: row.last_seq, ttl: row.ttl };
      this.#blocks.set(conv, b);
    }
    return b;
  }

  /** the conversation's timer (seconds) as this commit has it so far */
  ttl(conv: ConvId): number {
    return this.#block(conv).ttl;
  }

  setTtl(conv: ConvId, ttl: number): void {
    this.#block(conv).ttl = ttl;
  }

  /** the last seq handed out so far in `conv`, when this commit reserved a block for it */
  handedOut(conv: ConvId): number | undefined {
    const b = this.#blocks.get(conv);
    return b ? b.next - 1 : undefined;
  }

  /** conversations whose block was not used up, with their real last seq */
  *unused(): Iterable<[ConvId, number]> {
    for (const [conv, b] of this.#blocks) if (b.next <= b.last) yield [conv, b.next - 1];
  }
}

export class SqliteStore implements Store {
  /** the seq blocks of the commit running now */
  #seqs: SeqBlocks | null = null;
  /** the commit running now erased a text (a recall or an expiry) */
  #erased = false;
  #db: Database.Database;
  #q: Statements | null = null;
  /** token resumes of a few milliseconds in one transaction: a restart's thousands come within seconds */
  readonly #rotations = new TickBatch<Rotation, string | null>(
    (batch) =>
      this.#db
        .transaction(() =>
          batch.map((r) => {
            const row = this.#s.tokenDevice.get(r.oldHash, r.userId, r.now);
            if (!row) return null;
            return this.#s.rotateToken.run(r.newHash, r.expires, r.now, r.oldHash, r.userId, r.now).changes === 1 ? row.device : null;
          }),
        )
        .immediate(),
    ROTATION_WINDOW_MS,
    ROTATION_BATCH_MAX,
  );

  constructor(opts: SqliteStoreOptions) {
    if (opts.file !== ':memory:' && opts.file !== '') mkdirSync(dirname(opts.file), { recursive: true });
    this.#db = new Database(opts.file, { timeout: 10_000 });
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${opts.sync === 'full' ? 'FULL' : 'NORMAL'}`);
    // erased text (recall, expiry) is overwritten with zeros in the file, not left in free space
    this.#db.pragma('secure_delete = ON');
  }

  get #s(): Statements {
    if (!this.#q) throw new Error('SqliteStore: call migrate() first');
    return this.#q;
  }

  async migrate(): Promise<void> {
    this.#db.exec(readSchema('sqlite.sql'));
    // a database of an older release: the columns added since
    for (const c of ADDED_COLUMNS) {
      const has = this.#db.prepare<[], { name: string }>(`PRAGMA table_info(${c.table})`).all().some((r) => r.name === c.column);
      if (!has) this.#db.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.sqlite}`);
    }
    const ix = EXPIRY_INDEX;
    this.#db.exec(`CREATE INDEX IF NOT EXISTS ${ix.name} ON ${ix.table} (${ix.column}) WHERE ${ix.column} IS NOT NULL`);
    this.#q ??= prepare(this.#db);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  // users

  async createUser(name: string, passwordHash: string): Promise<number | null> {
    return this.#s.insertUser.get(name, passwordHash)?.id ?? null;
  }

  async getUser(id: number): Promise<UserRecord | null> {
    const row = this.#s.getUser.get(id);
    return row ? { id: row.id, name: row.name, passwordHash: row.password_hash } : null;
  }

  async replacePasswordHash(id: number, oldHash: string, newHash: string): Promise<boolean> {
    return this.#s.replacePasswordHash.run(newHash, id, oldHash).changes === 1;
  }

  async getUserRefs(ids: number[]): Promise<UserRef[]> {
    return ids.length === 0 ? [] : this.#s.userRefs.all(JSON.stringify(ids));
  }

  // the key directory

  async publishDeviceKey(k: DeviceKey & { updated: number }, max: number): Promise<void> {
    this.#db
      .transaction(() => {
        this.#s.upsertKey.run(k.userId, k.device, k.key, k.updated);
        this.#s.trimKeys.run(k.userId, k.userId, max);
      })
      .immediate();
  }

  async deviceKeys(userIds: number[]): Promise<DeviceKey[]> {
    if (userIds.length === 0) return [];
    return this.#s.deviceKeys.all(JSON.stringify(userIds)).map(deviceKeyOf);
  }

  // session tokens

  async addSessionToken(t: NewSessionToken): Promise<void> {
    this.#db
      .transaction(() => {
        this.#s.purgeExpiredTokens.run(t.userId, t.created);
        this.#s.insertToken.run(t.hash, t.userId, t.device, t.created, t.expires);
      })
      .immediate();
  }

  rotateSessionToken(userId: number, oldHash: string, newHash: string, now: number, expires: number): Promise<string | null> {
    return this.#rotations.add({ userId, oldHash, newHash, now, expires });
  }

  async revokeSessionToken(userId: number, device: string): Promise<boolean> {
    return this.#s.revokeToken.run(userId, device).changes > 0;
  }

  async revokeUserSessionTokens(userId: number): Promise<number> {
    return this.#s.revokeUserTokens.run(userId).changes;
  }

  // friends

  async addFriend(userId: number, friendId: number): Promise<boolean> {
    return this.#db.transaction(() => {
      const added = this.#s.insertFriend.run(userId, friendId).changes > 0;
      this.#s.insertFriend.run(friendId, userId);
      return added;
    }).immediate();
  }

  async removeFriend(userId: number, friendId: number): Promise<boolean> {
    return this.#s.deleteFriend.run({ a: userId, b: friendId }).changes > 0;
  }

  async listFriends(userId: number): Promise<UserRef[]> {
    return this.#s.listFriends.all(userId);
  }

  // groups

  async createGroup(name: string, desc: string, creatorId: number): Promise<GroupRecord | null> {
    return this.#db.transaction((): GroupRecord | null => {
      const row = this.#s.insertGroup.get(name, desc, creatorId);
      if (!row) return null;
      const conv = groupConv(row.id);
      this.#s.insertConversation.run(conv);
      this.#s.insertMember.run({ conv, user: creatorId, role: 'creator', seq: 0 });
      return { id: row.id, name, desc, creatorId };
    }).immediate();
  }

  async getGroup(id: number): Promise<GroupRecord | null> {
    const row = this.#s.getGroup.get(id);
    return row ? toGroupRecord(row) : null;
  }

  async joinGroup(groupId: number, userId: number): Promise<{ joined: boolean; joinedSeq: number }> {
    const conv = groupConv(groupId);
    return this.#db.transaction(() => {
      const last = this.#s.lastSeq.get(conv);
      if (!last) throw new Error(`joinGroup: no group ${groupId}`);
      const params: MemberParams = { conv, user: userId, role: 'normal', seq: last.last_seq };
      const existing = this.#s.member.get(conv, userId);
      if (!existing) this.#s.insertMember.run(params);
      else if (existing.left_seq === null) return { joined: false, joinedSeq: num(existing.joined_seq) };
      else this.#s.rejoinMember.run(params);
      return { joined: true, joinedSeq: last.last_seq };
    }).immediate();
  }

  async leaveGroup(groupId: number, userId: number): Promise<boolean> {
    const conv = groupConv(groupId);
    return this.#db.transaction(() => {
      const seq = this.#s.lastSeq.get(conv)?.last_seq ?? 0;
      return this.#s.leaveMember.run({ conv, user: userId, seq }).changes > 0;
    }).immediate();
  }

  async listMembers(groupId: number): Promise<GroupMember[]> {
    return this.#s.listMembers.all(groupConv(groupId));
  }

  async isMember(groupId: number, userId: number): Promise<boolean> {
    const row = this.#s.member.get(groupConv(groupId), userId);
    return row !== undefined && row.left_seq === null;
  }

  async listUserGroups(userId: number): Promise<GroupRecord[]> {
    return this.#s.userGroups.all(userId).map(toGroupRecord);
  }

  // the log

  async commit(ops: CommitOp[]): Promise<CommitResult[]> {
    this.#erased = false;
    const results = this.#db
      .transaction(() => {
        const names = new Map<number, string>();
        this.#seqs = new SeqBlocks(ops, this.#s.reserveSeqs);
        try {
          const results = ops.map((op) => this.#apply(op, names));
          // seqs reserved for appends that turned out to be resends go back
          for (const [conv, last] of this.#seqs.unused()) this.#s.setLastSeq.run(last, conv);
          return results;
        } finally {
          this.#seqs = null;
        }
      })
      .immediate();
    // the write-ahead log still holds the erased text in the frames that wrote it: copy it into
    // the file and empty the log (a few ms: it never grows past ~1000 pages)
    if (this.#erased) this.#db.pragma('wal_checkpoint(TRUNCATE)');
    return results;
  }

  #apply(op: CommitOp, names: Map<number, string>): CommitResult {
    switch (op.op) {
      case 'append':
        return this.#append(op.event, names);
      case 'position':
        return this.#position(op.userId, op.conv, op);
      case 'recall':
        return this.#recall(op.conv, op.seq, op.event, names);
      case 'expire':
        return this.#expire(op.conv, op.seq, op.event, names);
    }
  }

  #append(e: NewEvent, names: Map<number, string>): CommitResult & { op: 'append' } {
    const first = e.cmid === null ? undefined : this.#s.eventByCmid.get(e.senderId, e.cmid);
    if (first) return { op: 'append', event: toLogEvent(first), duplicate: true };
    return { op: 'append', event: this.#insert(e, names), duplicate: false };
  }

  /** allocates the next seq of e.conv and stores e there */
  #insert(e: NewEvent, names: Map<number, string>): LogEvent {
    const seq = this.#seqs!.next(e.conv);
    // a pair's members are made by its first event
    if (seq === 1) {
      for (const user of pairMembers(e.conv) ?? []) {
        this.#s.insertMember.run({ conv: e.conv, user, role: null, seq: 0 });
      }
    }
    const seqs = this.#seqs!;
    if (e.kind === 'timer') {
      seqs.setTtl(e.conv, e.ref ?? 0);
      this.#s.setTtl.run(e.ref ?? 0, e.conv);
    }
    const expiresAt = expiryOf(e, seqs.ttl(e.conv));
    this.#s.insertEvent.run({ conv: e.conv, seq, mid: e.mid, kind: e.kind, senderId: e.senderId, ts: e.ts, text: e.text, ref: e.ref, cmid: e.cmid, expiresAt });
    return appendedEvent(e, seq, this.#senderName(e.senderId, names), expiresAt);
  }

  #senderName(id: number, names: Map<number, string>): string {
    let name = names.get(id);
    if (name === undefined) {
      name = this.#s.userName.get(id)?.name ?? '';
      names.set(id, name);
    }
    return name;
  }

  #position(userId: number, conv: ConvId, wanted: { delivered?: number; read?: number; check?: boolean }): CommitResult {
    const row = this.#s.member.get(conv, userId);
    // inside a commit the row's last_seq already counts the whole reserved block
    const last = row ? (this.#seqs?.handedOut(conv) ?? num(row.last_seq)) : 0;
    const cap = row ? positionCap(last, row.left_seq === null ? null : num(row.left_seq)) : 0;
    const current = row ? { delivered: num(row.delivered_seq), read: num(row.read_seq) } : null;
    const r = positionResult(current, wanted, cap);
    if (current && (r.delivered !== current.delivered || r.read !== current.read)) {
      this.#s.setPosition.run(r.delivered, r.read, conv, userId);
    }
    return r;
  }


  #recall(conv: ConvId, seq: number, e: NewEvent, names: Map<number, string>): CommitResult {
    const target = this.#s.getEvent.get(conv, seq);
    const state = target?.kind === 'chat' ? Number(target.recalled) : null;
    if (state === null || state === Tombstone.EXPIRED) return { op: 'recall', event: null, already: false, found: false };
    if (state === Tombstone.RECALLED) return { op: 'recall', event: null, already: true, found: true };
    this.#s.tombstone.run(conv, seq);
    this.#erased = true;
    // A recall is idempotent by its target; a reused cmid must not fail the whole batch.
    const cmidTaken = e.cmid !== null && this.#s.eventByCmid.get(e.senderId, e.cmid) !== undefined;
    const event = this.#insert(recallEvent({ ...e, conv, cmid: cmidTaken ? null : e.cmid }, seq), names);
    return { op: 'recall', event, already: false, found: true };
  }

  #expire(conv: ConvId, seq: number, e: NewEvent, names: Map<number, string>): CommitResult {
    if (this.#s.expire.run(conv, seq, e.ts).changes === 0) return { op: 'expire', event: null };
    this.#erased = true;
    return { op: 'expire', event: this.#insert(expireEvent({ ...e, conv, cmid: null }, seq), names) };
  }

  async readRange(conv: ConvId, from: number, to: number, limit: number): Promise<LogEvent[]> {
    return this.#s.readRange.all(conv, from, to, pageLimit(limit)).map(toLogEvent);
  }

  async readBefore(conv: ConvId, before: number, floor: number, limit: number): Promise<LogEvent[]> {
    return this.#s.readBefore.all(conv, before, floor, pageLimit(limit)).map(toLogEvent).reverse();
  }

  async getEvent(conv: ConvId, seq: number): Promise<LogEvent | null> {
    const row = this.#s.getEvent.get(conv, seq);
    return row ? toLogEvent(row) : null;
  }

  async lastSeq(conv: ConvId): Promise<number> {
    return this.#s.lastSeq.get(conv)?.last_seq ?? 0;
  }

  async dueExpiries(now: number, limit: number): Promise<DueExpiry[]> {
    return this.#s.dueExpiries.all(now, pageLimit(limit)).map(toDueExpiry);
  }

  // retention

  async conversationsAfter(after: ConvId, limit: number): Promise<ConvId[]> {
    return this.#s.conversationsAfter.all(after, pageLimit(limit)).map((r) => r.conv);
  }

  async prune(conv: ConvId, before: number, limit: number): Promise<number> {
    return this.#db
      .transaction(() => {
        const from = this.#s.prunedUpTo.get(conv)?.upto_seq ?? 0;
        const upTo = pruneUpTo(this.#s.pruneCandidates.all(conv, from, pageLimit(limit)), before, from);
        if (upTo === from) return 0;
        this.#s.setPruned.run(conv, upTo);
        return this.#s.pruneDelete.run(conv, from, upTo).changes;
      })
      .immediate();
  }

  async prunedUpTo(conv: ConvId): Promise<number> {
    return this.#s.prunedUpTo.get(conv)?.upto_seq ?? 0;
  }

  // positions

  async userConversations(userId: number): Promise<ConvState[]> {
    return this.#s.userConversations.all(userId).map(toConvState);
  }

  async convState(userId: number, conv: ConvId): Promise<ConvState | null> {
    const row = this.#s.member.get(conv, userId);
    return row ? toConvState(row) : null;
  }

  async conversationsOfUsers(userIds: number[]): Promise<Map<number, ConvState[]>> {
    if (userIds.length === 0) return new Map();
    const rows = this.#db
      .prepare<number[], MemberRow & { user_id: number }>(`${MEMBERS_OF_USERS_SELECT}(${userIds.map(() => '?').join(', ')}) ORDER BY m.user_id, m.conv`)
      .all(...userIds);
    return convStatesByUser(rows);
  }

  async memberPositions(conv: ConvId): Promise<MemberPosition[]> {
    return this.#s.memberPositions.all(conv).map(toMemberPosition);
  }

  async sendersBetween(conv: ConvId, after: number, upTo: number): Promise<number[]> {
    return this.#s.sendersBetween.all(conv, after, upTo).map((r) => num(r.sender_id));
  }
}
