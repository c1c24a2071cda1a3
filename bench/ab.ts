/**
 * A/B of two server builds under scenario 1's load (one embedded process each, fresh SQLite
 * files, users seeded, logins with the cheap-scrypt preload): closed loop 50 x 2000 (window 50)
 * and open loop at 10,000 msg/s for 3 s, the two builds alternating `--rounds` times so both see
 * the same background. For checking a candidate fix without touching this tree:
 *
 *   cp -r bin dist sql package.json /tmp/patched && ln -s "$PWD/node_modules" /tmp/patched/
 *   (edit /tmp/patched/dist/lib/...)
 *   node dist/bench/ab.js --b /tmp/patched/bin/chatserver [--a bin/chatserver] [--rounds 3] [--v2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closeAll, loginMany, type BenchEnv } from './env.js';
import { runPairs, type Pair } from './pairs.js';
import { PhaseMeter, spawnChatServer, type ServerProc } from './proc.js';
import { PASSWORD, seedSqlite } from './seed.js';
import { ROOT, fmtMs, fmtRate, runIfMain } from './util.js';

interface Side {
  name: string;
  server: ServerProc;
  pairs: Pair[];
  close: () => void;
}

async function side(name: string, script: string, v2: boolean, tmp: string): Promise<Side> {
  const file = path.join(mkdtempSync(path.join(tmp, `${name}-`)), 'chat.db');
  const seeded = await seedSqlite(file, { prefix: 'ab', users: 100, hash: 'cheap' });
  const server = await spawnChatServer({ name: `ab-${name}`, script, cheapScrypt: true, args: ['--db', file] });
  const env: BenchEnv = {
    kind: 'embedded',
    endpoints: [{ host: server.host, port: server.port, pid: server.pid }],
    ...seeded,
    password: PASSWORD,
    serverPids: [server.pid],
    serverNames: [server.name],
    servicePids: [],
    close: () => server.stop(),
  };
  const conns = await loginMany(env, Array.from({ length: 100 }, (_, i) => i), v2, () => env.endpoints[0]!);
  const pairs = Array.from({ length: 50 }, (_, i) => ({ sender: conns[2 * i]!, recipient: conns[2 * i + 1]!, senderId: seeded.userIds[2 * i]!, recipientId: seeded.userIds[2 * i + 1]! }));
  return { name, server, pairs, close: () => closeAll(conns) };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (k: string) => {
    const i = argv.indexOf(k);
    return i === -1 ? undefined : argv[i + 1];
  };
  const b = opt('--b');
  if (!b) {
    console.error('usage: node dist/bench/ab.js --b path/to/other/bin/chatserver [--a bin/chatserver] [--rounds 3] [--v2]');
    process.exit(2);
  }
  const a = opt('--a') ?? path.join(ROOT, 'bin/chatserver');
  const rounds = Number(opt('--rounds') ?? 3);
  const v2 = argv.includes('--v2');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'chat-ab-'));
  const sides = [await side('A', path.resolve(a), v2, tmp), await side('B', path.resolve(b), v2, tmp)];
  const sums = new Map<string, { rate: number; cpu: number }>();
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const s of sides) {
        const m1 = new PhaseMeter([s.server.pid]);
        const thr = await runPairs(s.pairs, { v2, closed: { perPair: 2000, window: 50 } });
        const u1 = m1.stop();
        const m2 = new PhaseMeter([s.server.pid]);
        const lat = await runPairs(s.pairs, { v2, open: { rate: 10_000, durationMs: 3000 } });
        const u2 = m2.stop();
        const bad = thr.lost + thr.duplicated + thr.outOfOrder + lat.lost + lat.duplicated + lat.outOfOrder;
        const perMsg = (u1.server.cpuSec * 1e6) / thr.received;
        const acc = sums.get(s.name) ?? { rate: 0, cpu: 0 };
        acc.rate += thr.rate;
        acc.cpu += perMsg;
        sums.set(s.name, acc);
        console.log(
          `${s.name} round ${round}: closed ${fmtRate(thr.rate)} msg/s, ${perMsg.toFixed(1)} us CPU/msg | open 10k/s p50 ${fmtMs(lat.latency.p50)} p99 ${fmtMs(lat.latency.p99)} ms, ${((u2.server.cpuSec * 1e6) / lat.received).toFixed(1)} us CPU/msg | everything else ${(u1.othersCpuSec + u2.othersCpuSec).toFixed(1)} CPU-s${bad ? ` | ${bad} LOST/DUP/OOO` : ''}`,
        );
      }
    }
    for (const [name, s] of sums) console.log(`${name} (${name === 'A' ? a : b}): mean ${fmtRate(s.rate / rounds)} msg/s, ${(s.cpu / rounds).toFixed(1)} us CPU/msg`);
  } finally {
    for (const s of sides) {
      s.close();
      await s.server.stop();
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
