/**
 * What a hashing thread's CPU priority does to the event loop, without a server: the main
 * thread serialises and parses chat-like frames for `--seconds` while one worker thread computes
 * scrypt hashes (ln=14, r=8, p=1) at nice 0 or nice 19, or nothing runs beside it; the three
 * take turns `--rounds` times so that each sees the same background. Prints frames done per
 * phase (more is better) and the hashes the worker finished. docs/OPERATING.md ("Where the hashes
 * run") cites it.
 *
 *   node dist/bench/hash-priority.js [--rounds 3] [--seconds 2]
 */
import { Worker } from 'node:worker_threads';
import { runIfMain } from './util.js';

const HASHER = `
const { workerData, parentPort } = require('node:worker_threads');
const os = require('node:os');
os.setPriority(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()), workerData.nice);
const stop = new Int32Array(workerData.stop);
let n = 0;
while (!Atomics.load(stop, 0)) {
  require('node:crypto').scryptSync('pw', 'salt', 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  n++;
}
parentPort.postMessage(n);
`;

const FRAME = { msgid: 6, v: 2, toid: 123, msg: 'hello there '.repeat(5), cmid: 'abc', conv: 'p:1:2', msgSeq: 1 };

function frames(ms: number): number {
  const until = performance.now() + ms;
  const kept: unknown[] = [];
  let n = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 200; i++, n++) {
      kept.push(JSON.parse(JSON.stringify({ ...FRAME, msgSeq: n })));
      if (kept.length > 20_000) kept.length = 0;
    }
  }
  return n;
}

async function phase(nice: number | null, ms: number): Promise<{ frames: number; hashes: number }> {
  if (nice === null) return { frames: frames(ms), hashes: 0 };
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(HASHER, { eval: true, workerData: { nice, stop } });
  const done = new Promise<number>((resolve) => worker.once('message', resolve));
  await new Promise((r) => setTimeout(r, 300));
  const n = frames(ms);
  Atomics.store(new Int32Array(stop), 0, 1);
  const hashes = await done;
  await worker.terminate();
  return { frames: n, hashes };
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i === -1 ? fallback : Number(process.argv[i + 1]);
  };
  const rounds = arg('--rounds', 3);
  const ms = arg('--seconds', 2) * 1000;
  const sides: Array<[string, number | null]> = [
    ['no hashing', null],
    ['hashing at nice 0', 0],
    ['hashing at nice 19', 19],
  ];
  const sums = new Map<string, { frames: number; hashes: number }>();
  for (let r = 0; r < rounds; r++) {
    for (const [name, nice] of sides) {
      const got = await phase(nice, ms);
      console.log(`round ${r + 1} ${name}: ${got.frames} frames, ${got.hashes} hashes`);
      const sum = sums.get(name) ?? { frames: 0, hashes: 0 };
      sums.set(name, { frames: sum.frames + got.frames, hashes: sum.hashes + got.hashes });
    }
  }
  for (const [name, sum] of sums) console.log(`${name}: ${(sum.frames / rounds / 1e6).toFixed(2)} M frames per phase, ${(sum.hashes / rounds).toFixed(1)} hashes`);
}

runIfMain(import.meta.url, main);
