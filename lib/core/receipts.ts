/**
 * MSG_STATUS_UPDATE: when a member's delivered or read position moves, the senders of the
 * messages it covers learn "this user has the conversation up to N" (the peer of a pair, the
 * senders in the moved range of a group) on every v2 session, wherever it is connected.
 */
import type { Bus, Presence } from '../bus/types.js';
import { parseConv, type ConvId } from '../protocol/conv.js';
import { statusUpdate } from '../protocol/frames.js';
import type { Store } from '../store/types.js';
import { addFor, type FramesPayload } from './bus-payloads.js';
import type { Sessions } from './sessions.js';

/** a watermark that moved, to be told to whom it concerns */
export interface Move {
  userId: number;
  conv: ConvId;
  delivered: number;
  read: number;
  /** the lowest seq whose status changed is above this */
  from: number;
}

export interface ReceiptsDeps {
  store: Store;
  bus: Bus;
  presence: Presence;
  sessions: Sessions;
  /** true when other processes have sessions too */
  clustered: boolean;
}

export class Receipts {
  readonly #deps: ReceiptsDeps;

  constructor(deps: ReceiptsDeps) {
    this.#deps = deps;
  }

  async announce(moves: Move[]): Promise<void> {
    const { store, presence, bus } = this.#deps;
    // a group's senders: one query per conversation per batch over all its moved ranges (a
    // sender may hear of a range holding none of its messages; its client ignores that)
    const groupSenders = new Map<ConvId, Promise<number[]>>();
    for (const m of moves) {
      if (parseConv(m.conv)?.kind !== 'group' || groupSenders.has(m.conv)) continue;
      const same = moves.filter((x) => x.conv === m.conv);
      const from = Math.min(...same.map((x) => x.from));
      const to = Math.max(...same.map((x) => x.delivered));
      groupSenders.set(m.conv, store.sendersBetween(m.conv, from, to));
    }
    const items: FramesPayload['items'] = [];
    for (const m of moves) {
      const c = parseConv(m.conv);
      if (!c) continue;
      const targets = c.kind === 'pair' ? [c.a === m.userId ? c.b : c.a] : await groupSenders.get(m.conv)!;
      const users = targets.filter((u) => u !== m.userId);
      if (users.length > 0) items.push({ users, frame: statusUpdate(m.conv, m.userId, m.delivered, m.read) });
    }
    this.onFrames({ t: 'frames', items });
    if (!this.#deps.clustered || items.length === 0) return;
    const where = await presence.sessionsOf([...new Set(items.flatMap((i) => i.users))]);
    const perNode = new Map<string, FramesPayload>();
    for (const item of items) {
      for (const uid of item.users) {
        for (const node of new Set((where.get(uid) ?? []).filter((s) => !s.legacy).map((s) => s.nodeId))) {
          if (node !== bus.nodeId) addFor(perNode, node, () => ({ t: 'frames' as const, items: [] }), { users: [uid], frame: item.frame });
        }
      }
    }
    for (const [node, payload] of perNode) bus.publish(node, payload);
  }

  /** sends the frames to this process's v2 sessions of their users */
  onFrames(payload: FramesPayload): void {
    for (const { users, frame } of payload.items) {
      for (const uid of users) for (const s of this.#deps.sessions.of(uid)) if (!s.legacy && !s.ended) s.conn.send(frame);
    }
  }
}
