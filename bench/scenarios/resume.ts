/**
 * Scenario 7: reconnects without scrypt.
 * - A process with N v2 users logged in is killed (SIGKILL) and started again on its SQLite
 *   file; every client reconnects and resumes with its session token alone (no password), then
 *   one message goes to each. Measured: from the restart until every user is back and has its
 *   message (target: < 10 s for 10,000). Initial logins use the cheap-scrypt preload; resumes
 *   hash nothing anyway.
 * - Chat at a steady rate (v2, open loop) on one process while 1,000 clients log in with their
 *   passwords at the real scrypt cost (each retrying after `retryAfterMs` when refused with
 *   errno 132): chat p99 without logins, with the hashing thread at the event loop's priority
 *   (--hash-nice 0, as on libuv's threads before) and at the default lowest one (--hash-nice 19),
 *   one hash at a time (target: p99 < 50 ms). The clients logging in run in a process of their
 *   own (bench/login-storm.ts), as other machines would.
 */
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Errors } from '../../lib/errors.js';
import { BenchConn, forEachLimit } from '../conn.js';
import { closeAll } from '../env.js';
import { startStorm, type Storm } from '../login-storm.js';
import { runPairs, type Pair } from '../pairs.js';
import { PhaseMeter, spawnChatServer, type ServerProc } from '../proc.js';
import { PASSWORD, seedSqlite } from '../seed.js';
import { fmtRate, log, sleep } from '../util.js';
import { loadRow, nextId, range, type Ctx } from './common.js';

const TITLE = '7 reconnects without scrypt';

/** one machine's load generator is one address: no per-address caps, no login budgets */
const OPEN = ['--max-connections-per-address', '100000', '--frame-burst', '100000', '--login-attempts-per-address', '0', '--login-attempts-per-account-address', '0', '--login-attempts-per-account', '0'];

async function seeded(ctx: Ctx, label: string, users: number, hash: 'real' | 'cheap'): Promise<{ file: string; ids: number[] }> {
  const file = path.join(mkdtempSync(path.join(ctx.tmpDir, `${label}-`)), 'chat.db');
  const { userIds } = await seedSqlite(file, { prefix: `b${ctx.runId}_${label}_`, users, hash });
  return { file, ids: userIds };
}

function killed(server: ServerProc): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGKILL');
  return exited;
}

export async function scenario7(ctx: Ctx, only: 'restart' | 'logins' | null = null): Promise<void> {
  if (only !== 'logins') await restart(ctx);
  if (only === 'restart') return;
  const reference = await loginsWhileChatting(ctx, null, null);
  for (const nice of [0, 19]) await loginsWhileChatting(ctx, nice, reference);
}

async function restart(ctx: Ctx): Promise<void> {
  const n = ctx.quick ? 300 : 10_000;
  log(`scenario 7, kill -9 and restart of a process with ${n} v2 users`);
  const { file, ids } = await seeded(ctx, 's7', n + 1, 'cheap');
  const spawn = () => spawnChatServer({ name: 'chatserver-s7', args: ['--db', file, ...OPEN], cheapScrypt: true, cpuProfDir: ctx.cpuProfDir ?? undefined });
  let server = await spawn();
  const tokens = new Array<string>(n);
  let conns = new Array<BenchConn>(n);
  await forEachLimit(range(0, n), 200, async (i) => {
    const c = await BenchConn.connect(server.port);
    tokens[i] = (await c.login(ids[i]!, PASSWORD, true)).token as string;
    conns[i] = c;
  });
  await killed(server);
  closeAll(conns);
  const t0 = performance.now();
  server = await spawn();
  try {
    const meter = new PhaseMeter([server.pid], [], [server.name]);
    const up = performance.now() - t0;
    let refused = 0;
    let firstRefusal = '';
    conns = new Array<BenchConn>(n);
    await forEachLimit(range(0, n), 500, async (i) => {
      const c = await BenchConn.connect(server.port);
      const r = await c.request({ msgid: 1, v: 2, id: ids[i]!, token: tokens[i]!, cmid: `resume-${i}` }, (f) => f.msgid === 2, 60_000);
      if (r.errno !== 0) {
        refused++;
        firstRefusal ||= JSON.stringify(r);
      }
      conns[i] = c;
    });
    const resumed = performance.now() - t0;
    // one message to each, from one more user, pushed to the resumed sessions
    let got = 0;
    for (const c of conns) {
      c.onPush = (f) => {
        if (f.msgid === 6) got++;
      };
    }
    const sender = await BenchConn.connect(server.port);
    await sender.login(ids[n]!, PASSWORD, true);
    for (let i = 0; i < n; i++) sender.send({ msgid: 6, v: 2, toid: ids[i]!, msg: `welcome back ${i}`, cmid: `wb-${i}` });
    const deadline = performance.now() + 60_000;
    while (got < n && performance.now() < deadline) await sleep(20);
    const all = performance.now() - t0;
    const usage = meter.stop();
    const ok = refused === 0 && got === n;
    ctx.rows.push({
      id: nextId(ctx, '7'),
      scenario: TITLE,
      variant: `embedded, ${n.toLocaleString('en-US')} v2 users: kill -9, restart, every client resumes with its token (no password), then one message to each (rate: users back/s)`,
      sent: n,
      received: got,
      lost: n - got,
      rate: (n / all) * 1000,
      rateUnit: 'users/s',
      usage,
      target: '< 10 s until all are back and delivering',
      met: ok && all < 10_000,
      correct: ok,
      ...(all >= 10_000 ? { miss: `${(all / 1000).toFixed(1)} s` } : {}),
      ...(refused ? { miss: `${refused} resumes refused, first: ${firstRefusal}` } : {}),
      command: ctx.cmd('7'),
      notes: [`${(all / 1000).toFixed(2)} s from the restart to the last message; the process listened after ${(up / 1000).toFixed(2)} s, all ${n} resumed after ${(resumed / 1000).toFixed(2)} s; first logins with the cheap-scrypt preload, resumes hash nothing`],
    });
    log(`7 restart: ${n} back and delivering in ${(all / 1000).toFixed(2)} s (listening ${(up / 1000).toFixed(2)} s, resumed ${(resumed / 1000).toFixed(2)} s), refused ${refused}`);
    sender.close();
    closeAll(conns);
  } finally {
    await server.stop();
  }
}

/** `nice`: the --hash-nice of the hashing thread; null: no logins (the reference). Returns chat p99, ms. */
async function loginsWhileChatting(ctx: Ctx, nice: number | null, referenceP99: number | null): Promise<number> {
  const pairs = ctx.quick ? 4 : 10;
  const logins = ctx.quick ? 50 : 1000;
  const rate = ctx.quick ? 1000 : 5000;
  const durationMs = ctx.quick ? 2000 : 10_000;
  const label = nice === null ? 'no logins (reference)' : `${logins.toLocaleString('en-US')} password logins at once, one hash at a time, --hash-nice ${nice}${nice === 19 ? ' (default)' : ' (the event loop\'s priority)'}`;
  log(`scenario 7, chat at ${rate} msg/s with ${label}`);
  const name = nice === null ? 's7ref' : `s7nice${nice}`;
  const { file, ids } = await seeded(ctx, name, 2 * pairs + logins, 'real');
  const server = await spawnChatServer({ name: `chatserver-${name}`, args: ['--db', file, ...OPEN, '--hash-concurrency', '1', ...(nice === null ? [] : ['--hash-nice', String(nice)])], cpuProfDir: ctx.cpuProfDir ?? undefined });
  const chatters: BenchConn[] = [];
  let storm: Storm | null = null;
  try {
    for (const i of range(0, 2 * pairs)) {
      const c = await BenchConn.connect(server.port);
      await c.login(ids[i]!, PASSWORD, true);
      chatters.push(c);
    }
    const p: Pair[] = range(0, pairs).map((k) => ({ sender: chatters[2 * k]!, recipient: chatters[2 * k + 1]!, senderId: ids[2 * k]!, recipientId: ids[2 * k + 1]! }));
    // a second of chat first: the phase measures a warm process, not its JIT
    await runPairs(p, { v2: true, open: { rate, durationMs: 1000 } });
    storm = nice === null ? null : startStorm(server.port, ids.slice(2 * pairs), PASSWORD);
    const meter = new PhaseMeter([server.pid], [], [server.name]);
    const t0 = performance.now();
    const chat = await runPairs(p, { v2: true, open: { rate, durationMs } });
    const usage = meter.stop();
    const window = (performance.now() - t0) / 1000;
    const { done, busy } = (await storm?.stop()) ?? { done: 0, busy: 0 };
    const p99 = chat.latency.p99;
    loadRow(ctx, '7', TITLE, `embedded, v2, open loop ${fmtRate(rate)} msg/s for ${durationMs / 1000} s, ${label}`, chat, usage, {
      target: nice === null ? '(reference)' : 'chat p99 < 50 ms',
      goal: nice === null ? null : p99 < 50,
      ...(p99 >= 50 ? { goalMiss: `p99 ${p99.toFixed(1)} ms` } : {}),
      notes: nice === null ? [] : [`${done} logins done in the ${window.toFixed(1)} s window (${(done / window).toFixed(1)}/s), ${busy} answers ${Errors.BUSY.errno} (retried after retryAfterMs)${referenceP99 ? `; p99 ${(p99 / referenceP99).toFixed(2)}x the reference without logins of this run (${referenceP99.toFixed(1)} ms)` : ''}`],
    });
    return p99;
  } finally {
    storm?.kill();
    closeAll(chatters);
    await server.stop();
  }
}
