/**
 * What one process publishes to another over the bus (lib/bus): committed events for some of
 * its users, ready-made v2 frames (status updates), and kicks of replaced sessions.
 */
import type { LogEvent } from '../protocol/event.js';

export interface EventsPayload {
  t: 'ev';
  items: Array<{ ev: LogEvent; users: number[]; origin?: string }>;
}

export interface FramesPayload {
  t: 'frames';
  items: Array<{ users: number[]; frame: object }>;
}

export interface KickPayload {
  t: 'kick';
  session: string;
}

export type BusPayload = EventsPayload | FramesPayload | KickPayload;

/** the payload of a bus message, or null for anything else */
export function asBusPayload(payload: unknown): BusPayload | null {
  const p = payload as Partial<BusPayload> | null;
  if ((p?.t === 'ev' || p?.t === 'frames') && Array.isArray(p.items)) return p as BusPayload;
  if (p?.t === 'kick' && typeof p.session === 'string') return p as KickPayload;
  return null;
}

/** adds `item` to the payload for `node`, starting one with `make` */
export function addFor<P extends { items: unknown[] }>(perNode: Map<string, P>, node: string, make: () => P, item: P['items'][number]): void {
  let payload = perNode.get(node);
  if (!payload) perNode.set(node, (payload = make()));
  payload.items.push(item);
}
