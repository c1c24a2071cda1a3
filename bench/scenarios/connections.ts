/**
 * Scenario 5: N idle logged-in connections on one process: memory per connection, login rate,
 * idle CPU with v2 heartbeats, the v2 login rate with resume tokens; and the login rate with
 * the server's real password hashing.
 *
 * The connections live in several load-generator processes (bench/conn-pool.ts), bound to
 * several loopback source addresses; the server and they share the machine's cores.
 */
import { performance } from 'node:perf_hooks';
import { ConnPool, sourceAddresses } from '../conn-pool.js';
import { grantableFdLimit } from '../fd-limit.js';
import { BenchConn, forEachLimit, loginRetrying } from '../conn.js';
import { closeAll, loginMany, openEnv, type EnvRequest } from '../env.js';
import { PhaseMeter, readProc, resetPeak, type ProcSnapshot } from '../proc.js';
import type { Row } from '../report.js';
import { fmtRate, log, sleep } from '../util.js';
import { nextId, range, type Ctx } from './common.js';

/** descriptors a process needs beyond its connections */
const SPARE_FDS = 1000;
/** lib/client's PING interval */
const PING_EVERY_MS = 30_000;
const IDLE_WINDOW_MS = 10_000;
const TARGET_KB = 8;

/** one load generator's address: no per-address caps, no login budgets, no hash queue limit */
function serverFlags(n: number): string[] {
  const cap = String(n + SPARE_FDS);
  // the hashes are stubbed (cheap): no reason to refuse logins as busy while they queue
  return ['--max-connections', cap, '--max-connections-per-address', cap, '--hash-queue', cap, '--frame-burst', '100000', '--login-attempts-per-address', '0', '--login-attempts-per-account-address', '0', '--login-attempts-per-account', '0'];
}

const cpuOf = (pids: number[]): number => pids.reduce((sum, pid) => sum + (readProc(pid)?.cpuSec ?? 0), 0);

export async function scenario5(ctx: Ctx): Promise<void> {
  const z = ctx.sizes;
  const title = '5 idle logged-in connections, one process';
  const configs: Array<{ n: number; v2: boolean }> = [...z.conns.map((n) => ({ n, v2: false })), ...(z.connsV2 ? [{ n: z.connsV2, v2: true }] : [])];
  const most = Math.max(...configs.map((c) => c.n));
  // the server holds every connection: its descriptor limit caps the count
  const serverFds = ctx.targets ? Infinity : grantableFdLimit(most + SPARE_FDS);
  if (most + SPARE_FDS > serverFds) log(`scenario 5: the server can get ${serverFds} descriptors here (the hard limit; raising it needs CAP_SYS_RESOURCE): connections capped at ${serverFds - SPARE_FDS}`);
  for (const c of configs) c.n = Math.min(c.n, serverFds - SPARE_FDS);
  const warmN = Math.min(200, most);
  const users = Math.max(...configs.map((c) => c.n)) + warmN;
  log(`scenario 5, up to ${Math.max(...configs.map((c) => c.n))} idle connections (server descriptor limit ${serverFds})`);
  let seededDb: { file: string; userIds: number[] } | null = null;
  // each phase binds addresses of its own: the ports of closed connections wait a minute in TIME_WAIT
  let nextAddress = 2;
  const addresses = (n: number): string[] => {
    if (ctx.targets) return [];
    const list = sourceAddresses(n, nextAddress);
    nextAddress += list.length;
    return list;
  };
  const stub = ctx.targets ? [] : ['login hashing stubbed (bench/cheap-scrypt.ts preload; see the row of real logins)'];
  for (const c of configs) {
    const req: EnvRequest = { kind: 'embedded', label: 's5', users, hash: 'cheap', args: serverFlags(c.n), nofile: c.n + SPARE_FDS, ...(seededDb ? { reuseDb: seededDb } : {}) };
    const env = await openEnv(ctx, req);
    // registered once into one db file, reused by every server of this scenario
    if (env.dbFile) seededDb ??= { file: env.dbFile, userIds: env.userIds };
    const pid = env.serverPids[0];
    const ep = env.endpoints[0]!;
    const perWorker = Math.min(25_000, grantableFdLimit(25_000 + SPARE_FDS) - SPARE_FDS);
    const pool = new ConnPool(Math.max(2, Math.ceil(c.n / perWorker)), perWorker + SPARE_FDS);
    const job = { host: ep.host, port: ep.port, v2: c.v2, password: env.password, localAddresses: addresses(c.n), parallel: 250 };
    const flavour = c.v2 ? 'v2' : 'legacy';
    try {
      // warm the server's code paths, so the baseline includes compiled code and caches
      await pool.login({ ...job, ids: range(c.n, c.n + warmN).map((u) => env.userIds[u]!), localAddresses: addresses(warmN) });
      await pool.closeAll();
      await sleep(1500);
      const before = pid ? readProc(pid) : null;
      if (pid) resetPeak(pid);
      const meter = new PhaseMeter(env.serverPids, [], env.serverNames);
      const ids = range(0, c.n).map((u) => env.userIds[u]!);
      const gen0 = cpuOf(pool.pids);
      const logins = await pool.login({ ...job, ids });
      const genCpu = cpuOf(pool.pids) - gen0;
      await sleep(3000);
      const early = pid ? readProc(pid) : null;
      // idle: v2 clients ping as lib/client does; legacy ones have only TCP keep-alive
      if (c.v2) await pool.heartbeat(PING_EVERY_MS);
      await sleep(2000);
      const idle = await idleCpu(pid, pool);
      // after the idle window V8 has shrunk the heap the logins' garbage grew (its memory
      // reducer runs once allocation slows): what the connections themselves hold
      const after = pid ? readProc(pid) : null;
      const usage = meter.stop();
      const { alive } = await pool.count();
      await pool.heartbeat(0);
      const perConnKb = before && after ? (after.rssKb - before.rssKb) / c.n : NaN;
      const goal = Number.isFinite(perConnKb) ? perConnKb < TARGET_KB : null;
      const row: Row = {
        id: nextId(ctx, '5'),
        scenario: title,
        variant: `${ctx.targets ? 'target' : 'embedded'}, ${c.n.toLocaleString('en-US')} ${flavour} connections logged in, then idle (rate: logins/s)`,
        received: alive,
        lost: c.n - alive,
        rate: (logins.ok / logins.ms) * 1000,
        rateUnit: 'logins/s',
        usage,
        ratio: Number.isFinite(perConnKb) ? `${perConnKb.toFixed(1)} KB/conn` : undefined,
        target: `< ${TARGET_KB} KB RSS added per connection`,
        met: alive < c.n ? false : goal,
        correct: alive === c.n && logins.failed === 0,
        miss: goal === false ? `${perConnKb.toFixed(1)} KB per connection, ${(perConnKb / TARGET_KB).toFixed(2)}x the target` : undefined,
        command: ctx.cmd('5'),
        notes: [
          memoryNote(before, early, after, c.n, warmN),
          before && early ? `server CPU ${(((early.cpuSec - before.cpuSec) / c.n) * 1e6).toFixed(0)} µs per login` : '',
          idle ? `server CPU while idle${c.v2 ? ` (every connection pings every ${PING_EVERY_MS / 1000} s: ${fmtRate(c.n / (PING_EVERY_MS / 1000))} PINGs/s)` : ''}: ${idle.serverPct.toFixed(1)}% of one core; the load generators ${idle.loadgenPct.toFixed(1)}%` : '',
          `${pool.pids.length} load-generator processes (${genCpu.toFixed(1)} CPU s during the logins), ${job.localAddresses.length || 1} source address(es); they share the machine's cores with the server`,
          logins.failed ? `${logins.failed} logins failed, first: ${logins.firstError.slice(0, 200)}` : '',
          ...stub,
        ].filter(Boolean),
      };
      ctx.rows.push(row);
      log(`${row.id} ${row.variant}: ${row.ratio ?? '?'}, ${fmtRate(row.rate!)} logins/s${idle ? `, idle CPU ${idle.serverPct.toFixed(1)}%` : ''}`);
      if (c.v2) await resumeRow(ctx, title, pool, { ...job, ids, tokens: logins.tokens, localAddresses: addresses(c.n) }, pid);
      await pool.closeAll();
      await sleep(500);
    } finally {
      pool.stop();
      await env.close();
    }
  }

  // the real cost of a login: no preload, the server's scrypt
  log('scenario 5, login rate with the real password hashing');
  const env = await openEnv(ctx, { kind: 'embedded', label: 's5real', users: z.loginSample, hash: 'real' });
  try {
    const meter = new PhaseMeter(env.serverPids, [], env.serverNames);
    const t0 = performance.now();
    const conns = await loginMany(env, range(0, z.loginSample), false, () => env.endpoints[0]!, z.loginSample);
    const ms = performance.now() - t0;
    const usage = meter.stop();
    const rate = (z.loginSample / ms) * 1000;
    ctx.rows.push({
      id: nextId(ctx, '5'),
      scenario: title,
      variant: `${ctx.targets ? 'target' : 'embedded'}, ${z.loginSample} legacy logins at once with the real scrypt (N=16384, r=8)`,
      received: conns.filter((x) => !x.closed).length,
      rate,
      rateUnit: 'logins/s',
      usage,
      target: '(reported)',
      met: null,
      command: ctx.cmd('5'),
      notes: [`at this rate 10,000 users need ${fmtRate(10_000 / rate)} s to log in (a reconnect storm after a restart takes as long)`],
    });
    log(`login rate with real scrypt: ${rate.toFixed(1)} logins/s`);
    closeAll(conns);
  } finally {
    await env.close();
  }
  await bigGroupLogins(ctx, title);
}

/**
 * Legacy logins of a big group's members: each reply lists every member of the group with its
 * state, so a login costs O(members) (bytes the protocol sends); the members' roster is read
 * once and each member's entry serialised once (lib/store/rosters.ts, lib/models/contacts.ts),
 * not once per login.
 */
async function bigGroupLogins(ctx: Ctx, title: string): Promise<void> {
  const m = ctx.sizes.bigGroup;
  log(`scenario 5, ${m} legacy logins of the members of a ${m}-member group`);
  const env = await openEnv(ctx, { kind: 'embedded', label: 's5group', users: m, groups: [{ name: 'big', members: m }], hash: 'cheap', args: serverFlags(m) });
  const ep = env.endpoints[0]!;
  const conns: BenchConn[] = [];
  let short = 0;
  try {
    const meter = new PhaseMeter(env.serverPids, [], env.serverNames);
    const t0 = performance.now();
    await forEachLimit(range(0, m), 50, async (u) => {
      const c = await BenchConn.connect(ep.port, ep.host);
      conns.push(c);
      const r = await loginRetrying(c, env.userIds[u]!, env.password, false);
      const group = JSON.parse((r.groups as string[])[0]!) as { users: string[] };
      if (group.users.length !== m) short++;
    });
    const ms = performance.now() - t0;
    const usage = meter.stop();
    const cpuMs = (usage.server.cpuSec / m) * 1000;
    ctx.rows.push({
      id: nextId(ctx, '5'),
      scenario: title,
      variant: `${ctx.targets ? 'target' : 'embedded'}, ${m} legacy logins (50 at a time) of the members of one ${m}-member group, each reply listing every member and its state`,
      received: m - short,
      rate: (m / ms) * 1000,
      rateUnit: 'logins/s',
      usage,
      ratio: `${cpuMs.toFixed(2)} ms server CPU per login`,
      target: '(reported)',
      met: short === 0 ? null : false,
      correct: short === 0,
      miss: short ? `${short} replies did not list all ${m} members` : undefined,
      command: ctx.cmd('5'),
      notes: [...(ctx.targets ? [] : ['login hashing stubbed (bench/cheap-scrypt.ts preload)'])],
    });
    log(`big group: ${fmtRate((m / ms) * 1000)} logins/s, ${cpuMs.toFixed(2)} ms server CPU per login`);
  } finally {
    closeAll(conns);
    await env.close();
  }
}



function memoryNote(before: ProcSnapshot | null, early: ProcSnapshot | null, after: ProcSnapshot | null, n: number, warmN: number): string {
  if (!before || !early || !after) return 'no /proc figures for this server';
  const mb = (p: ProcSnapshot): string => (p.rssKb / 1024).toFixed(0);
  const added = (after.rssKb - before.rssKb) / n;
  return `VmRSS ${mb(before)} MB before the connections (after a warm-up of ${warmN}), ${mb(early)} MB 3 s after the last login, ${mb(after)} MB after ${(IDLE_WINDOW_MS + 2000) / 1000} s idle: ${added.toFixed(1)} KB each added, ${(after.rssKb / n).toFixed(1)} KB each counting the whole process`;
}

/** the server's and the load generators' CPU over the idle window, % of one core */
async function idleCpu(pid: number | undefined, pool: ConnPool): Promise<{ serverPct: number; loadgenPct: number } | null> {
  if (!pid) return null;
  const s0 = readProc(pid);
  const l0 = cpuOf(pool.pids);
  const t0 = performance.now();
  await sleep(IDLE_WINDOW_MS);
  const s1 = readProc(pid);
  const sec = (performance.now() - t0) / 1000;
  if (!s0 || !s1) return null;
  return { serverPct: ((s1.cpuSec - s0.cpuSec) / sec) * 100, loadgenPct: ((cpuOf(pool.pids) - l0) / sec) * 100 };
}

/** every v2 connection closed, then back with its session token alone (no password, no scrypt) */
async function resumeRow(ctx: Ctx, title: string, pool: ConnPool, job: Parameters<ConnPool['login']>[0] & { tokens: string[] }, pid: number | undefined): Promise<void> {
  await pool.closeAll();
  // the closed sessions leave first: a resume of a session still open is refused as in use
  await sleep(3000);
  const meter = new PhaseMeter(pid ? [pid] : [], [], []);
  const r = await pool.login(job);
  const usage = meter.stop();
  const n = job.ids.length;
  const rate = (r.ok / r.ms) * 1000;
  ctx.rows.push({
    id: nextId(ctx, '5'),
    scenario: title,
    variant: `${ctx.targets ? 'target' : 'embedded'}, the same ${n.toLocaleString('en-US')} v2 connections closed and resumed with their session tokens (no password)`,
    received: r.ok,
    lost: n - r.ok,
    rate,
    rateUnit: 'logins/s',
    usage,
    target: '(reported)',
    met: r.failed === 0 ? null : false,
    correct: r.failed === 0,
    miss: r.failed ? `${r.failed} resumes failed, first: ${r.firstError.slice(0, 200)}` : undefined,
    command: ctx.cmd('5'),
    notes: [`server CPU ${((usage.server.cpuSec / Math.max(1, r.ok)) * 1e6).toFixed(0)} µs per resume`],
  });
  log(`resume with tokens: ${fmtRate(rate)} logins/s, ${r.failed} failed`);
}
