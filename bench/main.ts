/**
 * The benchmark runner: `make bench`, or `npm run bench -- [options]`.
 *
 *   --scenario <list>   1..8, comma-separated or repeated (default: all). Scenarios 1, 2 and 8
 *                       include the relay baseline.
 *   --quick             tiny sizes (a smoke run of a few seconds per scenario)
 *   --target h:p[,h:p]  run against given servers instead of starting them (the second one is
 *                       the other process for cluster scenarios); users are registered over the
 *                       wire. --target-pid p[,p] adds their CPU and memory figures.
 *   --mysql <url>       MariaDB/MySQL server for cluster runs (default mysql://root@127.0.0.1:3306);
 *                       each cluster run creates its own chat_bench_* database and drops it
 *   --redis <url>       Redis for cluster runs (default redis://127.0.0.1:6379); each run uses
 *                       its own bench:<run>: key prefix and deletes its keys afterwards
 *   --cpu-prof [dir]    write V8 CPU profiles of the started chatservers and summarise them
 *   --doc <file>        where the results table goes (default docs/BENCHMARKS.md; --quick runs
 *                       write nothing unless --doc is given); --no-doc writes nothing
 *   --json <file>       also write the rows as JSON
 *   --server <path>     start another build's bin/chatserver (an A/B run of a candidate fix;
 *                       writes no docs unless --doc is given)
 *   --only <part>       scenario 7: only `restart` (the kill -9 and resumes) or only `logins`
 *                       (chat while password logins run)
 *
 * Exit status 1 when any row lost, duplicated or reordered a message (or got an error reply);
 * missed performance targets are reported, not failed.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTmpDir, type Endpoint } from './env.js';
import { formatSummary, summarise } from './profile.js';
import { fdLimit } from './fd-limit.js';
import { consoleTable, machineInfo, noiseNote, revision, writeDoc, type Row, type RunInfo } from './report.js';
import { FULL, QUICK, type Ctx } from './scenarios/common.js';
import { scenario5 } from './scenarios/connections.js';
import { scenario3 } from './scenarios/fanout.js';
import { scenario4 } from './scenarios/offline.js';
import { scenario8 } from './scenarios/one-in-flight.js';
import { scenario1, scenario2 } from './scenarios/one-to-one.js';
import { scenario7 } from './scenarios/resume.js';
import { scenario6 } from './scenarios/status-recall.js';
import { ROOT, log, randomId, reachable } from './util.js';

interface Args {
  scenarios: number[];
  quick: boolean;
  targets: Endpoint[] | null;
  mysql: string;
  redis: string;
  cpuProf: string | null;
  doc: string | null;
  json: string | null;
  server: string | null;
  only: 'restart' | 'logins' | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    scenarios: [],
    quick: false,
    targets: null,
    mysql: process.env.CHAT_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306',
    redis: process.env.CHAT_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    cpuProf: null,
    doc: 'default',
    json: null,
    server: null,
    only: null,
  };
  let pids: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--scenario':
      case '-s':
        for (const s of value().split(',')) {
          if (s === 'all') a.scenarios.push(1, 2, 3, 4, 5, 6, 7, 8);
          else if (/^[1-8]$/.test(s)) a.scenarios.push(Number(s));
          else throw new Error(`unknown scenario ${s} (1..8 or all)`);
        }
        break;
      case '--quick':
        a.quick = true;
        break;
      case '--target':
        a.targets = value()
          .split(',')
          .map((hp) => {
            const m = /^(.*):(\d+)$/.exec(hp);
            if (!m) throw new Error(`--target wants host:port, got ${hp}`);
            return { host: m[1]!, port: Number(m[2]) };
          });
        break;
      case '--target-pid':
        pids = value().split(',').map(Number);
        break;
      case '--mysql':
        a.mysql = value();
        break;
      case '--redis':
        a.redis = value();
        break;
      case '--cpu-prof': {
        const next = argv[i + 1];
        a.cpuProf = next && !next.startsWith('-') ? argv[++i]! : path.join(os.tmpdir(), `chat-bench-prof-${Date.now()}`);
        break;
      }
      case '--doc':
        a.doc = value();
        break;
      case '--no-doc':
        a.doc = null;
        break;
      case '--json':
        a.json = value();
        break;
      case '--server':
        a.server = path.resolve(value());
        break;
      case '--only': {
        const part = value();
        if (part !== 'restart' && part !== 'logins') throw new Error(`--only wants restart or logins, got ${part}`);
        a.only = part;
        break;
      }
      case '--help':
      case '-h':
        console.log('usage: npm run bench -- [--scenario 1,2,..] [--quick] [--target h:p[,h:p]] [--target-pid p[,p]] [--mysql url] [--redis url] [--cpu-prof [dir]] [--doc file | --no-doc] [--json file] [--server path/to/bin/chatserver] [--only restart|logins]');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg} (--help)`);
    }
  }
  if (a.targets) a.targets.forEach((t, k) => (t.pid = pids[k]));
  if (a.scenarios.length === 0) a.scenarios = [1, 2, 3, 4, 5, 6, 7, 8];
  a.scenarios = [...new Set(a.scenarios)].sort();
  if (a.doc === 'default') a.doc = a.quick || a.server ? null : path.join(ROOT, 'docs/BENCHMARKS.md');
  return a;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const startedAt = new Date(started).toISOString().replace(/\.\d+Z$/, 'Z');
  // the tree the servers were built from (make bench and npm run bench build right before)
  const rev = revision();
  const runId = randomId(6);
  const quickFlag = args.quick ? ' --quick' : '';
  const command = process.env.BENCH_COMMAND ?? `npm run bench --${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}`;
  log(`run ${runId}: scenarios ${args.scenarios.join(', ')}${args.quick ? ' (quick)' : ''}; ${machineInfo()}; ulimit -n ${fdLimit()}`);

  let clusterOk = true;
  if (!args.targets && args.scenarios.some((s) => s === 2 || s === 3 || s === 4 || s === 8)) {
    const [m, r] = await Promise.all([reachable(args.mysql, 3306), reachable(args.redis, 6379)]);
    if (!m || !r) {
      clusterOk = false;
      log(`!!! cluster parts skipped: ${!m ? `MySQL ${args.mysql}` : ''} ${!r ? `Redis ${args.redis}` : ''} not reachable`);
    }
  }
  if (args.cpuProf) {
    mkdirSync(args.cpuProf, { recursive: true });
    log(`CPU profiles of the chatservers go to ${args.cpuProf}`);
  }
  const tmp = runTmpDir();
  const rows: Row[] = [];
  const ctx: Ctx = {
    runId,
    mysqlUrl: args.mysql,
    redisUrl: args.redis,
    tmpDir: tmp.dir,
    cpuProfDir: args.cpuProf,
    targets: args.targets,
    serverScript: args.server ?? undefined,
    sizes: args.quick ? QUICK : FULL,
    quick: args.quick,
    rows,
    ids: new Map(),
    cmd: (s) => `npm run bench -- --scenario ${s}${quickFlag}`,
  };
  const failures: string[] = [];
  const run = async (name: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
      log(`!!! ${name} failed: ${msg}`);
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      rows.push({ id: `${name}!`, scenario: name, variant: 'did not complete', met: false, miss: String(err instanceof Error ? err.message : err).slice(0, 200), command: ctx.cmd(name.replace(/\D/g, '')), notes: [] });
    }
  };
  try {
    for (const s of args.scenarios) {
      if (s === 1) await run('1', () => scenario1(ctx));
      if (s === 2 && clusterOk) await run('2', () => scenario2(ctx));
      if (s === 3 && clusterOk) await run('3', () => scenario3(ctx));
      if (s === 4) await run('4', () => scenario4(ctx, args.targets ? ['embedded'] : clusterOk ? ['embedded', 'cluster'] : ['embedded']));
      if (s === 5) await run('5', () => scenario5(ctx));
      if (s === 6) await run('6', () => scenario6(ctx));
      if (s === 7) await run('7', () => scenario7(ctx, args.only));
      if (s === 8) await run('8', () => scenario8(ctx, clusterOk));
    }
  } finally {
    tmp.remove();
  }

  const durationSec = (Date.now() - started) / 1000;
  console.log('\n' + consoleTable(rows) + '\n');
  log(noiseNote(rows));
  const info: RunInfo = { date: startedAt, machine: machineInfo(), command, quick: args.quick, durationSec, noise: noiseNote(rows), ...(rev ? { revision: rev } : {}) };
  for (const r of rows) r.run = startedAt;
  if (args.doc) {
    writeDoc(args.doc, info, rows);
    log(`results written to ${path.relative(process.cwd(), args.doc) || args.doc}`);
  }
  if (args.json) writeFileSync(args.json, JSON.stringify({ info, rows }, null, 2));
  if (args.cpuProf) {
    const files = readdirSync(args.cpuProf).filter((f) => f.endsWith('.cpuprofile'));
    const parts: string[] = [];
    // each phase on its own (the samples of its time window), then each whole profile
    for (const r of rows) {
      const u = r.usage;
      if (!u) continue;
      for (const server of u.servers) {
        const f = files.find((x) => x.startsWith(`${server}.`));
        if (f) parts.push(formatSummary(summarise(path.join(args.cpuProf, f), 15, u.windowUs), `row ${r.id} (${r.variant}) on ${server}`));
      }
    }
    for (const f of files) parts.push(formatSummary(summarise(path.join(args.cpuProf, f), 20), `whole run of ${f}`));
    const text = parts.join('\n\n');
    writeFileSync(path.join(args.cpuProf, 'summary.txt'), text + '\n');
    console.log(text);
    log(`profile summaries in ${path.join(args.cpuProf, 'summary.txt')}`);
  }
  const broken = rows.filter((r) => r.correct === false);
  if (broken.length > 0 || failures.length > 0) {
    log(`FAILED: ${[...broken.map((r) => r.id), ...failures].join(', ')}`);
    return 1;
  }
  log(`done in ${durationSec.toFixed(0)} s`);
  return 0;
}

// interrupted: exiting runs proc.ts's exit hook, which kills the servers this run started (a
// cluster run's chat_bench_* database and bench:<run>: keys may stay behind; they are safe to drop)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
