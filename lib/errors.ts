/**
 * Every errno the server can send, in one table. docs/PROTOCOL.md has the same table and
 * test/docs/protocol-doc.test.ts keeps the two in step. 0..2 are the original's (LOGIN and REG acks);
 * 100 and up are ours (v2 error replies and acks).
 */
export const Errors = {
  OK: { errno: 0, errmsg: 'ok' },
  /** LOGIN_MSG_ACK: wrong password or no such user (the original's words) */
  LOGIN_INVALID: { errno: 1, errmsg: 'id or password is invalid!' },
  /** REG_MSG_ACK: the name is taken */
  NAME_EXISTS: { errno: 1, errmsg: 'name is already exist, register error!' },
  /** LOGIN_MSG_ACK: a legacy login while the account has a live session (the original's words) */
  ACCOUNT_IN_USE: { errno: 2, errmsg: 'this account is using, input another!' },
  BAD_JSON: { errno: 100, errmsg: 'frame is not valid JSON' },
  NOT_OBJECT: { errno: 101, errmsg: 'frame is not a JSON object' },
  UNKNOWN_MSGID: { errno: 102, errmsg: 'unknown msgid' },
  BAD_FIELD: { errno: 103, errmsg: 'missing or invalid field' },
  FRAME_TOO_LARGE: { errno: 104, errmsg: 'frame too large' },
  NOT_LOGGED_IN: { errno: 105, errmsg: 'log in first' },
  ALREADY_LOGGED_IN: { errno: 106, errmsg: 'already logged in on this connection' },
  NO_SUCH_USER: { errno: 107, errmsg: 'no such user' },
  NO_SUCH_GROUP: { errno: 108, errmsg: 'no such group' },
  NOT_MEMBER: { errno: 109, errmsg: 'not a member of this conversation' },
  GROUP_NAME_EXISTS: { errno: 110, errmsg: 'group name is already taken' },
  SELF_FRIEND: { errno: 111, errmsg: 'you cannot befriend yourself' },
  TOO_MANY_SESSIONS: { errno: 112, errmsg: 'too many sessions for this account' },
  NOT_ALLOWED: { errno: 113, errmsg: 'not allowed' },
  STORAGE_UNAVAILABLE: { errno: 114, errmsg: 'storage unavailable, try again' },
  BAD_SEQ: { errno: 115, errmsg: 'msgSeq out of range' },
  RECALL_WINDOW_EXPIRED: { errno: 116, errmsg: 'recall window expired' },
  NO_SUCH_MESSAGE: { errno: 117, errmsg: 'no such message' },
  RATE_LIMITED: { errno: 118, errmsg: 'too many requests, slow down' },
  NOT_FRIEND: { errno: 119, errmsg: 'not a friend' },
  TEXT_TOO_LONG: { errno: 120, errmsg: 'message text too long' },
  SHUTTING_DOWN: { errno: 122, errmsg: 'server shutting down, reconnect' },
  GROUP_FULL: { errno: 123, errmsg: 'the group is full' },
  TOO_MANY_FRIENDS: { errno: 124, errmsg: 'too many friends' },
  SERVER_FULL: { errno: 125, errmsg: 'server full, try another' },
  IDLE_TIMEOUT: { errno: 126, errmsg: 'idle too long, closing' },
  SESSION_REPLACED: { errno: 127, errmsg: 'this session was replaced by a newer login' },
  /** a defect in the server, not an outage: reported in the log and chat_internal_errors_total */
  INTERNAL_ERROR: { errno: 128, errmsg: 'internal server error' },
  /** a connection that did not log in within --login-timeout is closed */
  LOGIN_TIMEOUT: { errno: 129, errmsg: 'not logged in in time, closing' },
  /** more connections from one address than --max-connections-per-address */
  TOO_MANY_CONNECTIONS: { errno: 130, errmsg: 'too many connections from your address' },
  /** a frame without "v":2 on a connection that speaks only v2 (a WebSocket) */
  V2_ONLY: { errno: 131, errmsg: 'this connection speaks v2 only: send "v":2' },
  /** --hash-queue password hashes already wait their turn: a LOGIN with a password or a REG is refused at once */
  BUSY: { errno: 132, errmsg: 'server busy, try again' },
  /** a send's `ttl` or a TIMER_MSG's `ttl` outside its bounds */
  BAD_TTL: { errno: 133, errmsg: 'ttl out of range' },
  /** KEY_PUBLISH_MSG: a device id or public key not of the documented form */
  BAD_DEVICE_KEY: { errno: 134, errmsg: 'invalid device id or public key' },
  /** a send's `e2e` envelope not of the documented form (or with `msg` as well) */
  BAD_ENVELOPE: { errno: 135, errmsg: 'invalid end-to-end envelope' },
} as const;

export type ErrorCode = keyof typeof Errors;
export type ErrorInfo = (typeof Errors)[ErrorCode];

/** A failure a handler reports; the dispatcher turns it into the reply its flavour allows. */
export class ChatError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  constructor(code: ErrorCode, detail?: string) {
    super(detail ? `${Errors[code].errmsg}: ${detail}` : Errors[code].errmsg);
    this.name = 'ChatError';
    this.code = code;
    this.detail = detail;
  }
  get errno(): number {
    return Errors[this.code].errno;
  }
}

/** The database (or Redis presence) failed: the request may succeed if tried again. */
export class StorageError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StorageError';
  }
}
