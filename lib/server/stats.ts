/**
 * Cheap counters on the hot path (a Map increment per frame); the metrics endpoint turns them
 * into Prometheus series when scraped.
 */
export class Stats {
  /** frames received, by msgid (-1: no usable msgid) */
  readonly framesIn = new Map<number, number>();
  /** frames sent, by msgid */
  readonly framesOut = new Map<number, number>();
  /** replies carrying a non-zero errno, by errno */
  readonly errors = new Map<number, number>();

  countIn(msgid: number | null): void {
    const k = msgid ?? -1;
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
