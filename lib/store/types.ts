/**
 * The storage contract. Every backend (SQLite embedded, MySQL/MariaDB cluster) implements it
 * and is checked by one shared suite, test/fixtures/store-contract.ts.
 *
 * The conversation log is the single source of truth for messages: an "offline message" is
 * only a log entry past a member's delivered position. Hot-path writes (appends, watermark
 * moves, recalls) arrive as one `commit(ops)` call per event-loop tick and run in one
 * transaction; the store allocates `seq` per conversation inside that transaction, so
 * sequence numbers are atomic and durable across every process sharing the database.
 */

export type GroupRole = 'creator' | 'normal';

import type { ConvId } from '../protocol/conv.js';
import type { EventKind, LogEvent } from '../protocol/event.js';
import type { DeviceKey } from '../protocol/sealed.js';

// the log's types belong to the protocol (what a push carries); re-exported for the stores
export type { ConvId, DeviceKey, EventKind, LogEvent };

export interface UserRecord {
  id: number;
  name: string;
  /** scrypt hash in the PHC form `$scrypt$ln=..,r=..,p=..$<salt>$<key>` (lib/models/password.ts); never plain text. */
  passwordHash: string;
}

/**
 * A v2 resume credential as stored: never the token itself, only its SHA-256 (hex), bound to
 * one user and one device (the id of the token's chain: a password login starts one, each
 * resume replaces its token with the next).
 */
export interface NewSessionToken {
  /** SHA-256 of the token, hex */
  hash: string;
  userId: number;
  device: string;
  /** ms since the epoch */
  created: number;
  expires: number;
}

export interface UserRef {
  id: number;
  name: string;
}

export interface GroupRecord {
  id: number;
  name: string;
  desc: string;
  creatorId: number;
}

export interface GroupMember extends UserRef {
  role: GroupRole;
}

/** A new event to append; the store assigns seq. */
export interface NewEvent {
  conv: ConvId;
  kind: EventKind;
  senderId: number;
  mid: string;
  ts: number;
  text: string;
  ref: number | null;
  cmid: string | null;
  /**
   * a chat event's own lifetime in seconds; without it the conversation's timer (set by the
   * last timer event) applies
   */
  ttl?: number;
}

/** a chat event past its expiry that is not a tombstone yet */
export interface DueExpiry {
  conv: ConvId;
  seq: number;
  senderId: number;
}

export type CommitOp =
  /**
   * Append one event. For a `p:` conversation the store makes both users members. A chat
   * event gets `expiresAt` from its `ttl` or the conversation's timer; a timer event (kind
   * 'timer', `ref` its seconds) sets that timer for the events after it.
   */
  | { op: 'append'; event: NewEvent }
  /**
   * Move a member's delivered and/or read watermark forward (never backward). `check`: a read
   * marker a client asked for, validated inside the commit: refused (nothing moves, `refused` in
   * the result) when the user is no member, when `read` is past the conversation's last seq (or
   * where the member left) or behind the read watermark.
   */
  | { op: 'position'; userId: number; conv: ConvId; delivered?: number; read?: number; check?: boolean }
  /**
   * Recall: tombstone the chat event at `seq` (erase its text) and append `event` (a recall
   * event naming it) in the same transaction. Idempotent: an already recalled target appends
   * nothing and returns `already: true`.
   */
  | { op: 'recall'; conv: ConvId; seq: number; event: NewEvent }
  /**
   * Expiry: tombstone the chat event at `seq` (erase its text, mark it expired) if its
   * `expiresAt` is at or before `event.ts`, and append `event` (kind 'expire', naming it) in the
   * same transaction. Idempotent: a target already expired, recalled, or not due appends nothing.
   */
  | { op: 'expire'; conv: ConvId; seq: number; event: NewEvent };

export type CommitResult =
  /** `duplicate`: the (sender, cmid) pair was seen before; `event` is the first one. */
  | { op: 'append'; event: LogEvent; duplicate: boolean }
  /** the member's watermarks after the move, and before it (all 0 when not a member) */
  | { op: 'position'; delivered: number; read: number; prevDelivered: number; prevRead: number; refused?: MoveRefusal }
  | { op: 'recall'; event: LogEvent | null; already: boolean; found: boolean }
  /** `event`: the expire event appended, null when nothing was due */
  | { op: 'expire'; event: LogEvent | null };

/** why a checked move (a read marker) was refused */
export type MoveRefusal = { reason: 'not-member' } | { reason: 'past-end'; top: number } | { reason: 'backwards'; read: number };

/** One row per conversation a user belongs to (or belonged to). */
export interface ConvState {
  conv: ConvId;
  lastSeq: number;
  /** the member sees seqs > joinedSeq */
  joinedSeq: number;
  /** null while a member; else the last seq the member may read */
  leftSeq: number | null;
  delivered: number;
  read: number;
}

/** Watermarks of one member of a conversation (for receipts). */
export interface MemberPosition {
  userId: number;
  /** the member sees seqs > joinedSeq */
  joinedSeq: number;
  delivered: number;
  read: number;
}

export interface Store {
  /** Creates the schema when missing; idempotent and safe to run from several processes. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // users
  /** null when the name is taken */
  createUser(name: string, passwordHash: string): Promise<number | null>;
  getUser(id: number): Promise<UserRecord | null>;
  /**
   * replaces a user's password hash if it is still `oldHash` (a rehash at a higher cost must not
   * undo a change made meanwhile); false when it was not
   */
  replacePasswordHash(id: number, oldHash: string, newHash: string): Promise<boolean>;
  getUserRefs(ids: number[]): Promise<UserRef[]>;

  // session tokens (v2 resume credentials, lib/models/tokens.ts)
  /** stores a new device's first token; the user's expired tokens (at `token.created`) go */
  addSessionToken(token: NewSessionToken): Promise<void>;
  /**
   * Rotation, atomic across processes: the token `oldHash` of `userId`, unexpired at `now`, is
   * replaced by `newHash`, valid until `expires`, and marked used at `now`. The device it
   * belongs to, or null when there is no such token (unknown, another user's, expired, or just
   * rotated by a concurrent resume).
   */
  rotateSessionToken(userId: number, oldHash: string, newHash: string, now: number, expires: number): Promise<string | null>;
  /** LOGINOUT: removes the device's token; false when it had none */
  revokeSessionToken(userId: number, device: string): Promise<boolean>;
  /** a password change: removes every token of the user; how many there were */
  revokeUserSessionTokens(userId: number): Promise<number>;

  // the key directory of end-to-end encrypted messages (lib/protocol/sealed.ts)
  /**
   * stores (or replaces) a device's public key, published at `key.updated`; past `max` keys
   * of the user the least recently published go
   */
  publishDeviceKey(key: DeviceKey & { updated: number }, max: number): Promise<void>;
  /** the published keys of these users, by user then device */
  deviceKeys(userIds: number[]): Promise<DeviceKey[]>;

  // friends (a friendship is stored both ways)
  /** false when it already existed */
  addFriend(userId: number, friendId: number): Promise<boolean>;
  /** false when there was none */
  removeFriend(userId: number, friendId: number): Promise<boolean>;
  listFriends(userId: number): Promise<UserRef[]>;

  // groups
  /** null when the name is taken; the creator becomes a member with role 'creator' */
  createGroup(name: string, desc: string, creatorId: number): Promise<GroupRecord | null>;
  getGroup(id: number): Promise<GroupRecord | null>;
  /**
   * Joins with role 'normal' at the conversation's current last seq (the member sees only
   * later seqs). `joined: false` when already a member.
   */
  joinGroup(groupId: number, userId: number): Promise<{ joined: boolean; joinedSeq: number }>;
  /** Ends membership at the current last seq; false when not a member. */
  leaveGroup(groupId: number, userId: number): Promise<boolean>;
  /** current members, creator first then by join order */
  listMembers(groupId: number): Promise<GroupMember[]>;
  isMember(groupId: number, userId: number): Promise<boolean>;
  /** groups the user is currently a member of, by id */
  listUserGroups(userId: number): Promise<GroupRecord[]>;

  // the log
  /** Runs all ops in one transaction, in order; results in the same order. */
  commit(ops: CommitOp[]): Promise<CommitResult[]>;
  /** events with from <= seq <= to, ascending, at most limit */
  readRange(conv: ConvId, from: number, to: number, limit: number): Promise<LogEvent[]>;
  /** events with seq < before and seq >= floor, the newest `limit` of them, ascending */
  readBefore(conv: ConvId, before: number, floor: number, limit: number): Promise<LogEvent[]>;
  getEvent(conv: ConvId, seq: number): Promise<LogEvent | null>;
  lastSeq(conv: ConvId): Promise<number>;
  /** chat events with expiresAt <= now that are still live, soonest first, at most `limit` */
  dueExpiries(now: number, limit: number): Promise<DueExpiry[]>;

  // retention
  /** conversation ids after `after` ('' for the first), in order, at most `limit` */
  conversationsAfter(after: ConvId, limit: number): Promise<ConvId[]>;
  /**
   * Deletes the oldest events of `conv` not pruned yet whose ts is before `before`, at most
   * `limit`, stopping at the first one at or after it, and records how far the log is pruned.
   * One short transaction; returns how many events it deleted.
   */
  prune(conv: ConvId, before: number, limit: number): Promise<number>;
  /** every seq up to this one of `conv` was pruned (0: none) */
  prunedUpTo(conv: ConvId): Promise<number>;

  // positions
  /** every conversation the user is or was a member of */
  userConversations(userId: number): Promise<ConvState[]>;
  convState(userId: number, conv: ConvId): Promise<ConvState | null>;
  /** `userConversations` of many users in one go (users with none are absent) */
  conversationsOfUsers(userIds: number[]): Promise<Map<number, ConvState[]>>;
  /** watermarks of all current members of a conversation */
  memberPositions(conv: ConvId): Promise<MemberPosition[]>;
  /** distinct senders of chat events with after < seq <= upTo */
  sendersBetween(conv: ConvId, after: number, upTo: number): Promise<number[]>;
}
