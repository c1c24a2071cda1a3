/**
 * The cluster store: MySQL/MariaDB through a mysql2 pool, shared by every server process.
 * Each conversation's row in `conversation` is the lock that serialises its seq allocation
 * and membership changes across processes; everything else is plain InnoDB transactions,
 * retried on deadlock.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import mysql, { type ConnectionOptions } from 'mysql2/promise';
import { groupConv } from '../../protocol/conv.js';
import {
  CONVERSATIONS_AFTER,
  DUE_EXPIRIES,
  EVENT_SELECT,
  MEMBER_ORDER,
  MEMBER_SELECT,
  MEMBERS_OF_USERS_SELECT,
  convStatesByUser,
  num,
  pageLimit,
  PRUNE_CANDIDATES,
  PRUNE_DELETE,
  PRUNED_UPTO,
  pruneUpTo,
  toConvState,
  toDueExpiry,
  toGroupRecord,
  toLogEvent,
  SENDERS_BETWEEN,
  toMemberPosition,
  type DbInt,
  type DueRow,
  type EventRow,
  type GroupRow,
  type MemberRow,
  type PositionRow,
} from '../rows.js';
import { ADDED_COLUMNS, EXPIRY_INDEX, readSchema, splitStatements } from '../schema.js';
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
  NewSessionToken,
  Store,
  UserRecord,
  UserRef,
} from '../types.js';
import { CommitBatch, type NameCache } from './commit.js';
import { ER_DUP_ENTRY, ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT, errno, run, select, TimedConnection, TimedPool, type Queryable } from './db.js';

export interface MysqlStoreOptions {
  /** `mysql://user:password@host:port/database`; the database is created by migrate() */
  url: string;
  connectionLimit?: number;
  /**
   * every query, the wait for a pooled connection and a new connection's handshake fail after
   * this many ms; a connection whose query timed out is destroyed (0: no timeout) @default 10000
   */
  queryTimeoutMs?: number;
}

const MAX_ATTEMPTS = 10;
/** sender names kept by a process (a name never changes): ~100 bytes each */
const NAME_CACHE_MAX = 100_000;

/** MySQL errnos of a schema change another process made first */
const ER_DUP_FIELDNAME = 1060;
const ER_DUP_KEYNAME = 1061;

async function ignoreRace(change: Promise<unknown>): Promise<void> {
  try {
    await change;
  } catch (err) {
    const code = errno(err);
    if (code !== ER_DUP_FIELDNAME && code !== ER_DUP_KEYNAME) throw err;
  }
}

type Retry = 'deadlock' | 'deadlock-or-duplicate';

function retryable(err: unknown, retry: Retry): boolean {
  const code = errno(err);
  if (code === ER_LOCK_DEADLOCK || code === ER_LOCK_WAIT_TIMEOUT) return true;
  return retry === 'deadlock-or-duplicate' && code === ER_DUP_ENTRY;
}

/** host, port and credentials from the URL, plus the database named by its path */
function parseUrl(url: string): { server: ConnectionOptions; database: string } {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`MysqlStore: the URL names no database: ${u.origin}`);
  const server: ConnectionOptions = {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
    charset: 'utf8mb4',
    supportBigNumbers: true,
  };
  return { server, database };
}

export class MysqlStore implements Store {
  readonly #server: ConnectionOptions;
  readonly #database: string;
  readonly #pool: TimedPool;
  readonly #timeoutMs: number;
  readonly #names: NameCache = new LRUCache<number, string>({ max: NAME_CACHE_MAX });
  #closed = false;

  constructor(opts: MysqlStoreOptions) {
    const { server, database } = parseUrl(opts.url);
    this.#server = server;
    this.#database = database;
    this.#timeoutMs = opts.queryTimeoutMs ?? 10_000;
    // a stalled server accepts TCP connections but never greets them: the same bound
    if (this.#timeoutMs > 0) server.connectTimeout = this.#timeoutMs;
    // multipleStatements: a commit batch sends its statements together (values are still escaped)
    const pool = mysql.createPool({ ...server, database, connectionLimit: opts.connectionLimit ?? 10, multipleStatements: true });
    this.#pool = new TimedPool(pool, this.#timeoutMs);
  }

  async migrate(): Promise<void> {
    await this.#createDatabase();
    for (const statement of splitStatements(readSchema('mysql.sql'))) await this.#pool.query(statement);
    await this.#upgrade();
  }

  /**
   * A database of an older release: adds the columns and the index added since. Several
   * processes may do it at once: the one that loses the race gets "duplicate column" or
   * "duplicate key name", which means it is done.
   */
  async #upgrade(): Promise<void> {
    const has = async (sql: string, values: string[]) => (await select(this.#pool, sql, values)).length > 0;
    for (const c of ADDED_COLUMNS) {
      const found = await has('SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?', [c.table, c.column]);
      if (!found) await ignoreRace(run(this.#pool, `ALTER TABLE \`${c.table}\` ADD COLUMN ${c.column} ${c.mysql}`));
    }
    const ix = EXPIRY_INDEX;
    const found = await has('SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?', [ix.table, ix.name]);
    if (!found) await ignoreRace(run(this.#pool, `CREATE INDEX ${ix.name} ON \`${ix.table}\` (${ix.column})`));
  }

  /** CREATE DATABASE only when missing, so an account without that privilege can use an existing one */
  async #createDatabase(): Promise<void> {
    const admin = new TimedConnection(await mysql.createConnection(this.#server), this.#timeoutMs);
    try {
      const found = await select(admin, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [this.#database]);
      if (found.length > 0) return;
      await run(admin, 'CREATE DATABASE IF NOT EXISTS ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_bin', [this.#database]);
    } finally {
      if (!admin.destroyed) await admin.conn.end();
    }
  }

  /** queries sent to the server so far (a round trip each; a commit batch's usually two) */
  get roundTrips(): number {
    return this.#pool.roundTrips;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /**
   * runs work in a transaction on one pooled connection, again from scratch on a retryable
   * error. A query that timed out destroyed the connection, and the transaction with it: the
   * server rolls it back when it sees the connection gone.
   */
  async #transaction<T>(work: (conn: Queryable) => Promise<T>, retry: Retry = 'deadlock'): Promise<T> {
    return this.#attempts(async (conn) => {
      await conn.query('START TRANSACTION');
      const result = await work(conn);
      await conn.query('COMMIT');
      return result;
    }, retry);
  }

  /** work that opens and commits its own transaction, retried as #transaction's */
  async #attempts<T>(work: (conn: Queryable) => Promise<T>, retry: Retry): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const conn = await this.#pool.connection();
      try {
        return await work(conn);
      } catch (err) {
        if (!conn.destroyed) await conn.query('ROLLBACK').catch(() => conn.destroy());
        if (attempt >= MAX_ATTEMPTS || !retryable(err, retry)) throw err;
      } finally {
        this.#pool.release(conn);
      }
      await sleep(Math.random() * 5 * attempt);
    }
  }

  // users

  async createUser(name: string, passwordHash: string): Promise<number | null> {
    try {
      const res = await run(this.#pool, 'INSERT INTO user (name, password_hash) VALUES (?, ?)', [name, passwordHash]);
      return res.insertId;
    } catch (err) {
      if (errno(err) === ER_DUP_ENTRY) return null;
      throw err;
    }
  }

  async getUser(id: number): Promise<UserRecord | null> {
    const [row] = await select<{ id: DbInt; name: string; password_hash: string }>(
      this.#pool,
      'SELECT id, name, password_hash FROM user WHERE id = ?',
      [id],
    );
    return row ? { id: num(row.id), name: row.name, passwordHash: row.password_hash } : null;
  }

  async replacePasswordHash(id: number, oldHash: string, newHash: string): Promise<boolean> {
    const res = await run(this.#pool, 'UPDATE user SET password_hash = ? WHERE id = ? AND password_hash = ?', [newHash, id, oldHash]);
    return res.affectedRows === 1;
  }

  async getUserRefs(ids: number[]): Promise<UserRef[]> {
    if (ids.length === 0) return [];
    return this.#userRefs('SELECT id, name FROM user WHERE id IN (?) ORDER BY id', [ids]);
  }

  async #userRefs(sql: string, values: unknown[]): Promise<UserRef[]> {
    const rows = await select<{ id: DbInt; name: string }>(this.#pool, sql, values);
    return rows.map((r) => ({ id: num(r.id), name: r.name }));
  }

  // the key directory

  async publishDeviceKey(k: DeviceKey & { updated: number }, max: number): Promise<void> {
    await run(this.#pool, KEY_SQL.upsertMysql, [k.userId, k.device, k.key, k.updated]);
    // (two publishes of one user at once may both trim: still at most `max` remain)
    await run(this.#pool, KEY_SQL.trim, [k.userId, k.userId, max]);
  }

  async deviceKeys(userIds: number[]): Promise<DeviceKey[]> {
    if (userIds.length === 0) return [];
    const rows = await select<DeviceKeyRow>(this.#pool, 'SELECT user_id, device, pubkey FROM device_keys WHERE user_id IN (?) ORDER BY user_id, device', [userIds]);
    return rows.map(deviceKeyOf);
  }

  // session tokens

  async addSessionToken(t: NewSessionToken): Promise<void> {
    await run(this.#pool, TOKEN_SQL.purgeExpired, [t.userId, t.created]);
    await run(this.#pool, TOKEN_SQL.insert, [t.hash, t.userId, t.device, t.created, t.expires]);
  }

  async rotateSessionToken(userId: number, oldHash: string, newHash: string, now: number, expires: number): Promise<string | null> {
    const [row] = await select<{ device: string }>(this.#pool, TOKEN_SQL.device, [oldHash, userId, now]);
    if (!row) return null;
    // the UPDATE matches the old hash only once: a concurrent rotation of the same token loses here
    const res = await run(this.#pool, TOKEN_SQL.rotate, [newHash, expires, now, oldHash, userId, now]);
    return res.affectedRows === 1 ? row.device : null;
  }

  async revokeSessionToken(userId: number, device: string): Promise<boolean> {
    return (await run(this.#pool, TOKEN_SQL.revoke, [userId, device])).affectedRows > 0;
  }

  async revokeUserSessionTokens(userId: number): Promise<number> {
    return (await run(this.#pool, TOKEN_SQL.revokeUser, [userId])).affectedRows;
  }

  // friends

  async addFriend(userId: number, friendId: number): Promise<boolean> {
    const res = await run(this.#pool, 'INSERT IGNORE INTO friend (user_id, friend_id) VALUES (?, ?), (?, ?)', [
      userId,
      friendId,
      friendId,
      userId,
    ]);
    return res.affectedRows > 0;
  }

  async removeFriend(userId: number, friendId: number): Promise<boolean> {
    const res = await run(
      this.#pool,
      'DELETE FROM friend WHERE (user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)',
      [userId, friendId, friendId, userId],
    );
    return res.affectedRows > 0;
  }

  async listFriends(userId: number): Promise<UserRef[]> {
    return this.#userRefs(
      'SELECT u.id, u.name FROM friend f JOIN user u ON u.id = f.friend_id WHERE f.user_id = ? ORDER BY u.id',
      [userId],
    );
  }

  // groups

  async createGroup(name: string, desc: string, creatorId: number): Promise<GroupRecord | null> {
    return this.#transaction(async (conn) => {
      let id: number;
      try {
        const res = await run(conn, 'INSERT INTO chat_group (name, descr, creator_id) VALUES (?, ?, ?)', [
          name,
          desc,
          creatorId,
        ]);
        id = res.insertId;
      } catch (err) {
        if (errno(err) === ER_DUP_ENTRY) return null;
        throw err;
      }
      const conv = groupConv(id);
      await run(conn, 'INSERT INTO conversation (conv, last_seq) VALUES (?, 0) ON DUPLICATE KEY UPDATE last_seq = last_seq', [
        conv,
      ]);
      await this.#insertMember(conn, conv, creatorId, 'creator', 0);
      return { id, name, desc, creatorId };
    });
  }

  async #insertMember(conn: Queryable, conv: ConvId, userId: number, role: GroupRole, seq: number): Promise<void> {
    await run(
      conn,
      `INSERT INTO conv_member (conv, user_id, role, joined_seq, left_seq, delivered_seq, read_seq)
       VALUES (?, ?, ?, ?, NULL, ?, ?)`,
      [conv, userId, role, seq, seq, seq],
    );
  }

  async getGroup(id: number): Promise<GroupRecord | null> {
    const [row] = await select<GroupRow>(this.#pool, 'SELECT id, name, descr, creator_id FROM chat_group WHERE id = ?', [id]);
    return row ? toGroupRecord(row) : null;
  }

  /** the group's last seq, locking its conversation row; null for an unknown group */
  async #lockGroup(conn: Queryable, groupId: number): Promise<number | null> {
    const [row] = await select<{ last_seq: DbInt }>(conn, 'SELECT last_seq FROM conversation WHERE conv = ? FOR UPDATE', [
      groupConv(groupId),
    ]);
    return row ? num(row.last_seq) : null;
  }

  async joinGroup(groupId: number, userId: number): Promise<{ joined: boolean; joinedSeq: number }> {
    const conv = groupConv(groupId);
    return this.#transaction(async (conn) => {
      const last = await this.#lockGroup(conn, groupId);
      if (last === null) throw new Error(`joinGroup: no group ${groupId}`);
      const [row] = await select<{ joined_seq: DbInt; left_seq: DbInt | null }>(
        conn,
        'SELECT joined_seq, left_seq FROM conv_member WHERE conv = ? AND user_id = ? FOR UPDATE',
        [conv, userId],
      );
      if (row && row.left_seq === null) return { joined: false, joinedSeq: num(row.joined_seq) };
      // a re-join is a new row, so it also gets a new join_order
      if (row) await run(conn, 'DELETE FROM conv_member WHERE conv = ? AND user_id = ?', [conv, userId]);
      await this.#insertMember(conn, conv, userId, 'normal', last);
      return { joined: true, joinedSeq: last };
    });
  }

  async leaveGroup(groupId: number, userId: number): Promise<boolean> {
    return this.#transaction(async (conn) => {
      const last = await this.#lockGroup(conn, groupId);
      if (last === null) return false;
      const res = await run(
        conn,
        'UPDATE conv_member SET left_seq = ? WHERE conv = ? AND user_id = ? AND left_seq IS NULL',
        [last, groupConv(groupId), userId],
      );
      return res.affectedRows > 0;
    });
  }

  async listMembers(groupId: number): Promise<GroupMember[]> {
    const rows = await select<{ id: DbInt; name: string; role: GroupRole }>(
      this.#pool,
      `SELECT u.id, u.name, m.role FROM conv_member m JOIN user u ON u.id = m.user_id
       WHERE m.conv = ? AND m.left_seq IS NULL ORDER BY ${MEMBER_ORDER}`,
      [groupConv(groupId)],
    );
    return rows.map((r) => ({ id: num(r.id), name: r.name, role: r.role }));
  }

  async isMember(groupId: number, userId: number): Promise<boolean> {
    const rows = await select<{ one: DbInt }>(
      this.#pool,
      'SELECT 1 AS one FROM conv_member WHERE conv = ? AND user_id = ? AND left_seq IS NULL',
      [groupConv(groupId), userId],
    );
    return rows.length > 0;
  }

  async listUserGroups(userId: number): Promise<GroupRecord[]> {
    const rows = await select<GroupRow>(
      this.#pool,
      `SELECT g.id, g.name, g.descr, g.creator_id
       FROM conv_member m JOIN chat_group g ON g.id = CAST(SUBSTRING(m.conv, 3) AS UNSIGNED)
       WHERE m.user_id = ? AND m.left_seq IS NULL AND LEFT(m.conv, 2) = 'g:'
       ORDER BY g.id`,
      [userId],
    );
    return rows.map(toGroupRecord);
  }

  // the log

  async commit(ops: CommitOp[]): Promise<CommitResult[]> {
    if (ops.length === 0) return [];
    // the batch opens and commits its transaction inside its own two round trips
    return this.#attempts((conn) => new CommitBatch(conn, ops, this.#names).run(), 'deadlock-or-duplicate');
  }

  async #events(sql: string, values: unknown[]): Promise<LogEvent[]> {
    const rows = await select<EventRow>(this.#pool, `${EVENT_SELECT} ${sql}`, values);
    return rows.map(toLogEvent);
  }

  async readRange(conv: ConvId, from: number, to: number, limit: number): Promise<LogEvent[]> {
    return this.#events('WHERE e.conv = ? AND e.seq BETWEEN ? AND ? ORDER BY e.seq LIMIT ?', [
      conv,
      from,
      to,
      pageLimit(limit),
    ]);
  }

  async readBefore(conv: ConvId, before: number, floor: number, limit: number): Promise<LogEvent[]> {
    const newestFirst = await this.#events('WHERE e.conv = ? AND e.seq < ? AND e.seq >= ? ORDER BY e.seq DESC LIMIT ?', [
      conv,
      before,
      floor,
      pageLimit(limit),
    ]);
    return newestFirst.reverse();
  }

  async getEvent(conv: ConvId, seq: number): Promise<LogEvent | null> {
    const [event] = await this.#events('WHERE e.conv = ? AND e.seq = ?', [conv, seq]);
    return event ?? null;
  }

  async lastSeq(conv: ConvId): Promise<number> {
    const [row] = await select<{ last_seq: DbInt }>(this.#pool, 'SELECT last_seq FROM conversation WHERE conv = ?', [conv]);
    return row ? num(row.last_seq) : 0;
  }

  async dueExpiries(now: number, limit: number): Promise<DueExpiry[]> {
    const rows = await select<DueRow>(this.#pool, DUE_EXPIRIES, [now, pageLimit(limit)]);
    return rows.map(toDueExpiry);
  }

  // retention

  async conversationsAfter(after: ConvId, limit: number): Promise<ConvId[]> {
    const rows = await select<{ conv: string }>(this.#pool, CONVERSATIONS_AFTER, [after, pageLimit(limit)]);
    return rows.map((r) => r.conv);
  }

  /**
   * Locks only the pruned rows (a range of the primary key below the log's end) and the
   * conversation's `pruned` row: sends, which insert above the end, do not wait for it.
   */
  async prune(conv: ConvId, before: number, limit: number): Promise<number> {
    return this.#transaction(async (conn) => {
      const [row] = await select<{ upto_seq: DbInt }>(conn, `${PRUNED_UPTO} FOR UPDATE`, [conv]);
      const from = row ? num(row.upto_seq) : 0;
      const candidates = await select<{ seq: DbInt; ts: DbInt }>(conn, PRUNE_CANDIDATES, [conv, from, pageLimit(limit)]);
      const upTo = pruneUpTo(candidates, before, from);
      if (upTo === from) return 0;
      await run(conn, 'INSERT INTO pruned (conv, upto_seq) VALUES (?, ?) ON DUPLICATE KEY UPDATE upto_seq = GREATEST(upto_seq, VALUES(upto_seq))', [conv, upTo]);
      return (await run(conn, PRUNE_DELETE, [conv, from, upTo])).affectedRows;
    });
  }

  async prunedUpTo(conv: ConvId): Promise<number> {
    const [row] = await select<{ upto_seq: DbInt }>(this.#pool, PRUNED_UPTO, [conv]);
    return row ? num(row.upto_seq) : 0;
  }

  // positions

  async userConversations(userId: number): Promise<ConvState[]> {
    const rows = await select<MemberRow>(this.#pool, `${MEMBER_SELECT} WHERE m.user_id = ? ORDER BY m.conv`, [userId]);
    return rows.map(toConvState);
  }

  async convState(userId: number, conv: ConvId): Promise<ConvState | null> {
    const [row] = await select<MemberRow>(this.#pool, `${MEMBER_SELECT} WHERE m.conv = ? AND m.user_id = ?`, [
      conv,
      userId,
    ]);
    return row ? toConvState(row) : null;
  }

  async conversationsOfUsers(userIds: number[]): Promise<Map<number, ConvState[]>> {
    if (userIds.length === 0) return new Map();
    const rows = await select<MemberRow & { user_id: DbInt }>(
      this.#pool,
      `${MEMBERS_OF_USERS_SELECT}(${userIds.map(() => '?').join(', ')}) ORDER BY m.user_id, m.conv`,
      userIds,
    );
    return convStatesByUser(rows);
  }

  async memberPositions(conv: ConvId): Promise<MemberPosition[]> {
    const rows = await select<PositionRow>(
      this.#pool,
      'SELECT user_id, joined_seq, delivered_seq, read_seq FROM conv_member WHERE conv = ? AND left_seq IS NULL ORDER BY user_id',
      [conv],
    );
    return rows.map(toMemberPosition);
  }

  async sendersBetween(conv: ConvId, after: number, upTo: number): Promise<number[]> {
    const rows = await select<{ sender_id: DbInt }>(this.#pool, SENDERS_BETWEEN, [conv, after, upTo]);
    return rows.map((r) => num(r.sender_id));
  }
}
