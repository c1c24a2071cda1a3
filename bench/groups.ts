/**
 * Group fan-out (scenario 3): one sender, every other member online (spread over the
 * processes), text `<run tag>:<counter>:<send time ms>`. Each member checks it gets every
 * message once and in order (counter and msgSeq); latency is send-to-receive per delivery.
 * `window` 1 sends the next message only once every member has the previous one (the
 * "one message reaches every member" measurement); a larger window measures fan-out
 * throughput in deliveries per second.
 */
import { performance } from 'node:perf_hooks';
import type { BenchConn, Frame } from './conn.js';
import type { LoadResult } from './pairs.js';
import { Samples, randomId, sleep } from './util.js';

export interface GroupLoad {
  v2: boolean;
  messages: number;
  window: number;
  /** pause after a message reached everyone (window 1) @default 0 */
  gapMs?: number;
  stallMs?: number;
}

class MemberState {
  maxSeen = -1;
  lastSeq = 0;
  received = 0;
  dup = 0;
  ooo = 0;
  ackScheduled = false;
  readonly seen: Uint8Array;
  constructor(n: number) {
    this.seen = new Uint8Array(n);
  }
}

export async function runGroup(sender: BenchConn, members: BenchConn[], groupid: number, load: GroupLoad): Promise<LoadResult> {
  const tag = randomId(6);
  const n = load.messages;
  const M = members.length;
  const expected = n * M;
  const latency = new Samples(expected);
  const everyone = new Samples(n);
  const got = new Uint32Array(n);
  const sendTimes = new Float64Array(n);
  const st = members.map(() => new MemberState(n));
  const conv = `g:${groupid}`;
  let sent = 0;
  let acked = 0;
  let completed = 0;
  let deliveries = 0;
  let errors = 0;
  let firstError: string | null = null;
  let stale = 0;
  let statusUpdates = 0;
  let lastRecv = NaN;
  const fail = (what: string) => {
    errors++;
    firstError ??= what;
  };

  const sendOne = () => {
    const k = sent++;
    const t = performance.now();
    sendTimes[k] = t;
    const text = `${tag}:${k}:${t.toFixed(3)}`;
    sender.send(
      load.v2
        ? `{"msgid":10,"v":2,"groupid":${groupid},"msg":"${text}","cmid":"${tag}.${k}"}`
        : `{"msgid":10,"groupid":${groupid},"msg":"${text}"}`,
    );
  };
  let waitingGap = false;
  const pump = () => {
    if (load.window === 1 && load.gapMs) {
      if (waitingGap || sent >= n || sent - completed >= 1) return;
      if (sent === 0) return sendOne();
      waitingGap = true;
      setTimeout(() => {
        waitingGap = false;
        sendOne();
      }, load.gapMs);
      return;
    }
    while (sent < n && sent - completed < load.window) sendOne();
  };

  sender.onPush = (f: Frame) => {
    if (f.msgid === 12) {
      if (f.errno === 0) acked++;
      else fail(JSON.stringify(f));
    } else if (f.msgid === 11) fail(JSON.stringify(f));
    else if (f.msgid === 20) statusUpdates++;
  };
  members.forEach((m, i) => {
    const s = st[i]!;
    m.onPush = (f: Frame) => {
      if (f.msgid !== 10) {
        if (f.msgid === 11) fail(JSON.stringify(f));
        else if (f.msgid === 20) statusUpdates++;
        return;
      }
      const now = performance.now();
      const text = f.msg as string;
      const a = text.indexOf(':');
      const b = text.indexOf(':', a + 1);
      if (text.slice(0, a) !== tag) {
        stale++;
        return;
      }
      const k = Number(text.slice(a + 1, b));
      const t = Number(text.slice(b + 1));
      const seq = f.msgSeq as number;
      const seqBehind = seq <= s.lastSeq;
      if (!seqBehind) s.lastSeq = seq;
      lastRecv = now;
      if (s.seen[k]) {
        s.dup++;
      } else {
        s.seen[k] = 1;
        s.received++;
        deliveries++;
        if (k < s.maxSeen || seqBehind) s.ooo++;
        if (k > s.maxSeen) s.maxSeen = k;
        latency.add(now - t);
        if (++got[k] === M) {
          everyone.add(now - sendTimes[k]!);
          completed++;
          pump();
        }
      }
      if (load.v2 && !s.ackScheduled) {
        s.ackScheduled = true;
        setImmediate(() => {
          s.ackScheduled = false;
          m.send(`{"msgid":14,"v":2,"conv":"${conv}","msgSeq":${s.lastSeq}}`);
        });
      }
    };
  });

  const firstSend = performance.now();
  pump();
  const stallMs = load.stallMs ?? 15_000;
  let lastProgress = performance.now();
  let seen = -1;
  for (;;) {
    await sleep(10);
    const now = performance.now();
    if (deliveries + acked !== seen) {
      seen = deliveries + acked;
      lastProgress = now;
    }
    if (sent === n && deliveries === expected && (!load.v2 || acked === n)) break;
    if (now - lastProgress > stallMs) break;
  }
  await sleep(200);
  sender.onPush = () => undefined;
  for (const m of members) m.onPush = () => undefined;
  let dup = 0;
  let ooo = 0;
  for (const s of st) {
    dup += s.dup;
    ooo += s.ooo;
  }
  const elapsedMs = lastRecv - firstSend;
  const all = everyone.summary();
  return {
    sent,
    acked: load.v2 ? acked : NaN,
    received: deliveries,
    lost: sent * M - deliveries,
    duplicated: dup,
    outOfOrder: ooo,
    errors,
    firstError,
    elapsedMs,
    rate: (deliveries / elapsedMs) * 1000,
    latency: latency.summary(),
    extra: { members: M, everyoneP50: all.p50, everyoneMax: all.max, stale, statusUpdates },
  };
}
