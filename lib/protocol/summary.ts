/** One conversation as a v2 login (and CONV_LIST) summarises it for a user. */
import type { ConvId } from './conv.js';

export interface ConvSummary {
  conv: ConvId;
  /** the last seq this user may see */
  lastSeq: number;
  /** seqs up to joinedSeq are before the user's time in the conversation */
  joinedSeq: number;
  delivered: number;
  read: number;
  unread: number;
  /** present once the user left (or was removed from) a group */
  leftSeq?: number;
  /** one-to-one: how far the other user has received and read (the status of my messages) */
  peerDelivered?: number;
  peerRead?: number;
}
