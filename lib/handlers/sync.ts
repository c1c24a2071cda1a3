/**
 * SYNC_MSG (15, v2) -> SYNC_MSG_ACK (16): a page of a conversation's log, "after seq A" or
 * "before seq S", at most `limit` seqs, within the member's window. A seq the log does not
 * hold (and never will) comes back as a placeholder `{msgSeq, gap: true}`.
 */
import { ChatError, Errors } from '../errors.js';
import { readableWindow } from '../models/conversations.js';
import { asOf } from '../protocol/event.js';
import { MsgId } from '../protocol/msgid.js';
import { v2Event, v2Gap } from '../protocol/shapes.js';
import * as read from '../protocol/validate.js';
import type { Handler } from './types.js';

export const SYNC_DEFAULT_LIMIT = 100;
export const SYNC_MAX_LIMIT = 500;

export const sync: Handler = {
  msgid: MsgId.SYNC_MSG,
  auth: true,
  v2only: true,
  async handle(hub, conn, frame) {
    const conv = read.text(frame, 'conv', { max: 64 });
    const after = read.optionalCount(frame, 'after');
    const before = read.optionalCount(frame, 'before');
    if (after !== undefined && before !== undefined) throw new ChatError('BAD_FIELD', 'after and before together');
    const limit = read.count(frame, 'limit', SYNC_DEFAULT_LIMIT);
    if (limit < 1 || limit > SYNC_MAX_LIMIT) throw new ChatError('BAD_FIELD', `limit (1..${SYNC_MAX_LIMIT})`);
    const win = await readableWindow(hub.store, conn.session!.userId, conv);
    if (!win) throw new ChatError('NOT_MEMBER', conv);
    let from: number;
    let to: number;
    let more: boolean;
    if (before !== undefined) {
      to = Math.min(before - 1, win.top);
      from = Math.max(win.floor, to - limit + 1);
      more = from > win.floor;
    } else {
      from = Math.max((after ?? 0) + 1, win.floor);
      to = Math.min(win.top, from + limit - 1);
      more = to < win.top;
    }
    const events = from <= to ? await hub.store.readRange(conv, from, to, limit) : [];
    const page: object[] = [];
    const now = hub.now();
    // only a page with holes asks how far retention pruned the log
    const pruned = events.length < to - from + 1 ? await hub.store.prunedUpTo(conv) : 0;
    let i = 0;
    for (let seq = from; seq <= to; seq++) {
      // a message past its expiry is a tombstone even before the sweeper has erased it
      if (events[i]?.seq === seq) page.push(v2Event(asOf(events[i++]!, now)));
      else page.push(v2Gap(conv, seq, seq <= pruned));
    }
    const cmid = read.echoCmid(frame);
    conn.send({
      msgid: MsgId.SYNC_MSG_ACK,
      v: 2,
      errno: 0,
      errmsg: Errors.OK.errmsg,
      conv,
      events: page,
      lastSeq: win.top,
      joinedSeq: win.floor - 1,
      more,
      ...(cmid ? { cmid } : {}),
    });
  },
};
