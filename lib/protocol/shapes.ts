/**
 * Outgoing shapes. Legacy frames list their keys in sorted order, as the original's
 * nlohmann::json dump() does, and carry only the original's fields plus `conv` and `msgSeq`.
 */
import { parseConv } from './conv.js';
import type { LogEvent } from './event.js';
import { MsgId } from './msgid.js';
import { envelopeOf, isSealed, SEALED_TEXT } from './sealed.js';

/** `YYYY-MM-DD HH:MM:SS` in the server's local time, like the original client's getCurrentTime() */
export function legacyTime(ts: number): string {
  const d = new Date(ts);
  const p = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** what a legacy client shows in place of a recalled message */
export const RECALLED_TEXT = '[recalled a message]';

/** what a legacy client shows in place of an expired message */
export const EXPIRED_TEXT = '[message expired]';

/** what a legacy client reads for a timer event of `ttl` seconds */
export function timerText(ttl: number): string {
  return ttl > 0 ? `[set disappearing messages to ${ttl} s]` : '[turned disappearing messages off]';
}

/** the text a legacy client reads for an event */
function legacyText(ev: LogEvent): string {
  switch (ev.kind) {
    case 'chat':
      return ev.recalled ? RECALLED_TEXT : ev.expired ? EXPIRED_TEXT : isSealed(ev.text) ? SEALED_TEXT : ev.text;
    case 'recall':
      return RECALLED_TEXT;
    case 'expire':
      return EXPIRED_TEXT;
    case 'timer':
      return timerText(ev.ref ?? 0);
  }
}

const V2_MSGID = { recall: MsgId.RECALL_MSG, timer: MsgId.TIMER_MSG, expire: MsgId.EXPIRED_MSG } as const;

/** the msgid an event goes out as: v2 by its kind, legacy always as a chat line */
export function eventMsgId(ev: LogEvent, legacy: boolean): number {
  if (ev.kind !== 'chat' && !legacy) return V2_MSGID[ev.kind];
  return ev.conv.startsWith('g:') ? MsgId.GROUP_CHAT_MSG : MsgId.ONE_CHAT_MSG;
}

/**
 * A log event as a legacy client sees it: a ONE_CHAT_MSG or GROUP_CHAT_MSG from the sender.
 * A recalled chat and a recall event both read as RECALLED_TEXT, an expired chat and an expiry
 * event as EXPIRED_TEXT: a legacy client never gets erased text it had not received.
 */
export function legacyEvent(ev: LogEvent, recipientId: number): Record<string, unknown> {
  const c = parseConv(ev.conv);
  const msg = legacyText(ev);
  const time = legacyTime(ev.ts);
  if (c?.kind === 'group') {
    return { conv: ev.conv, groupid: c.groupId, id: ev.senderId, msg, msgSeq: ev.seq, msgid: MsgId.GROUP_CHAT_MSG, name: ev.senderName, time };
  }
  const toid = c && c.a === ev.senderId ? c.b : c ? c.a : recipientId;
  return { conv: ev.conv, id: ev.senderId, msg, msgSeq: ev.seq, msgid: MsgId.ONE_CHAT_MSG, name: ev.senderName, time, toid };
}

/**
 * A log event as a v2 client sees it, in pushes and in sync pages: msgid 6 or 10 for chat
 * (with `recalled: true` or `expired: true` and empty text for a tombstone, `expiresAt` for a
 * message that disappears; `e2e` in place of `msg` for a sealed message), 18 for a recall event (`recalledSeq`), 31 for a timer event
 * (`ttl`), 32 for an expiry event (`expiredSeq`).
 */
export function v2Event(ev: LogEvent): Record<string, unknown> {
  const c = parseConv(ev.conv);
  const out: Record<string, unknown> = {
    msgid: eventMsgId(ev, false),
    v: 2,
    conv: ev.conv,
    msgSeq: ev.seq,
    mid: ev.mid,
    ts: ev.ts,
    time: legacyTime(ev.ts),
    id: ev.senderId,
    name: ev.senderName,
  };
  if (c?.kind === 'group') out.groupid = c.groupId;
  else if (c) out.toid = c.a === ev.senderId ? c.b : c.a;
  if (ev.kind === 'recall') out.recalledSeq = ev.ref;
  else if (ev.kind === 'expire') out.expiredSeq = ev.ref;
  else if (ev.kind === 'timer') out.ttl = ev.ref ?? 0;
  else {
    if (isSealed(ev.text)) out.e2e = envelopeOf(ev.text);
    else out.msg = ev.text;
    if (ev.recalled) out.recalled = true;
    if (ev.expired) out.expired = true;
    else if (ev.expiresAt !== undefined && !ev.recalled) out.expiresAt = ev.expiresAt;
  }
  if (ev.cmid !== null) out.cmid = ev.cmid;
  return out;
}

/**
 * a seq that holds no event and never will (a placeholder in sync pages); `pruned`: its event
 * was deleted by retention
 */
export function v2Gap(conv: string, seq: number, pruned = false): Record<string, unknown> {
  return pruned ? { conv, msgSeq: seq, gap: true, pruned: true } : { conv, msgSeq: seq, gap: true };
}
