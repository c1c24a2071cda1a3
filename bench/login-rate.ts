/**
 * Password logins per second at several scrypt costs, one embedded server per cost, the costs
 * taking turns `--rounds` times so that each sees the same background. Each login is a fresh
 * v2 connection (LOGIN, ack, close), `--workers` of them at once, for `--seconds` a round.
 *
 *   node dist/bench/login-rate.js [--costs ln=14,r=8,p=1,ln=14,r=8,p=5] [--rounds 3] [--seconds 5] [--workers 8]
 *
 * What docs/OPERATING.md cites for the default of --scrypt-params.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultOptions } from '../lib/config.js';
import { BenchConn } from './conn.js';
import { PhaseMeter, spawnChatServer, type ServerProc } from './proc.js';
import { runIfMain } from './util.js';

interface Side {
  cost: string;
  server: ServerProc;
  ids: number[];
  logins: number;
  cpuSec: number;
  wallSec: number;
}

const PASSWORD = 'login-rate-password';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : process.argv[i + 1]!;
}

async function side(cost: string, workers: number, tmp: string): Promise<Side> {
  const db = path.join(mkdtempSync(path.join(tmp, 'side-')), 'chat.db');
  const server = await spawnChatServer({
    name: `login-${cost}`,
    args: ['--db', db, '--scrypt-params', cost, '--max-sessions', '1000', '--login-attempts-per-account-address', '0', '--login-attempts-per-address', '0'],
  });
  const c = await BenchConn.connect(server.port, server.host);
  const ids: number[] = [];
  for (let i = 0; i < workers; i++) ids.push(await c.register(`rate${i}`, PASSWORD, true));
  c.close();
  return { cost, server, ids, logins: 0, cpuSec: 0, wallSec: 0 };
}

async function round(s: Side, seconds: number): Promise<void> {
  const meter = new PhaseMeter([s.server.pid]);
  const until = performance.now() + seconds * 1000;
  let logins = 0;
  await Promise.all(
    s.ids.map(async (id) => {
      while (performance.now() < until) {
        const c = await BenchConn.connect(s.server.port, s.server.host);
        await c.login(id, PASSWORD, true);
        c.close();
        logins++;
      }
    }),
  );
  const use = meter.stop();
  s.logins += logins;
  s.cpuSec += use.server.cpuSec;
  s.wallSec += use.wallSec;
  console.log(`${s.cost}: ${(logins / use.wallSec).toFixed(1)} logins/s, ${((use.server.cpuSec * 1000) / logins).toFixed(1)} ms server CPU per login`);
}

async function main(): Promise<void> {
  const costs = arg('--costs', `ln=14,r=8,p=1,${defaultOptions.scryptParams}`).match(/ln=\d+,r=\d+,p=\d+/g) ?? [];
  const rounds = Number(arg('--rounds', '3'));
  const seconds = Number(arg('--seconds', '5'));
  const workers = Number(arg('--workers', '8'));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'chat-login-rate-'));
  const sides: Side[] = [];
  try {
    for (const cost of costs) sides.push(await side(cost, workers, tmp));
    for (let r = 0; r < rounds; r++) for (const s of sides) await round(s, seconds);
    console.log(`\n| --scrypt-params | logins/s | server CPU per login | ratio to ${sides[0]!.cost} |\n|---|---|---|---|`);
    const base = sides[0]!.logins / sides[0]!.wallSec;
    for (const s of sides) {
      const rate = s.logins / s.wallSec;
      console.log(`| \`${s.cost}\` | ${rate.toFixed(1)} | ${((s.cpuSec * 1000) / s.logins).toFixed(0)} ms | ${(rate / base).toFixed(2)} |`);
    }
  } finally {
    for (const s of sides) await s.server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
