/**
 * One-to-one load over pairs of connections (scenarios 1, 2 and 6).
 *
 * Every message text is `<pair>:<counter>:<send time ms>:<padding>`, so the recipient checks
 * each pair's order and completeness and measures send-to-receive latency from the text itself
 * (sender and recipient live in this process, so performance.now() is one clock). v2 sends also
 * carry `cmid = <run tag>.<pair>.<counter>`, which identifies a message that arrives as a
 * tombstone (recalled before it was pushed, its text erased).
 *
 * - closed loop: each sender keeps at most `window` messages in flight (sent and not yet
 *   received by its recipient) until it has sent `perPair`;
 * - open loop: a steady total `rate` for `durationMs`, round-robin over the pairs; latency is
 *   measured from each message's scheduled time (no coordinated omission: a late send counts).
 *
 * Per pair the recipient counts: received (unique), duplicated (a counter seen before),
 * out-of-order (a counter below one already seen, or a msgSeq not above the last one), and
 * after the run lost = sent - received. v2 recipients acknowledge what they got (DELIVERED_MSG,
 * one per conversation per tick, like the client library) and may mix in read markers; v2
 * senders may recall some of their messages once acked.
 */
import { performance } from 'node:perf_hooks';
import type { BenchConn, Frame } from './conn.js';
import { Samples, randomId, sleep, type LatencySummary } from './util.js';

export interface Pair {
  sender: BenchConn;
  recipient: BenchConn;
  senderId: number;
  recipientId: number;
}

export interface PairLoad {
  v2: boolean;
  closed?: { perPair: number; window: number };
  open?: { rate: number; durationMs: number };
  /** v2: the recipient sends a read marker every `readEvery` messages it receives */
  readEvery?: number;
  /** v2: the sender recalls every `recallEvery`-th message once it is acked */
  recallEvery?: number;
  /** characters of padding in each text @default 16 */
  pad?: number;
  /** no progress for this long ends the run; what is missing counts as lost @default 15000 */
  stallMs?: number;
}

export interface LoadResult {
  sent: number;
  /** v2: CHAT_ACKs; legacy: NaN (the legacy sender gets no ack) */
  acked: number;
  received: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  /** error replies (msgid 11) and failed acks */
  errors: number;
  firstError: string | null;
  /** first send to last receive */
  elapsedMs: number;
  /** received per second over elapsedMs */
  rate: number;
  latency: LatencySummary;
  extra: Record<string, number>;
}

class PairState {
  sent = 0;
  acked = 0;
  received = 0;
  dup = 0;
  ooo = 0;
  maxSeen = -1;
  lastSeq = 0;
  conv = '';
  readonly seen: Uint8Array;
  readonly sendTimes: Float64Array;
  ackScheduled = false;
  readsSent = 0;
  constructor(n: number) {
    this.seen = new Uint8Array(n);
    this.sendTimes = new Float64Array(n);
  }
}

export async function runPairs(pairs: Pair[], load: PairLoad): Promise<LoadResult> {
  const P = pairs.length;
  const v2 = load.v2;
  const tag = randomId(6);
  const perPair = load.closed ? load.closed.perPair : Math.ceil((load.open!.rate * load.open!.durationMs) / 1000 / P);
  const total = perPair * P;
  const window = load.closed?.window ?? Infinity;
  const pad = 'x'.repeat(load.pad ?? 16);
  const stallMs = load.stallMs ?? 15_000;
  const st = pairs.map(() => new PairState(perPair));
  const latency = new Samples(total);
  const extra = {
    tombstones: 0,
    recallEvents: 0,
    recallsSent: 0,
    recallAcks: 0,
    readsSent: 0,
    readAcks: 0,
    statusUpdates: 0,
    deliveredSent: 0,
    otherFrames: 0,
    sendLagMaxMs: 0,
  };
  let totalReceived = 0;
  let totalAcked = 0;
  let errors = 0;
  let firstError: string | null = null;
  let firstSend = NaN;
  let lastRecv = NaN;
  const fail = (what: string) => {
    errors++;
    firstError ??= what;
  };

  const sendOne = (i: number, t: number) => {
    const s = st[i]!;
    const c = s.sent++;
    s.sendTimes[c] = t;
    const p = pairs[i]!;
    const text = `${i}:${c}:${t.toFixed(3)}:${pad}`;
    p.sender.send(
      v2
        ? `{"msgid":6,"v":2,"toid":${p.recipientId},"msg":"${text}","cmid":"${tag}.${i}.${c}"}`
        : `{"msgid":6,"toid":${p.recipientId},"msg":"${text}"}`,
    );
  };
  const pump = (i: number) => {
    const s = st[i]!;
    while (s.sent < perPair && s.sent - s.received < window) sendOne(i, performance.now());
  };

  pairs.forEach((p, i) => {
    const s = st[i]!;
    p.sender.onPush = (f: Frame) => {
      switch (f.msgid) {
        case 12: {
          if (f.errno !== 0) return fail(`chat ack ${JSON.stringify(f)}`);
          s.acked++;
          totalAcked++;
          if (load.recallEvery && typeof f.cmid === 'string') {
            const c = Number(f.cmid.slice(f.cmid.lastIndexOf('.') + 1));
            if (c % load.recallEvery === load.recallEvery - 1) {
              extra.recallsSent++;
              p.sender.send({ msgid: 18, v: 2, conv: f.conv, msgSeq: f.msgSeq, cmid: `${tag}.r.${i}.${c}` });
            }
          }
          return;
        }
        case 19:
          if (f.errno === 0) extra.recallAcks++;
          else fail(`recall ack ${JSON.stringify(f)}`);
          return;
        case 20:
          extra.statusUpdates++;
          return;
        case 11:
          return fail(JSON.stringify(f));
        default:
          extra.otherFrames++;
      }
    };
    const recv = (f: Frame) => {
      const seq = f.msgSeq as number;
      const seqBehind = seq <= s.lastSeq;
      if (!seqBehind) s.lastSeq = seq;
      s.conv = f.conv as string;
      const now = performance.now();
      lastRecv = now;
      if (f.msgid === 18) {
        extra.recallEvents++;
        if (seqBehind) s.ooo++;
      } else {
        const text = f.msg as string;
        let c: number;
        let t: number;
        if (text) {
          const a = text.indexOf(':');
          const b = text.indexOf(':', a + 1);
          const e = text.indexOf(':', b + 1);
          c = Number(text.slice(a + 1, b));
          t = Number(text.slice(b + 1, e));
        } else if (f.recalled === true && typeof f.cmid === 'string') {
          extra.tombstones++;
          c = Number(f.cmid.slice(f.cmid.lastIndexOf('.') + 1));
          t = s.sendTimes[c]!;
        } else {
          return fail(`unexpected push ${JSON.stringify(f)}`);
        }
        if (!(c >= 0 && c < perPair)) return fail(`unknown counter in ${JSON.stringify(f)}`);
        if (s.seen[c]) {
          s.dup++;
        } else {
          s.seen[c] = 1;
          s.received++;
          totalReceived++;
          if (c < s.maxSeen || seqBehind) s.ooo++;
          if (c > s.maxSeen) s.maxSeen = c;
          latency.add(now - t);
          if (window !== Infinity) pump(i);
        }
      }
      if (v2) {
        if (!s.ackScheduled) {
          s.ackScheduled = true;
          setImmediate(() => {
            s.ackScheduled = false;
            extra.deliveredSent++;
            p.recipient.send(`{"msgid":14,"v":2,"conv":"${s.conv}","msgSeq":${s.lastSeq}}`);
          });
        }
        if (load.readEvery && s.received % load.readEvery === 0 && f.msgid !== 18) {
          extra.readsSent++;
          p.recipient.send({ msgid: 17, v: 2, conv: s.conv, msgSeq: s.lastSeq, cmid: `${tag}.rd.${i}.${s.readsSent++}` });
        }
      }
    };
    p.recipient.onPush = (f: Frame) => {
      switch (f.msgid) {
        case 6:
        case 18:
          return recv(f);
        case 13:
          if (f.reqmsgid === 17) extra.readAcks++;
          else extra.otherFrames++;
          return;
        case 20:
          extra.statusUpdates++;
          return;
        case 11:
          return fail(JSON.stringify(f));
        default:
          extra.otherFrames++;
      }
    };
  });

  firstSend = performance.now();
  if (load.closed) {
    for (let i = 0; i < P; i++) pump(i);
  } else {
    const interval = 1000 / load.open!.rate;
    const start = performance.now();
    let k = 0;
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - start) / interval) + 1);
      if (k < due) extra.sendLagMaxMs = Math.max(extra.sendLagMaxMs, now - (start + k * interval));
      while (k < due) {
        sendOne(k % P, start + k * interval);
        k++;
      }
      if (k < total) setTimeout(tick, 1);
    };
    tick();
  }

  // wait for everything (acks too), or for a stall
  let lastProgress = performance.now();
  let seen = -1;
  for (;;) {
    await sleep(20);
    const progress = totalReceived + totalAcked;
    const now = performance.now();
    if (progress !== seen) {
      seen = progress;
      lastProgress = now;
    }
    const sentAll = st.every((s) => s.sent === perPair);
    if (sentAll && totalReceived === total && (!v2 || totalAcked === total)) break;
    if (now - lastProgress > stallMs) break;
  }
  // late duplicates, recall events and acks
  await sleep(load.recallEvery || load.readEvery ? 500 : 200);
  for (const p of pairs) {
    p.sender.onPush = () => undefined;
    p.recipient.onPush = () => undefined;
  }

  let sent = 0;
  let dup = 0;
  let ooo = 0;
  for (const s of st) {
    sent += s.sent;
    dup += s.dup;
    ooo += s.ooo;
  }
  const elapsedMs = lastRecv - firstSend;
  return {
    sent,
    acked: v2 ? totalAcked : NaN,
    received: totalReceived,
    lost: sent - totalReceived,
    duplicated: dup,
    outOfOrder: ooo,
    errors,
    firstError,
    elapsedMs,
    rate: (totalReceived / elapsedMs) * 1000,
    latency: latency.summary(),
    extra,
  };
}
