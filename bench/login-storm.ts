/**
 * Scenario 7's login storm, in a process of its own: one client per id logs in with its
 * password, all at once, each coming back after `retryAfterMs` when answered errno 132, until
 * told to stop. Its own process, at the lowest CPU priority, so that its thousand sockets and
 * replies do not delay the chat load generator's sends and receipts, whose latency the scenario
 * measures (in a deployment the clients logging in are other machines).
 *
 *   const storm = startStorm(port, ids, password); ...; const { done, busy } = await storm.stop();
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Errors } from '../lib/errors.js';
import { BenchConn, forEachLimit } from './conn.js';
import { closeAll } from './env.js';
import { runIfMain, sleep } from './util.js';

export interface StormResult {
  /** logins answered errno 0 */
  done: number;
  /** answers errno 132 (each retried after its retryAfterMs) */
  busy: number;
}

export interface Storm {
  stop(): Promise<StormResult>;
  /** ends it without a result (a phase that failed) */
  kill(): void;
}

export function startStorm(port: number, ids: number[], password: string): Storm {
  const child = fork(fileURLToPath(import.meta.url), [String(port), password, ids.join(',')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // the other machines it stands for take no CPU from the server and the chat load generator
  if (child.pid !== undefined) os.setPriority(child.pid, 19);
  const result = new Promise<StormResult>((resolve, reject) => {
    child.once('message', (m) => resolve(m as StormResult));
    child.once('exit', (code) => reject(new Error(`login storm exited with code ${code} before its result`)));
  });
  return {
    stop() {
      child.send('stop');
      return result;
    },
    kill() {
      result.catch(() => undefined);
      if (child.exitCode === null) child.kill();
    },
  };
}

async function main(): Promise<void> {
  const [port, password, list] = process.argv.slice(2) as [string, string, string];
  const ids = list.split(',').map(Number);
  const conns: BenchConn[] = [];
  const tally: StormResult = { done: 0, busy: 0 };
  let stop = false;
  const stopped = new Promise<void>((resolve) =>
    process.once('message', () => {
      stop = true;
      closeAll(conns);
      resolve();
    }),
  );
  const storm = forEachLimit(ids, ids.length, async (id, k) => {
    const c = await BenchConn.connect(Number(port));
    conns.push(c);
    while (!stop) {
      const r = await c.request({ msgid: 1, v: 2, id, password, cmid: `l-${k}` }, (f) => f.msgid === 2, 120_000).catch(() => null);
      if (r?.errno === 0) return void tally.done++;
      if (!r || r.errno !== Errors.BUSY.errno) return;
      tally.busy++;
      await sleep(r.retryAfterMs as number);
    }
  });
  await stopped;
  await Promise.race([storm, sleep(1000)]);
  await new Promise<void>((resolve) => process.send!(tally, () => resolve()));
}

runIfMain(import.meta.url, main);
