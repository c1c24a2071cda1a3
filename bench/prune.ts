/**
 * The message path's latency while retention prunes a large log (`make bench-prune`): seeds
 * `--events` old events (default 1,000,000) straight into a SQLite file, then runs one-to-one
 * sends at a steady rate against bin/chatserver on that file, twice: without `--retention-days`
 * (the baseline) and with `--retention-days 1`, where the whole seed is past the retention and a
 * prune starts at once. Each send's time from write to CHAT_ACK is a sample; the second phase
 * lasts until the server logs the prune's end. Prints p50, p99 and max of both, and the prune's
 * duration and rate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../lib/store/sqlite/index.js';
import { BenchConn } from './conn.js';
import { spawnChatServer, type ServerProc } from './proc.js';
import { fmtMs, log, runIfMain, Samples, sleep, waitFor, type LatencySummary } from './util.js';

interface Args {
  events: number;
  convs: number;
  rate: number;
  baselineSec: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { events: 1_000_000, convs: 100, rate: 200, baselineSec: 10 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = Number(argv[i + 1]);
    const key = argv[i]!.replace(/^--/, '').replace(/-(.)/g, (_, c: string) => c.toUpperCase());
    if (!(key in a) || !Number.isSafeInteger(v) || v < 1) throw new Error(`usage: prune.js [--events N] [--convs N] [--rate sends/s] [--baseline-sec S] (got ${argv[i]} ${argv[i + 1]})`);
    (a as unknown as Record<string, number>)[key] = v;
  }
  return a;
}

const DAY = 24 * 3600 * 1000;

/** `events` chat events 30 days old over `convs` conversations of users that do not log in */
async function seed(file: string, a: Args): Promise<void> {
  const store = new SqliteStore({ file });
  await store.migrate();
  await store.close();
  const db = new Database(file);
  const old = Date.now() - 30 * DAY;
  const insert = db.prepare('INSERT INTO event (conv, seq, mid, kind, sender_id, ts, text) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const conv = db.prepare('INSERT INTO conversation (conv, last_seq) VALUES (?, ?)');
  const per = Math.ceil(a.events / a.convs);
  db.transaction(() => {
    let n = 0;
    for (let c = 0; c < a.convs && n < a.events; c++) {
      const id = `p:${1_000_000 + c}:${2_000_000 + c}`;
      let seq = 0;
      for (; seq < per && n < a.events; seq++, n++) insert.run(id, seq + 1, `seed-${n}`, 'chat', 1_000_000 + c, old + n, `an old message, number ${n}, long enough to be a typical chat line`);
      conv.run(id, seq);
    }
  })();
  db.close();
}

/** sends at `rate` from alice to bob until `until()`; the write-to-ack time of each */
async function measure(port: number, rate: number, until: () => boolean, tag: string): Promise<LatencySummary> {
  const alice = await BenchConn.connect(port);
  const bob = await BenchConn.connect(port);
  try {
    const ida = await alice.register(`alice-${tag}`, 'pw', true);
    const idb = await bob.register(`bob-${tag}`, 'pw', true);
    await alice.login(ida, 'pw', true);
    await bob.login(idb, 'pw', true);
    const samples = new Samples(4096);
    const inFlight: Array<Promise<void>> = [];
    const gap = 1000 / rate;
    const start = performance.now();
    for (let i = 0; !until(); i++) {
      const cmid = `${tag}-${i}`;
      const sent = performance.now();
      inFlight.push(alice.request({ msgid: 6, v: 2, toid: idb, msg: `ping ${i}`, cmid }, (f) => f.cmid === cmid && (f.msgid === 12 || f.msgid === 11)).then(() => samples.add(performance.now() - sent)));
      const next = start + (i + 1) * gap;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(inFlight);
    return samples.summary();
  } finally {
    alice.close();
    bob.close();
  }
}

async function phase(file: string, a: Args, retention: boolean): Promise<{ lat: LatencySummary; pruneMs: number | null; pruned: number | null }> {
  const server: ServerProc = await spawnChatServer({
    name: retention ? 'pruning' : 'baseline',
    args: ['--db', file, '--registrations-per-address', '0', ...(retention ? ['--retention-days', '1'] : [])],
    cheapScrypt: true,
  });
  const started = performance.now();
  try {
    const done = () => /events past the retention pruned/.test(server.logs());
    const until = retention ? done : () => performance.now() - started > a.baselineSec * 1000;
    const lat = await measure(server.port, a.rate, until, retention ? 'p' : 'b');
    if (!retention) return { lat, pruneMs: null, pruned: null };
    await waitFor(done, 3_600_000, () => 'the prune to end');
    const line = server.logs().split('\n').find((l) => l.includes('events past the retention pruned'))!;
    const rec = JSON.parse(line) as { pruned: number };
    return { lat, pruneMs: performance.now() - started, pruned: rec.pruned };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-bench-prune-'));
  try {
    const file = path.join(dir, 'chat.db');
    log(`seeding ${a.events.toLocaleString('en-US')} events in ${a.convs} conversations`);
    await seed(file, a);
    log('baseline: no retention');
    const base = await phase(file, a, false);
    log('with --retention-days 1: the whole seed is pruned');
    const prune = await phase(file, a, true);
    const row = (name: string, l: LatencySummary) => `| ${name} | ${l.n} | ${fmtMs(l.p50)} | ${fmtMs(l.p99)} | ${fmtMs(l.max)} |`;
    console.log(`one-to-one sends at ${a.rate}/s, write to CHAT_ACK, ms; ${a.events.toLocaleString('en-US')} events seeded`);
    console.log('| phase | sends | p50 | p99 | max |');
    console.log('|---|---|---|---|---|');
    console.log(row('baseline (no retention)', base.lat));
    console.log(row('during the prune', prune.lat));
    const sec = (prune.pruneMs ?? 0) / 1000;
    console.log(`pruned ${prune.pruned?.toLocaleString('en-US')} events in ${sec.toFixed(1)} s (${Math.round((prune.pruned ?? 0) / sec).toLocaleString('en-US')}/s, from the server's start)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
