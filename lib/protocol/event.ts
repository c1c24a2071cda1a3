/**
 * A conversation log event, as the store holds it and as pushes and sync pages carry it (the
 * wire shapes in shapes.ts are built from it).
 */
import type { ConvId } from './conv.js';

/** chat; recall (names a recalled seq); timer (a conversation's disappearing-messages timer, `ref` its seconds); expire (names an expired seq) */
export type EventKind = 'chat' | 'recall' | 'timer' | 'expire';

export interface LogEvent {
  conv: ConvId;
  seq: number;
  /** server message id, globally unique */
  mid: string;
  kind: EventKind;
  senderId: number;
  senderName: string;
  /** server time, ms since the epoch */
  ts: number;
  /** chat text; '' for a tombstone (recalled chat) and for recall events */
  text: string;
  /** recall and expire events: the seq they name; a timer event: its ttl in seconds (0: off) */
  ref: number | null;
  /** for a chat event: it was recalled (text erased) */
  recalled: boolean;
  /** the sender's client message id, if any */
  cmid: string | null;
  /** a chat event that disappears: when (ms since the epoch); absent when it never does */
  expiresAt?: number;
  /** a chat event that expired (text erased): a tombstone like a recalled one */
  expired?: true;
}

/** an event as seen at `now`: a chat event past its expiry is a tombstone already */
export function asOf(ev: LogEvent, now: number): LogEvent {
  if (ev.expiresAt === undefined || ev.expiresAt > now || ev.expired) return ev;
  return { ...ev, text: '', expired: true };
}
