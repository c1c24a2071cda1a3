/**
 * A/B of two server builds under scenario 1's or scenario 2's load (users seeded with the
 * cheap-scrypt preload): scenario 1 is one embedded process on a fresh SQLite file, scenario 2
 * two cluster processes on a fresh MariaDB database and Redis prefix with each pair's sender and
 * recipient on different processes. Each round runs a closed loop 50 x 2000 (window 50) and an
 * open loop (10,000 msg/s embedded, 5,000 msg/s cluster) for 3 s, the two builds alternating
 * `--rounds` times so both see the same background. For checking a candidate fix, or an older
 * commit, without touching this tree:
 *
 *   git worktree add /tmp/old <commit> && cp -al node_modules /tmp/old/ && (cd /tmp/old && npx tsc -p tsconfig.build.json)
 *   node dist/bench/ab.js --b /tmp/old/bin/chatserver [--a bin/chatserver] [--rounds 3] [--v2] [--scenario 1|2] [--window 1]
 *
 * `--window 1`: the closed loop keeps one message in flight per pair (scenario 8's load, 50 x 400).
 */
import path from 'node:path';
import { closeAll, loginMany, openEnv, runTmpDir, type BenchEnv, type EnvConfig } from './env.js';
import type { Pair } from './pairs.js';
import { closedThenOpen, roundLine, RoundSums } from './rounds.js';
import { makePairs } from './scenarios/common.js';
import { ROOT, randomId, runIfMain } from './util.js';

interface Side {
  name: string;
  env: BenchEnv;
  pairs: Pair[];
  close: () => void;
}

const PAIRS = 50;

async function side(name: string, script: string, v2: boolean, cluster: boolean, cfg: EnvConfig): Promise<Side> {
  const env = await openEnv({ ...cfg, serverScript: script }, { kind: cluster ? 'cluster' : 'embedded', label: `ab${name}`, users: 2 * PAIRS, hash: 'cheap' });
  const [a, b] = [env.endpoints[0]!, env.endpoints[1] ?? env.endpoints[0]!];
  // as scenario 2: pair i's sender on a and recipient on b for even i, the other way round for odd i
  const endpointOf = (k: number) => ((Math.floor(k / 2) % 2 === 0) === (k % 2 === 0) ? a : b);
  const conns = await loginMany(env, Array.from({ length: 2 * PAIRS }, (_, i) => i), v2, endpointOf);
  return { name, env, pairs: makePairs(env, conns, 0), close: () => closeAll(conns) };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (k: string) => {
    const i = argv.indexOf(k);
    return i === -1 ? undefined : argv[i + 1];
  };
  const b = opt('--b');
  const scenario = opt('--scenario') ?? '1';
  if (!b || (scenario !== '1' && scenario !== '2')) {
    console.error('usage: node dist/bench/ab.js --b path/to/other/bin/chatserver [--a bin/chatserver] [--rounds 3] [--v2] [--scenario 1|2] [--window 1]');
    process.exit(2);
  }
  const a = opt('--a') ?? path.join(ROOT, 'bin/chatserver');
  const rounds = Number(opt('--rounds') ?? 3);
  const v2 = argv.includes('--v2');
  const window = Number(opt('--window') ?? 50);
  const cluster = scenario === '2';
  const openRate = cluster ? 5_000 : 10_000;
  const tmp = runTmpDir();
  const cfg: EnvConfig = {
    runId: randomId(6),
    mysqlUrl: process.env.CHAT_BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306',
    redisUrl: process.env.CHAT_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    tmpDir: tmp.dir,
    cpuProfDir: null,
    targets: null,
  };
  const sides: Side[] = [];
  const sums = new RoundSums();
  try {
    sides.push(await side('A', path.resolve(a), v2, cluster, cfg), await side('B', path.resolve(b), v2, cluster, cfg));
    for (let round = 1; round <= rounds; round++) {
      for (const s of sides) {
        const r = await closedThenOpen(s.pairs, s.env.serverPids, v2, openRate, window);
        sums.add(s.name, r);
        console.log(roundLine(s.name, round, r, openRate));
      }
    }
    console.log(sums.meanLine('A', `A (${a})`));
    console.log(sums.meanLine('B', `B (${b})`));
    const [sa, sb] = [sums.mean('A'), sums.mean('B')];
    console.log(`A/B: rate ${(sa.rate / sb.rate).toFixed(3)}x, CPU per message ${(sa.cpu / sb.cpu).toFixed(3)}x`);
  } finally {
    for (const s of sides) {
      s.close();
      await s.env.close();
    }
    tmp.remove();
  }
}

runIfMain(import.meta.url, main);
