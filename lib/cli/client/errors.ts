/**
 * What the client tells its user when something fails: one friendly sentence per errno the
 * server can answer (lib/errors.ts), a sentence for a server that is not there, and the exit
 * codes of the non-interactive commands.
 */
import { ChatReplyError } from '../../client/client.js';
import { Errors } from '../../errors.js';

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

/** a friendly sentence for every errno of lib/errors.ts (errno 1 and 2 depend on the request) */
const SENTENCES: Record<number, string> = {
  [Errors.LOGIN_INVALID.errno]: 'id or password is invalid!',
  [Errors.ACCOUNT_IN_USE.errno]: 'this account is using, input another!',
  [Errors.BAD_JSON.errno]: 'the server could not read the request (not valid JSON)',
  [Errors.NOT_OBJECT.errno]: 'the server could not read the request (not a JSON object)',
  [Errors.UNKNOWN_MSGID.errno]: 'the server does not know this request (is it an older version?)',
  [Errors.BAD_FIELD.errno]: 'a field of the request is missing or invalid',
  [Errors.FRAME_TOO_LARGE.errno]: 'the request is too large for the server',
  [Errors.NOT_LOGGED_IN.errno]: 'you are not logged in',
  [Errors.ALREADY_LOGGED_IN.errno]: 'already logged in on this connection',
  [Errors.NO_SUCH_USER.errno]: 'no such user',
  [Errors.NO_SUCH_GROUP.errno]: 'no such group',
  [Errors.NOT_MEMBER.errno]: 'you are not a member of this conversation',
  [Errors.GROUP_NAME_EXISTS.errno]: 'a group with this name already exists',
  [Errors.SELF_FRIEND.errno]: 'you cannot add yourself as a friend',
  [Errors.TOO_MANY_SESSIONS.errno]: 'too many devices are logged in to this account; log out on one of them first',
  [Errors.NOT_ALLOWED.errno]: 'not allowed: only the sender (or the group creator) may do that',
  [Errors.STORAGE_UNAVAILABLE.errno]: "the server's storage is unavailable right now; try again shortly",
  [Errors.BAD_SEQ.errno]: 'there is no such position in this conversation',
  [Errors.RECALL_WINDOW_EXPIRED.errno]: 'too late to recall: the recall window has passed',
  [Errors.NO_SUCH_MESSAGE.errno]: 'no such message',
  [Errors.RATE_LIMITED.errno]: 'too many requests; slow down a little',
  [Errors.NOT_FRIEND.errno]: 'not a friend',
  [Errors.TEXT_TOO_LONG.errno]: 'the message is too long',
  [Errors.SERVER_BUSY.errno]: 'the server is busy; try again',
  [Errors.SHUTTING_DOWN.errno]: 'the server is shutting down; try again in a moment',
};

const TABLE_TEXT = new Map<number, string[]>();
for (const e of Object.values(Errors)) {
  const list = TABLE_TEXT.get(e.errno) ?? [];
  list.push(e.errmsg);
  TABLE_TEXT.set(e.errno, list);
}

/** the sentence for an errno, or undefined when the client does not know it */
export function sentenceFor(errno: number): string | undefined {
  return SENTENCES[errno];
}

/**
 * A server reply as a sentence: the friendly one for its errno, plus the detail the server
 * added after its standard text (`no such user (999)`); the server's own errmsg otherwise.
 * `context` picks the right words for errno 1 (`register` vs `login`).
 */
export function describeReply(errno: number, errmsg: string | undefined, context?: 'register' | 'login'): string {
  if (errno === 1 && context === 'register') return Errors.NAME_EXISTS.errmsg;
  const sentence = SENTENCES[errno];
  if (!sentence) return errmsg && errmsg.length > 0 ? `${errmsg} (errno ${errno})` : `the server refused the request (errno ${errno})`;
  if (errmsg) {
    for (const std of TABLE_TEXT.get(errno) ?? []) {
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
    (err.errno === Errors.LOGIN_INVALID.errno || err.errno === Errors.ACCOUNT_IN_USE.errno || err.errno === Errors.TOO_MANY_SESSIONS.errno || err.errno === Errors.BAD_FIELD.errno)
  );
}
