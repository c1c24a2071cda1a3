/**
 * What a user can see of their conversations: the per-conversation summary (v2 login and
 * CONV_LIST), the legacy `offlinemsg` backlog, and sync pages. Visibility is the member's
 * window: seqs after joinedSeq, up to leftSeq once they left.
 */
import { compareMids } from './mid.js';
import { asOf } from '../protocol/event.js';
import { parseConv } from '../protocol/conv.js';
import type { ConvSummary } from '../protocol/summary.js';
import type { ConvId, ConvState, LogEvent, Store } from '../store/types.js';

export type { ConvSummary };

/** a current member: one of a pair's two users, or a member of the group who has not left */
export async function isCurrentMember(store: Store, userId: number, conv: ConvId): Promise<boolean> {
  const c = parseConv(conv);
  if (c?.kind === 'pair') return c.a === userId || c.b === userId;
  return c?.kind === 'group' && (await store.isMember(c.groupId, userId));
}

/** the users a conversation's messages go to now: a pair's two, a group's current members */
export async function currentMembers(store: Store, conv: ConvId): Promise<number[]> {
  const c = parseConv(conv);
  if (c?.kind === 'pair') return [c.a, c.b];
  return c?.kind === 'group' ? (await store.listMembers(c.groupId)).map((m) => m.id) : [];
}

export function visibleTop(st: ConvState): number {
  return st.leftSeq ?? st.lastSeq;
}

export function summarize(st: ConvState): ConvSummary {
  const top = visibleTop(st);
  const read = Math.min(Math.max(st.read, st.joinedSeq), top);
  const out: ConvSummary = {
    conv: st.conv,
    lastSeq: top,
    joinedSeq: st.joinedSeq,
    delivered: Math.min(Math.max(st.delivered, st.joinedSeq), top),
    read,
    unread: top - read,
  };
  if (st.leftSeq !== null) out.leftSeq = st.leftSeq;
  return out;
}

/**
 * The summary of every conversation of a user (v2 login, CONV_LIST), with the other user's
 * positions in one-to-one conversations, so a sender who was away learns its messages' status.
 */
export async function conversationSummaries(store: Store, userId: number, convs?: ConvState[]): Promise<ConvSummary[]> {
  const states = convs ?? (await store.userConversations(userId));
  return Promise.all(
    states.map(async (st) => {
      const s = summarize(st);
      if (parseConv(st.conv)?.kind !== 'pair') return s;
      const peer = (await store.memberPositions(st.conv)).find((p) => p.userId !== userId);
      if (peer) {
        s.peerDelivered = peer.delivered;
        s.peerRead = peer.read;
      }
      return s;
    }),
  );
}

/**
 * The legacy backlog: every visible event past the delivered position, except the user's own,
 * each conversation in seq order, conversations merged by time; at most `max` events.
 * `upTo` says, per conversation, how far the backlog covers.
 */
export async function legacyBacklog(
  store: Store,
  userId: number,
  convs: ConvState[],
  max: number,
  now: number,
): Promise<{ events: LogEvent[]; upTo: Map<ConvId, number> }> {
  const lists: LogEvent[][] = [];
  const upTo = new Map<ConvId, number>();
  let budget = max;
  for (const st of convs) {
    const from = Math.max(st.delivered, st.joinedSeq) + 1;
    const top = visibleTop(st);
    if (from > top || budget <= 0) {
      upTo.set(st.conv, Math.min(top, from - 1));
      continue;
    }
    const evs = await store.readRange(st.conv, from, top, budget);
    // a full page may have stopped short of the top; the rest waits for the next login
    upTo.set(st.conv, evs.length < budget ? top : evs[evs.length - 1]!.seq);
    budget -= evs.length;
    // own lines are not news; a recalled or expired message shows as its recall or expiry event only
    const shown = evs.filter((e) => e.senderId !== userId && !e.recalled && !asOf(e, now).expired);
    if (shown.length > 0) lists.push(shown);
  }
  return { events: mergeByTime(lists), upTo };
}

/**
 * k-way merge by ts that keeps each list's own order; messages of one millisecond from one
 * process go in the order that process took them
 */
function mergeByTime(lists: LogEvent[][]): LogEvent[] {
  const out: LogEvent[] = [];
  const at = lists.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const e = lists[i]![at[i]!];
      if (!e) continue;
      const b = best === -1 ? undefined : lists[best]![at[best]!]!;
      if (!b || e.ts < b.ts || (e.ts === b.ts && compareMids(e.mid, b.mid) < 0)) best = i;
    }
    if (best === -1) return out;
    out.push(lists[best]![at[best]!++]!);
  }
}

/**
 * The window a user may read in `conv`, or null when they may not read it at all. A pair
 * conversation is readable by its two users even before its first message.
 */
export async function readableWindow(store: Store, userId: number, conv: ConvId): Promise<{ floor: number; top: number } | null> {
  const c = parseConv(conv);
  if (!c) return null;
  const st = await store.convState(userId, conv);
  if (st) return { floor: st.joinedSeq + 1, top: visibleTop(st) };
  if (c.kind === 'pair' && (c.a === userId || c.b === userId)) return { floor: 1, top: await store.lastSeq(conv) };
  return null;
}
