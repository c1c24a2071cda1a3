/**
 * Soak: SOAK_SECONDS of steady mixed load on a real process (v2 and legacy clients, one-to-one
 * and group chat, history pages, read markers, and a client dropped and reconnected every
 * couple of seconds), then: the process's memory (VmRSS) and open descriptors (/proc/<pid>/fd)
 * at the end are flat against a baseline taken after the warm-up, and every acked message is
 * in its conversation's log once, with no holes. Runs only when SOAK_SECONDS is set (`make soak`
 * sets 1800); `SOAK_SECONDS=20 npx tap test/hardening/soak.test.ts` is a quick check.
 */
import path from 'node:path';
import t, { type Test } from 'tap';
import { ChatClient, type SendAck } from '../../lib/client/client.js';
import { delay, LineClient, login, register, spawnServer, tempDir } from '../fixtures/harness.js';
import { Rng } from '../fixtures/fuzz-gen.js';
import { fdCount, MB, rssBytes, unrefDelay } from './util.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 0);
const V2_USERS = 8;
const LEGACY_USERS = 4;
/** messages per second, all clients together */
const RATE = Number(process.env.SOAK_RATE ?? 200);

if (!process.env.SOAK_SECONDS) {
  t.plan(0, 'soak runs only with SOAK_SECONDS set (make soak)');
} else {
  t.setTimeout(SECONDS * 1000 + 120_000);
  t.test(`soak: ${SECONDS} s of mixed load with reconnects; memory and descriptors stay flat`, async (t) => soak(t));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function soak(t: Test): Promise<void> {
  const rng = new Rng(Number(process.env.SOAK_SEED ?? Date.now() % 2 ** 31));
  const srv = await spawnServer(t, ['--db', path.join(tempDir(t), 'chat.db')]);
  const pid = srv.child.pid!;
  const reg = await LineClient.connect(t, srv.port);
  const v2Ids: number[] = [];
  const legacyIds: number[] = [];
  for (let i = 0; i < V2_USERS; i++) v2Ids.push(await register(reg, `v${i}`, 'pw'));
  for (let i = 0; i < LEGACY_USERS; i++) legacyIds.push(await register(reg, `l${i}`, 'pw'));
  reg.close();

  // v2 clients: one slot per user, replaced now and then by a fresh ChatClient
  const v2: ChatClient[] = [];
  const open = async (i: number): Promise<ChatClient> => {
    const c = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false });
    c.on('error', () => undefined);
    await c.login(v2Ids[i]!, 'pw');
    return c;
  };
  for (let i = 0; i < V2_USERS; i++) v2.push(await open(i));
  t.teardown(() => v2.forEach((c) => c.close()));
  const groupid = await v2[0]!.createGroup('soak');
  for (const c of v2.slice(1)) await c.joinGroup(groupid);
  // legacy clients
  const legacy: LineClient[] = [];
  const openLegacy = async (i: number): Promise<LineClient> => {
    for (;;) {
      const c = await LineClient.connect(t, srv.port);
      const ack = await login(c, legacyIds[i]!, 'pw');
      if (ack.errno === 0) return c;
      c.close();
      await delay(100); // the old session is still being closed
    }
  };
  for (let i = 0; i < LEGACY_USERS; i++) {
    const c = await openLegacy(i);
    c.send({ msgid: 9, id: legacyIds[i], groupid });
    legacy.push(c);
  }
  t.teardown(() => legacy.forEach((c) => c.close()));

  const acks: SendAck[] = [];
  let failed = 0;
  let legacySent = 0;
  let reconnects = 0;
  let requests = 0;
  const samples: Array<{ at: number; rss: number; fds: number }> = [];
  const started = Date.now();
  const until = started + SECONDS * 1000;
  const warmup = Math.min(60_000, SECONDS * 250); // 25% of the run, at most a minute
  const sampler = setInterval(() => samples.push({ at: Date.now() - started, rss: rssBytes(pid), fds: fdCount(pid) }), 500);
  t.teardown(() => clearInterval(sampler));

  // the load: every 10 ms a share of RATE messages, some other requests, and now and then a reconnect
  const pending = new Set<Promise<unknown>>();
  let nextReconnect = Date.now() + 2000;
  while (Date.now() < until) {
    const n = Math.max(1, Math.round(RATE / 100));
    for (let k = 0; k < n; k++) {
      const r = rng.next();
      if (r < 0.2) {
        // legacy one-to-one (no acks in the original protocol)
        const i = rng.int(LEGACY_USERS);
        const to = rng.chance(0.5) ? rng.pick(v2Ids) : rng.pick(legacyIds);
        legacy[i]!.send({ msgid: 6, id: legacyIds[i], toid: to, msg: `legacy ${legacySent++}` });
        legacy[i]!.frames.length = 0; // only the count matters; keep memory flat on this side
      } else {
        const i = rng.int(V2_USERS);
        const c = v2[i]!;
        const p: Promise<unknown> = (r < 0.35 ? c.sendGroup(groupid, `g ${acks.length}`) : c.sendTo(rng.pick([...v2Ids, ...legacyIds]), `p ${acks.length}`)).then(
          (a) => acks.push(a),
          () => failed++, // the client was closed for a reconnect with this send in flight
        );
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
    }
    if (rng.chance(0.05)) {
      const c = v2[rng.int(V2_USERS)]!;
      requests++;
      const p = (rng.chance(0.5) ? c.conversations() : c.history(`g:${groupid}`, { before: 1_000_000, limit: 50 })).then(
        (r) => (Array.isArray(r) && r[0] ? c.markRead(r[0].conv, r[0].lastSeq) : undefined),
      ).catch(() => undefined);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
    if (Date.now() >= nextReconnect) {
      nextReconnect = Date.now() + 1000 + rng.int(2000);
      reconnects++;
      if (rng.chance(0.6)) {
        const i = rng.int(V2_USERS);
        const old = v2[i]!;
        v2[i] = await open(i); // a new device first, then the old one goes away
        old.close();
      } else {
        const i = rng.int(LEGACY_USERS);
        legacy[i]!.close();
        legacy[i] = await openLegacy(i);
      }
    }
    if (pending.size > 2000) await Promise.race(pending);
    await delay(10);
  }
  await Promise.race([Promise.all(pending), unrefDelay(20_000)]);
  await delay(2000); // settle: commits and deliveries done
  samples.push({ at: Date.now() - started, rss: rssBytes(pid), fds: fdCount(pid) });
  clearInterval(sampler);

  const base = samples.filter((s) => s.at >= warmup && s.at < warmup + Math.max(5000, SECONDS * 100));
  const tail = samples.slice(-Math.max(5, Math.floor(samples.length / 10)));
  const baseRss = median(base.map((s) => s.rss));
  const endRss = median(tail.map((s) => s.rss));
  const baseFds = median(base.map((s) => s.fds));
  const endFds = samples[samples.length - 1]!.fds;
  t.comment(
    `${acks.length} v2 sends acked, ${legacySent} legacy sends, ${requests} other requests, ${reconnects} reconnects, ${failed} sends cut by a reconnect`,
  );
  t.comment(`RSS: baseline ${(baseRss / MB).toFixed(1)} MB (after ${warmup / 1000} s warm-up), end ${(endRss / MB).toFixed(1)} MB, peak ${(Math.max(...samples.map((s) => s.rss)) / MB).toFixed(1)} MB`);
  t.comment(`fds: baseline ${baseFds}, end ${endFds}`);
  t.equal(srv.child.exitCode, null, 'the server is alive');
  t.ok(acks.length > RATE * SECONDS * 0.3, 'the load was real');
  t.ok(endRss <= baseRss * 1.25 + 24 * MB, `memory is flat: ${(endRss / MB).toFixed(1)} MB at the end vs ${(baseRss / MB).toFixed(1)} MB after warm-up (tolerance 25% + 24 MB)`);
  t.ok(endFds <= baseFds + 4, `descriptors are flat: ${endFds} at the end vs ${baseFds} after warm-up (tolerance 4)`);

  // every acked message is in its log once; no holes
  const convs = new Map<string, SendAck[]>();
  for (const a of acks) convs.set(a.conv, [...(convs.get(a.conv) ?? []), a]);
  let checked = 0;
  let missing = 0;
  let holes = 0;
  for (const [conv, list] of convs) {
    // read by a member: the group by anyone, a pair by its v2 side
    const idx = v2Ids.findIndex((id) => conv === `g:${groupid}` || conv.split(':').slice(1).map(Number).includes(id));
    const c = v2[idx]!;
    if (!c) continue;
    const seqs = new Map<string, number>();
    let last = 0;
    for (let after = 0; ; ) {
      const page = await c.history(conv, { after, limit: 500 });
      for (const e of page.events) {
        if (e.seq !== last + 1 || 'gap' in e) holes++;
        last = e.seq;
        if (!('gap' in e) && e.cmid) seqs.set(e.cmid, e.seq);
      }
      if (!page.more || page.events.length === 0) break;
      after = page.events[page.events.length - 1]!.seq;
    }
    for (const a of list) if (seqs.get(a.cmid) !== a.msgSeq) missing++;
    checked += list.length;
  }
  t.equal(missing, 0, `every one of ${checked} acked messages is in its log at its acked seq`);
  t.equal(holes, 0, 'no conversation has a hole');
}
