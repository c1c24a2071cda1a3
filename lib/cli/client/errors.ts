/**
 * What the client tells its user when something fails: one friendly sentence per errno the
 * server can answer (lib/errors.ts), a sentence for a server that is not there, and the exit
 * codes of the non-interactive commands.
 */
import { ChatReplyError, FrameTooLargeError, ResendLimitError } from '../../client/core.js';
import { Errors } from '../../errors.js';
import { MsgId } from '../../protocol/msgid.js';

/** exit codes (listed in `chatclient --help`) */
export const Exit = {
  OK: 0,
  /** bad arguments, no password, unreadable password file */
  USAGE: 1,
  /** cannot connect, the connection was lost, or no reply in time */
  CONNECT: 2,
  /** login refused: wrong id or password, too many devices */
  LOGIN: 3,
  /** the server refused the request (no such user, not a member, not allowed, ...) */
  REFUSED: 4,
} as const;

export const EXIT_CODES_HELP = [
  'Exit codes:',
  '  0  ok',
  '  1  usage error (bad arguments, no password, unreadable password file)',
  '  2  cannot connect to the server, connection lost, or no reply in time',
  '  3  login refused (wrong user id or password, too many devices logged in)',
  '  4  the server refused the request (the reason is printed on stderr)',
].join('\n');

/**
 * A friendly sentence for every code of lib/errors.ts, by name (errno 1 and 2 depend on the
 * request; see describeReply). Keyed by name so that a code added to or dropped from the table
 * does not break the build; test/chatclient/words.test.ts checks every code has its sentence.
 */
const SENTENCES: Record<string, string> = {
  LOGIN_INVALID: 'id or password is invalid!',
  NAME_EXISTS: 'name is already exist, register error!',
  ACCOUNT_IN_USE: 'this account is using, input another!',
  BAD_JSON: 'the server could not read the request (not valid JSON)',
  NOT_OBJECT: 'the server could not read the request (not a JSON object)',
  UNKNOWN_MSGID: 'the server does not know this request (is it an older version?)',
  BAD_FIELD: 'a field of the request is missing or invalid',
  FRAME_TOO_LARGE: 'the request is too large for the server',
  NOT_LOGGED_IN: 'you are not logged in',
  ALREADY_LOGGED_IN: 'already logged in on this connection',
  NO_SUCH_USER: 'no such user',
  NO_SUCH_GROUP: 'no such group',
  NOT_MEMBER: 'you are not a member of this conversation',
  GROUP_NAME_EXISTS: 'a group with this name already exists',
  SELF_FRIEND: 'you cannot add yourself as a friend',
  TOO_MANY_SESSIONS: 'too many devices are logged in to this account; log out on one of them first',
  NOT_ALLOWED: 'not allowed: only the sender (or the group creator) may do that',
  STORAGE_UNAVAILABLE: "the server's storage is unavailable right now; try again shortly",
  BAD_SEQ: 'there is no such position in this conversation',
  RECALL_WINDOW_EXPIRED: 'too late to recall: the recall window has passed',
  NO_SUCH_MESSAGE: 'no such message',
  RATE_LIMITED: 'too many requests; slow down a little',
  NOT_FRIEND: 'not a friend',
  TEXT_TOO_LONG: 'the message is too long',
  SERVER_BUSY: 'the server is busy; try again',
  SHUTTING_DOWN: 'the server is shutting down; try again in a moment',
  GROUP_FULL: 'the group is full',
  TOO_MANY_FRIENDS: 'you have too many friends to add another',
  SERVER_FULL: 'the server is full; try again later or use another server',
  IDLE_TIMEOUT: 'the connection was idle too long and the server closed it',
  SESSION_REPLACED: 'this session was replaced by a newer login of the same account',
  INTERNAL_ERROR: 'the server hit an internal error (a bug, reported in its log); try again',
  LOGIN_TIMEOUT: 'the server closed the connection: it was not logged in in time',
  TOO_MANY_CONNECTIONS: 'too many connections from your address; close some and try again',
  V2_ONLY: 'this connection (a WebSocket) speaks v2 only: every frame needs "v":2',
  BUSY: 'the server is busy checking passwords; try again in a moment',
  BAD_TTL: 'a disappearing message lives from 1 second to a year (a timer: 0, off, to a year)',
  BAD_DEVICE_KEY: "the server refused this device's key (not an X25519 public key, or a bad device id)",
  BAD_ENVELOPE: 'the server refused the encrypted message (its envelope is not of the documented form)',
};

/** errno -> the codes that carry it (errno 1 has two), and their standard texts */
const CODES = new Map<number, Array<{ code: string; errmsg: string }>>();
for (const [code, e] of Object.entries(Errors)) {
  const list = CODES.get(e.errno) ?? [];
  list.push({ code, errmsg: e.errmsg });
  CODES.set(e.errno, list);
}

/** the sentence for an errno, or undefined when the client does not know it */
export function sentenceFor(errno: number): string | undefined {
  const code = CODES.get(errno)?.[0]?.code;
  return code === undefined ? undefined : SENTENCES[code];
}

/** the sentence for a code of lib/errors.ts by name */
export function sentenceForCode(code: string): string | undefined {
  return SENTENCES[code];
}

/**
 * A server reply as a sentence: the friendly one for its errno, plus the detail the server
 * added after its standard text (`no such user (999)`); the server's own errmsg otherwise.
 * `context` picks the right words for errno 1 (`register` vs `login`).
 */
export function describeReply(errno: number, errmsg: string | undefined, context?: 'register' | 'login'): string {
  if (errno === 1 && context === 'register') return SENTENCES.NAME_EXISTS!;
  const sentence = sentenceFor(errno);
  if (!sentence) return errmsg && errmsg.length > 0 ? `${errmsg} (errno ${errno})` : `the server refused the request (errno ${errno})`;
  if (errmsg) {
    for (const { errmsg: std } of CODES.get(errno) ?? []) {
      if (errmsg.startsWith(`${std}: `)) return `${sentence} (${errmsg.slice(std.length + 2)})`;
    }
  }
  return sentence;
}

/** any failure as one sentence: server replies by errno, socket errors in plain words */
export function describeError(err: unknown, context?: 'register' | 'login'): string {
  if (err instanceof ChatReplyError) {
    return describeReply(err.errno, typeof err.reply.errmsg === 'string' ? err.reply.errmsg : undefined, context);
  }
  if (err instanceof FrameTooLargeError) {
    return `the message is too long: its frame would be ${err.bytes} bytes, and the server takes at most ${err.limit} (--max-frame)`;
  }
  if (err instanceof ResendLimitError) {
    return `not sent: the connection dropped every time it went out (${err.resends + 1} tries); the server may be refusing it`;
  }
  if (err instanceof Error) {
    if (err.message === 'disconnected') return 'the connection was lost before the server answered';
    if (err.message === 'client closed') return 'the client was closed';
    return err.message;
  }
  return String(err);
}

/** why a connection could not be opened, in plain words */
export function describeConnectError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return 'host not found';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'timed out';
    case 'EADDRNOTAVAIL':
      return 'address not available';
    default:
      if (e instanceof Error && /timed out/.test(e.message)) return 'timed out';
      return e instanceof Error ? e.message : String(err);
  }
}

/** true when the server's reply says the login itself was refused */
export function isLoginRefusal(err: unknown): boolean {
  return (
    err instanceof ChatReplyError &&
    (err.reply.msgid === MsgId.LOGIN_MSG_ACK || [1, 2].includes(err.errno))
  );
}
