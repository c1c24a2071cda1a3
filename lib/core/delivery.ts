/**
 * Delivery of committed events to every recipient session: this process's sessions directly,
 * other processes' with one bus message per process per batch. An event is serialised once
 * per flavour however many sessions get it, and goes out as a tombstone if it was recalled or
 * expired on its way.
 */
import { LRUCache } from 'lru-cache';
import type { Bus, Presence } from '../bus/types.js';
import { parseConv, type ConvId } from '../protocol/conv.js';
import { asOf, type LogEvent } from '../protocol/event.js';
import { isSealed } from '../protocol/sealed.js';
import { legacyEvent, v2Event } from '../protocol/shapes.js';
import type { Store } from '../store/types.js';
import { addFor, type EventsPayload } from './bus-payloads.js';
import type { Session } from './session.js';
import type { Sessions } from './sessions.js';

/** one committed event and the session that sent it */
export interface Delivery {
  ev: LogEvent;
  origin: string | undefined;
}

export interface DeliveryDeps {
  store: Store;
  bus: Bus;
  presence: Presence;
  sessions: Sessions;
  /** true when other processes have sessions too */
  clustered: boolean;
  /** ms from a batch's commit to its publish, for the metrics */
  onPublish: (ms: number) => void;
  /** the clock (ms): a message past its expiry goes out as a tombstone */
  now: () => number;
}

/** bound on the recent-recalls cache; the least recent recall is long out of every in-flight queue */
const RECALLED_MAX = 100_000;

export class Deliveries {
  readonly #deps: DeliveryDeps;
  /** `conv#seq` of recent recalls, so in-flight copies of a recalled message go out as tombstones */
  readonly #recalled = new LRUCache<string, true>({ max: RECALLED_MAX });
  readonly #legacyLines = new WeakMap<LogEvent, string>();
  readonly #v2Lines = new WeakMap<LogEvent, string>();

  constructor(deps: DeliveryDeps) {
    this.#deps = deps;
  }

  /**
   * An event on its way out may have been recalled or have expired since it was read or
   * committed: then it goes out as the tombstone (v2), or not at all (legacy: the recall or
   * expiry event shows instead). A legacy session reads the first sealed message of each
   * conversation as SEALED_TEXT and not the others.
   */
  render(ev: LogEvent, s: Session): string | null {
    const recalled = ev.recalled || (ev.kind === 'chat' && this.#recalled.has(`${ev.conv}#${ev.seq}`));
    // the clock is read only for an event that can expire (most have no expiry)
    const seen = recalled || ev.expiresAt === undefined ? ev : asOf(ev, this.#deps.now());
    if (s.legacy && (recalled || seen.expired)) return null;
    if (s.legacy && isSealed(ev.text) && !s.firstSealed(ev.conv)) return null;
    if (recalled && !ev.recalled) return JSON.stringify(v2Event({ ...ev, text: '', recalled: true }));
    if (seen !== ev) return JSON.stringify(v2Event(seen));
    // a group message goes to many sessions: serialised once per flavour
    const cache = s.legacy ? this.#legacyLines : this.#v2Lines;
    let line = cache.get(ev);
    if (line === undefined) {
      line = JSON.stringify(s.legacy ? legacyEvent(ev, s.userId) : v2Event(ev));
      cache.set(ev, line);
    }
    return line;
  }

  noteRecall(ev: LogEvent): void {
    if (ev.kind !== 'recall' || ev.ref === null) return;
    this.#recalled.set(`${ev.conv}#${ev.ref}`, true);
  }

  async deliver(items: Delivery[]): Promise<void> {
    const members = new Map<ConvId, number[]>();
    const recipients: number[][] = [];
    for (const { ev } of items) {
      const c = parseConv(ev.conv);
      if (!c) {
        recipients.push([]);
      } else if (c.kind === 'pair') {
        recipients.push([c.a, c.b]);
      } else {
        let list = members.get(ev.conv);
        if (!list) {
          list = (await this.#deps.store.listMembers(c.groupId)).map((m) => m.id);
          members.set(ev.conv, list);
        }
        recipients.push(list);
      }
    }
    for (let i = 0; i < items.length; i++) {
      const { ev, origin } = items[i]!;
      for (const uid of recipients[i]!) for (const s of this.#deps.sessions.of(uid)) s.push(ev, origin);
    }
    if (this.#deps.clustered) await this.#publishRemote(items, recipients);
  }

  /** one publish per target process for the whole batch */
  async #publishRemote(items: Delivery[], recipients: number[][]): Promise<void> {
    const { bus, presence } = this.#deps;
    const committedAt = performance.now();
    const all = [...new Set(recipients.flat())];
    if (all.length === 0) return;
    const where = await presence.sessionsOf(all);
    const perNode = new Map<string, EventsPayload>();
    for (let i = 0; i < items.length; i++) {
      const { ev, origin } = items[i]!;
      const byNode = new Map<string, number[]>();
      for (const uid of recipients[i]!) {
        for (const s of where.get(uid) ?? []) {
          if (s.nodeId === bus.nodeId) continue;
          let users = byNode.get(s.nodeId);
          if (!users) byNode.set(s.nodeId, (users = []));
          if (users[users.length - 1] !== uid) users.push(uid);
        }
      }
      for (const [node, users] of byNode) addFor(perNode, node, () => ({ t: 'ev' as const, items: [] }), origin ? { ev, users, origin } : { ev, users });
    }
    for (const [node, payload] of perNode) bus.publish(node, payload);
    if (perNode.size > 0) this.#deps.onPublish(performance.now() - committedAt);
  }

  /** events another process committed, for users with a session here */
  onEvents(payload: EventsPayload): void {
    for (const { ev, users, origin } of payload.items) {
      this.noteRecall(ev);
      for (const uid of users) for (const s of this.#deps.sessions.of(uid)) s.push(ev, origin);
    }
  }
}
