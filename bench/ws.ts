/**
 * One-to-one over WebSocket against the same over TCP: one embedded server (--ws-port), 50 v2
 * pairs on each transport, the two alternating `--rounds` times so both see the same
 * background: closed loop 50 x 2000 (window 50) and open loop at 5,000 msg/s for 3 s. Prints
 * each round, the means and the WebSocket/TCP ratio (docs/BENCHMARKS.md has a run).
 *
 *   node dist/bench/ws.js [--rounds 3]      (make bench-ws)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BenchConn } from './conn.js';
import { closeAll } from './env.js';
import type { Pair } from './pairs.js';
import { spawnChatServer } from './proc.js';
import { closedThenOpen, roundLine, RoundSums } from './rounds.js';
import { PASSWORD, seedSqlite } from './seed.js';
import { listeningPorts, runIfMain } from './util.js';

const PAIRS = 50;

async function pairsOver(connect: () => Promise<BenchConn>, ids: number[]): Promise<{ pairs: Pair[]; conns: BenchConn[] }> {
  const conns: BenchConn[] = [];
  for (const id of ids) {
    const c = await connect();
    await c.login(id, PASSWORD, true);
    conns.push(c);
  }
  const pairs = Array.from({ length: ids.length / 2 }, (_, i) => ({ sender: conns[2 * i]!, recipient: conns[2 * i + 1]!, senderId: ids[2 * i]!, recipientId: ids[2 * i + 1]! }));
  return { pairs, conns };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--rounds');
  const rounds = i === -1 ? 3 : Number(argv[i + 1]);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'chat-ws-bench-'));
  const file = path.join(tmp, 'chat.db');
  const seeded = await seedSqlite(file, { prefix: 'ws', users: 4 * PAIRS, hash: 'cheap' });
  const server = await spawnChatServer({ name: 'ws-bench', cheapScrypt: true, args: ['--db', file, '--ws-port', '0'] });
  const wsPort = listeningPorts(server.logs())?.wsPort;
  const sides: Array<{ name: 'TCP' | 'WebSocket'; pairs: Pair[]; conns: BenchConn[] }> = [];
  try {
    if (!wsPort) throw new Error(`the server did not report its --ws-port: ${server.logs()}`);
    const ids = seeded.userIds;
    sides.push({ name: 'TCP', ...(await pairsOver(() => BenchConn.connect(server.port, server.host), ids.slice(0, 2 * PAIRS))) });
    sides.push({ name: 'WebSocket', ...(await pairsOver(() => BenchConn.connectWs(wsPort, server.host), ids.slice(2 * PAIRS, 4 * PAIRS))) });
    const sums = new RoundSums();
    for (let round = 1; round <= rounds; round++) {
      for (const s of sides) {
        const r = await closedThenOpen(s.pairs, [server.pid], true, 5000);
        sums.add(s.name, r);
        console.log(roundLine(s.name, round, r, 5000));
      }
    }
    for (const s of sides) console.log(sums.meanLine(s.name));
    const [tcp, ws] = [sums.mean('TCP'), sums.mean('WebSocket')];
    console.log(`WebSocket/TCP: ${(ws.rate / tcp.rate).toFixed(2)}x the throughput, ${(ws.cpu / tcp.cpu).toFixed(2)}x the server CPU per message`);
  } finally {
    for (const s of sides) closeAll(s.conns);
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
