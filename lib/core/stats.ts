/**
 * Cheap counters on the hot path (a Map increment per frame); the metrics endpoint turns them
 * into Prometheus series when scraped.
 */
import { MsgId } from '../protocol/msgid.js';

/** counted under one label: any number a client sends that is not a msgid of the protocol */
export const UNKNOWN_MSGID = -2;

const KNOWN = new Set<number>(Object.values(MsgId));

export class Stats {
  /**
   * frames received, by msgid (-1: no usable msgid; UNKNOWN_MSGID: a number that is none of
   * ours, so a client cannot create one series per number it makes up)
   */
  readonly framesIn = new Map<number, number>();
  /** frames sent, by msgid */
  readonly framesOut = new Map<number, number>();
  /** replies carrying a non-zero errno, by errno */
  readonly errors = new Map<number, number>();
  /** exceptions that were not a storage failure (bugs), whatever the connection's flavour */
  internalErrors = 0;
  /** logins and registrations refused by an attempt budget, by budget (lib/core/auth-limits.ts) */
  readonly authRefused = new Map<string, number>();

  refused(limit: string): void {
    this.authRefused.set(limit, (this.authRefused.get(limit) ?? 0) + 1);
  }

  countIn(msgid: number | null): void {
    const k = msgid === null ? -1 : KNOWN.has(msgid) ? msgid : UNKNOWN_MSGID;
    this.framesIn.set(k, (this.framesIn.get(k) ?? 0) + 1);
  }

  /** a frame sent already serialised (a pushed event) */
  countPush(msgid: number): void {
    this.framesOut.set(msgid, (this.framesOut.get(msgid) ?? 0) + 1);
  }

  countOut(frame: object): void {
    const f = frame as { msgid?: unknown; errno?: unknown };
    const k = typeof f.msgid === 'number' ? f.msgid : -1;
    this.framesOut.set(k, (this.framesOut.get(k) ?? 0) + 1);
    if (typeof f.errno === 'number' && f.errno !== 0) this.errors.set(f.errno, (this.errors.get(f.errno) ?? 0) + 1);
  }
}
