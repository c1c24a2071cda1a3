/**
 * A conversation log event, as the store holds it and as pushes and sync pages carry it (the
 * wire shapes in shapes.ts are built from it).
 */
import type { ConvId } from './conv.js';

export type EventKind = 'chat' | 'recall';

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
  /** for a recall event: the recalled seq */
  ref: number | null;
  /** for a chat event: it was recalled (text erased) */
  recalled: boolean;
  /** the sender's client message id, if any */
  cmid: string | null;
}
