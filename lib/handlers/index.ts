/**
 * The handler registry and the one dispatcher (the aedes pattern): parse, check the
 * connection's state (before login only REG and LOGIN, and PING), then hand the frame to its
 * handler. Failures become the reply the connection's flavour allows; nothing a client sends
 * can throw out of here.
 */
import { ChatError } from '../errors.js';
import { MsgId } from '../protocol/msgid.js';
import { msgidOf, parseFrame, type Frame } from '../protocol/validate.js';
import type { Link } from '../core/link.js';
import type { Hub } from '../core/hub.js';
import { asChatError, replyError } from '../core/reply.js';
import { addFriend } from './add-friend.js';
import { addGroup } from './add-group.js';
import { convList } from './conv-list.js';
import { createGroup } from './create-group.js';
import { delivered } from './delivered.js';
import { groupChat } from './group-chat.js';
import { keyFetch } from './key-fetch.js';
import { keyPublish } from './key-publish.js';
import { leaveGroup } from './leave-group.js';
import { login } from './login.js';
import { loginout } from './loginout.js';
import { oneChat } from './one-chat.js';
import { msgStatus } from './msg-status.js';
import { ping } from './ping.js';
import { readMarker } from './read.js';
import { recall } from './recall.js';
import { reg } from './reg.js';
import { removeFriend } from './remove-friend.js';
import { removeMember } from './remove-member.js';
import { sync } from './sync.js';
import { timer } from './timer.js';
import type { Handler } from './types.js';

export const handlers: ReadonlyMap<number, Handler> = new Map(
  [login, loginout, reg, oneChat, addFriend, createGroup, addGroup, groupChat, delivered, sync, readMarker, leaveGroup, removeMember, removeFriend, convList, ping, recall, msgStatus, timer, keyPublish, keyFetch].map(
    (h) => [h.msgid, h],
  ),
);

/** handles one incoming frame (text without its terminator) */
export async function dispatch(hub: Hub, conn: Link, text: string): Promise<void> {
  let frame: Frame | undefined;
  let msgid: number | null = null;
  try {
    frame = parseFrame(text);
    if (frame.v === 2 && !conn.v2) conn.v2 = true;
    msgid = msgidOf(frame);
    hub.stats.countIn(msgid);
    if (conn.v2only && frame.v !== 2) throw new ChatError('V2_ONLY');
    const handler = msgid === null ? undefined : handlers.get(msgid);
    if (!handler || (handler.v2only && !conn.v2)) {
      throw new ChatError(msgid === null ? 'BAD_FIELD' : 'UNKNOWN_MSGID', msgid === null ? 'msgid' : String(msgid));
    }
    if (handler.auth && (!conn.session || conn.session.ended)) throw new ChatError('NOT_LOGGED_IN');
    try {
      await handler.handle(hub, conn, frame);
    } catch (err) {
      if (!handler.fail) throw err;
      if (!(err instanceof ChatError)) conn.log.error({ err, msgid }, 'handler failed');
      if (!conn.closed) handler.fail(conn, frame, asChatError(err, hub.stats));
    }
  } catch (err) {
    if (frame === undefined) hub.stats.countIn(null);
    if (!(err instanceof ChatError)) conn.log.error({ err, msgid }, 'handler failed');
    if (!conn.closed) replyError(conn, asChatError(err, hub.stats), msgid, frame);
  }
}

/** answers a frame that is not handled (over the rate limit), echoing its msgid and cmid */
export function rejectFrame(conn: Link, text: string, err: ChatError): void {
  let frame: Frame | undefined;
  try {
    frame = parseFrame(text);
  } catch {
    frame = undefined;
  }
  replyError(conn, err, frame ? msgidOf(frame) : null, frame);
}

export { MsgId };
