/**
 * Scenario 4: messages to offline users, then all of them log in at once and drain their
 * backlog (legacy: `offlinemsg` in the login reply; v2: the summary, then paged SYNC).
 */
import { performance } from 'node:perf_hooks';
import { BenchConn, type Frame } from '../conn.js';
import { closeAll, loginMany, openEnv } from '../env.js';
import type { LoadResult } from '../pairs.js';
import { Samples, fmtMs, log, randomId } from '../util.js';
import { loadRow, measured, range, type Ctx } from './common.js';

interface DrainState {
  loginSent: number;
  loginAck: number;
  drained: number;
  /** per sender: counters seen */
  seen: Uint8Array[];
  maxSeen: Int32Array;
  lastSeq: Map<string, number>;
  received: number;
  dup: number;
  ooo: number;
  gaps: number;
}

/**
 * Sends of one sender whose acked seq is not above that of its previous send to the same
 * recipient (send k goes to recipient k % recipients, each conversation has this one writer)
 */
function disorder(seqOf: Float64Array, recipients: number): number {
  let bad = 0;
  for (let r = 0; r < recipients; r++) {
    let prev = 0;
    for (let k = r; k < seqOf.length; k += recipients) {
      const seq = seqOf[k]!;
      if (seq <= 0) continue;
      if (seq <= prev) bad++;
      prev = Math.max(prev, seq);
    }
  }
  return bad;
}

export async function scenario4(ctx: Ctx, kinds: Array<'embedded' | 'cluster'>): Promise<void> {
  const z = ctx.sizes;
  const S = z.offlineSenders;
  const R = z.offlineUsers;
  const per = Math.ceil(z.offlinePerUser / S);
  const title = '4 offline: send, then log in and drain';
  for (const kind of kinds) {
    log(`scenario 4, ${kind}`);
    const env = await openEnv(ctx, { kind, label: `s4${kind[0]!}`, users: S + 2 * R, hash: 'real' });
    const eps = env.endpoints;
    try {
      const senders = await loginMany(env, range(0, S), true, (k) => eps[k % eps.length]!);
      const recipientIds = range(S, S + 2 * R).map((u) => env.userIds[u]!);
      // send phase: every sender sends `per` messages to each of the 2R offline users, conversations interleaved
      const tag = randomId(6);
      const sendLat = new Samples(S * 2 * R * per);
      let acked = 0;
      let errors = 0;
      let firstError: string | null = null;
      // what the acks say: sends never answered, answered twice (or as duplicates), and
      // conversations whose seqs do not follow the order of sending
      let unanswered = 0;
      let duplicated = 0;
      let outOfOrder = 0;
      const sendPhase = await measured(env, async () => {
        const t0 = performance.now();
        let tLast = t0;
        await Promise.all(
          senders.map(
            (c, s) =>
              new Promise<void>((resolve, reject) => {
                const total = 2 * R * per;
                const times = new Float64Array(total);
                /** the seq each send was acked with (0: none), -1 when refused */
                const seqOf = new Float64Array(total);
                let sent = 0;
                let done = 0;
                const finish = () => {
                  for (let k = 0; k < total; k++) if (seqOf[k] === 0) unanswered++;
                  outOfOrder += disorder(seqOf, 2 * R);
                  resolve();
                };
                const pump = () => {
                  while (sent < total && sent - done < 500) {
                    const k = sent++;
                    const cnt = Math.floor(k / (2 * R));
                    const r = k % (2 * R);
                    const t = performance.now();
                    times[k] = t;
                    c.send(`{"msgid":6,"v":2,"toid":${recipientIds[r]!},"msg":"${s}:${cnt}:${t.toFixed(3)}","cmid":"${tag}.${k}"}`);
                  }
                };
                c.onPush = (f: Frame) => {
                  if (f.msgid === 12 || f.msgid === 11) {
                    const k = typeof f.cmid === 'string' && f.cmid.startsWith(`${tag}.`) ? Number(f.cmid.slice(tag.length + 1)) : -1;
                    if (k >= 0 && seqOf[k] !== 0) duplicated++;
                    if (f.msgid === 12 && f.errno === 0 && k >= 0) {
                      if (f.duplicate === true) duplicated++;
                      if (seqOf[k] === 0) seqOf[k] = f.msgSeq as number;
                      tLast = performance.now();
                      sendLat.add(tLast - times[k]!);
                      acked++;
                    } else {
                      if (k >= 0 && seqOf[k] === 0) seqOf[k] = -1;
                      errors++;
                      firstError ??= JSON.stringify(f);
                    }
                    if (++done === total) finish();
                    else pump();
                  }
                };
                setTimeout(() => reject(new Error(`offline send: sender ${s} got ${done} of ${total} acks`)), 120_000).unref();
                pump();
              }),
          ),
        );
        return { elapsed: tLast - t0 };
      });
      const sent = S * 2 * R * per;
      const sendResult: LoadResult = {
        sent,
        acked,
        received: NaN,
        lost: unanswered,
        duplicated,
        outOfOrder,
        errors,
        firstError,
        elapsedMs: sendPhase.result.elapsed,
        rate: (acked / sendPhase.result.elapsed) * 1000,
        latency: sendLat.summary(),
        extra: {},
      };
      const where = ctx.targets ? 'target' : kind === 'cluster' ? 'cluster (2 processes)' : 'embedded';
      const sendRow = loadRow(ctx, '4', title, `${where}: ${S} v2 senders -> ${2 * R} offline users, ${per} each (latency: send to ack)`, sendResult, sendPhase.usage, {
        rateUnit: 'acked msg/s',
        target: '(reported)',
      });
      sendRow.received = undefined;
      closeAll(senders);

      // drain phase: everyone logs in at once
      for (const v2 of [false, true]) {
        const users = range(v2 ? R : 0, v2 ? 2 * R : R);
        const conns = await Promise.all(users.map((_, k) => BenchConn.connect(eps[k % eps.length]!.port, eps[k % eps.length]!.host)));
        const states: DrainState[] = users.map(() => ({
          loginSent: 0,
          loginAck: 0,
          drained: 0,
          seen: Array.from({ length: S }, () => new Uint8Array(per)),
          maxSeen: new Int32Array(S).fill(-1),
          lastSeq: new Map(),
          received: 0,
          dup: 0,
          ooo: 0,
          gaps: 0,
        }));
        let errs = 0;
        let firstErr: string | null = null;
        const take = (d: DrainState, f: Frame) => {
          const conv = f.conv as string;
          const seq = f.msgSeq as number;
          const last = d.lastSeq.get(conv) ?? 0;
          const behind = seq <= last;
          if (!behind) d.lastSeq.set(conv, seq);
          const text = f.msg as string;
          const a = text.indexOf(':');
          const b = text.indexOf(':', a + 1);
          const s = Number(text.slice(0, a));
          const c = Number(text.slice(a + 1, b));
          const seen = d.seen[s];
          if (!seen || !(c >= 0 && c < per)) {
            errs++;
            firstErr ??= `unexpected message ${JSON.stringify(f)}`;
            return;
          }
          if (seen[c]) {
            d.dup++;
            return;
          }
          seen[c] = 1;
          d.received++;
          if (behind || c < d.maxSeen[s]!) d.ooo++;
          if (c > d.maxSeen[s]!) d.maxSeen[s] = c;
        };
        const drain = async (c: BenchConn, k: number) => {
          const d = states[k]!;
          const id = env.userIds[users[k]! + S]!;
          d.loginSent = performance.now();
          const reply = await c.login(id, env.password, v2);
          d.loginAck = performance.now();
          if (!v2) {
            for (const line of (reply.offlinemsg as string[] | undefined) ?? []) take(d, JSON.parse(line) as Frame);
          } else {
            const convs = reply.convs as Array<{ conv: string; lastSeq: number; delivered: number; joinedSeq: number }>;
            await Promise.all(
              convs.map(async (cv) => {
                let after = Math.max(cv.delivered, cv.joinedSeq);
                let page = 0;
                while (after < cv.lastSeq) {
                  const cmid = `sync-${cv.conv}-${page++}`;
                  const r = await c.request({ msgid: 15, v: 2, conv: cv.conv, after, limit: 500, cmid }, (f) => f.cmid === cmid);
                  if (r.errno !== 0) throw new Error(`sync: ${JSON.stringify(r)}`);
                  for (const ev of r.events as Frame[]) {
                    if (ev.gap === true) d.gaps++;
                    else take(d, ev);
                    after = Math.max(after, ev.msgSeq as number);
                  }
                  if (r.more !== true) break;
                }
              }),
            );
          }
          d.drained = performance.now();
        };
        const phase = await measured(env, () => Promise.all(conns.map((c, k) => drain(c, k))));
        void phase.result;
        const drainTimes = new Samples(users.length);
        let received = 0;
        let dup = 0;
        let ooo = 0;
        let gaps = 0;
        let worstAfterAck = 0;
        let worstLogin = 0;
        const t0 = Math.min(...states.map((d) => d.loginSent));
        const t1 = Math.max(...states.map((d) => d.drained));
        for (const d of states) {
          drainTimes.add(d.drained - d.loginSent);
          received += d.received;
          dup += d.dup;
          ooo += d.ooo;
          gaps += d.gaps;
          worstAfterAck = Math.max(worstAfterAck, d.drained - d.loginAck);
          worstLogin = Math.max(worstLogin, d.loginAck - d.loginSent);
        }
        const expected = users.length * S * per;
        const res: LoadResult = {
          sent: expected,
          acked: acked === sent ? expected : NaN,
          received,
          lost: expected - received,
          duplicated: dup,
          outOfOrder: ooo,
          errors: errs + gaps,
          firstError: firstErr ?? (gaps ? `${gaps} gap placeholders` : null),
          elapsedMs: t1 - t0,
          rate: (received / (t1 - t0)) * 1000,
          latency: drainTimes.summary(),
          extra: {},
        };
        const max = res.latency.max;
        const goal = max < 1000;
        loadRow(
          ctx,
          '4',
          title,
          `${where}: ${users.length} ${v2 ? 'v2' : 'legacy'} users x ${S * per} messages log in at once (${v2 ? 'summary + paged SYNC' : 'offlinemsg in the login reply'}); latency: per user, LOGIN sent to backlog drained`,
          res,
          phase.usage,
          {
            target: 'every user < 1 s',
            goal,
            ...(goal ? {} : { goalMiss: `slowest user ${fmtMs(max)} ms` }),
            notes: [
              `slowest LOGIN_ACK ${fmtMs(worstLogin)} ms after LOGIN (scrypt verification of ${users.length} logins at once), slowest drain after the ack ${fmtMs(worstAfterAck)} ms`,
            ],
          },
        );
        closeAll(conns);
      }
    } finally {
      await env.close();
    }
  }
}


