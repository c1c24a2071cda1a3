/**
 * A load-generator process for scenario 5 (bench/conn-pool.ts starts several): it holds its
 * share of the idle connections, so no one process needs more descriptors than its limit and
 * the clients' work is spread over processes. Its sockets bind to the loopback source addresses
 * it is given in turn (127.0.0.2, 127.0.0.3, ...): one address has one ephemeral port range
 * (~28k ports), 100,000 connections to one server port need several.
 *
 * Driven over the IPC channel: `login` (password or token per user), `heartbeat` (a v2 PING
 * per connection every `everyMs`, spread evenly, as lib/client pings), `count`, `close`.
 */
import { performance } from 'node:perf_hooks';
import { BenchConn, forEachLimit, loginRetrying } from './conn.js';

export interface LoginJob {
  op: 'login';
  host: string;
  port: number;
  ids: number[];
  /** a password for everyone, or one resume token per id */
  password?: string;
  tokens?: string[];
  v2: boolean;
  localAddresses: string[];
  parallel: number;
}

export type WorkerCommand = LoginJob | { op: 'heartbeat'; everyMs: number } | { op: 'count' } | { op: 'close' };

export type WorkerReply =
  | { op: 'login'; ms: number; ok: number; failed: number; firstError: string; tokens: string[] }
  | { op: 'heartbeat' }
  | { op: 'count'; alive: number; pongs: number }
  | { op: 'close' };

const conns: BenchConn[] = [];
let pinger: NodeJS.Timeout | null = null;
let pongs = 0;
const TICK_MS = 100;

async function login(job: LoginJob): Promise<WorkerReply> {
  const tokens = new Array<string>(job.ids.length).fill('');
  let failed = 0;
  let firstError = '';
  const base = conns.length;
  const t0 = performance.now();
  await forEachLimit(job.ids, job.parallel, async (id, k) => {
    try {
      const c = await BenchConn.connect(job.port, job.host, job.localAddresses[k % job.localAddresses.length]);
      conns[base + k] = c;
      c.onPush = (f) => {
        if (f.msgid === 29) pongs++;
      };
      const r = job.tokens ? await c.resume(id, job.tokens[k]!) : await loginRetrying(c, id, job.password!, job.v2);
      if (typeof r.token === 'string') tokens[k] = r.token;
    } catch (err) {
      failed++;
      firstError ||= String(err);
    }
  });
  const ms = performance.now() - t0;
  return { op: 'login', ms, ok: job.ids.length - failed, failed, firstError, tokens };
}

/** every connection pings once per `everyMs`: each tick pings the next slice */
function heartbeat(everyMs: number): void {
  if (pinger) clearInterval(pinger);
  pinger = null;
  if (everyMs <= 0) return;
  const slices = Math.max(1, Math.round(everyMs / TICK_MS));
  let tick = 0;
  pinger = setInterval(() => {
    const slice = tick++ % slices;
    for (let i = slice; i < conns.length; i += slices) {
      const c = conns[i];
      if (c && c.v2 && !c.closed) c.send({ msgid: 28, v: 2 });
    }
  }, TICK_MS);
}

async function handle(cmd: WorkerCommand): Promise<WorkerReply> {
  switch (cmd.op) {
    case 'login':
      return login(cmd);
    case 'heartbeat':
      heartbeat(cmd.everyMs);
      return { op: 'heartbeat' };
    case 'count':
      return { op: 'count', alive: conns.filter((c) => c && !c.closed).length, pongs };
    case 'close':
      heartbeat(0);
      for (const c of conns.splice(0)) c?.close();
      return { op: 'close' };
  }
}

process.on('message', (cmd: WorkerCommand) => {
  void handle(cmd).then((reply) => process.send!(reply));
});
process.on('disconnect', () => process.exit(0));
