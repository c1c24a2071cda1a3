/**
 * Server processes for the benchmark: bin/chatserver (embedded or cluster) and the baseline
 * relay as child processes on ports they choose (port 0) and report, and what /proc says about them: CPU seconds
 * (utime + stime from /proc/<pid>/stat) and peak RSS (VmHWM from /proc/<pid>/status, reset
 * at the start of each phase through /proc/<pid>/clear_refs, and sampled as a fallback).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { withFdLimit } from './fd-limit.js';
import { ROOT, listeningPorts, waitFor } from './util.js';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcSnapshot {
  /** utime + stime, seconds */
  cpuSec: number;
  /** VmRSS, KiB */
  rssKb: number;
  /** VmHWM, KiB */
  hwmKb: number;
}

export function readProc(pid: number): ProcSnapshot | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15
    const cpuSec = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { cpuSec, rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** resets the process's VmHWM to its current RSS (Linux >= 4.0); false when not allowed */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** pids of processes by exact command name (for the shared MariaDB and Redis: read only) */
export function pidsOf(name: string): number[] {
  try {
    return execFileSync('pidof', [name], { encoding: 'utf8' })
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export interface Usage {
  cpuSec: number;
  /** highest VmHWM (or sampled VmRSS) of any one process, KiB */
  peakRssKb: number;
  /** VmRSS at the end, summed, KiB */
  endRssKb: number;
}

/** CPU and peak memory of some processes over one phase */
export class Meter {
  readonly #pids: number[];
  readonly #start = new Map<number, ProcSnapshot>();
  readonly #peak = new Map<number, number>();
  #timer: NodeJS.Timeout | null = null;

  constructor(pids: number[], opts: { resetPeak?: boolean } = {}) {
    this.#pids = pids;
    for (const pid of pids) {
      if (opts.resetPeak !== false) resetPeak(pid);
      const s = readProc(pid);
      if (s) {
        this.#start.set(pid, s);
        this.#peak.set(pid, s.rssKb);
      }
    }
    this.#timer = setInterval(() => {
      for (const pid of this.#pids) {
        const s = readProc(pid);
        if (s) this.#peak.set(pid, Math.max(this.#peak.get(pid) ?? 0, s.rssKb));
      }
    }, 100);
    this.#timer.unref();
  }

  stop(): Usage {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    let cpuSec = 0;
    let peakRssKb = 0;
    let endRssKb = 0;
    for (const pid of this.#pids) {
      const s = readProc(pid);
      const s0 = this.#start.get(pid);
      if (!s || !s0) continue;
      cpuSec += s.cpuSec - s0.cpuSec;
      peakRssKb = Math.max(peakRssKb, s.hwmKb, this.#peak.get(pid) ?? 0);
      endRssKb += s.rssKb;
    }
    return { cpuSec, peakRssKb, endRssKb };
  }
}

/** this process's own CPU over a phase */
export class SelfMeter {
  readonly #start = process.cpuUsage();
  stop(): number {
    const u = process.cpuUsage(this.#start);
    return (u.user + u.system) / 1e6;
  }
}

export interface ServerProc {
  name: string;
  host: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** the last part of what it wrote (pino JSON lines) */
  logs(): string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  /** flags after `--port N` */
  args?: string[];
  env?: Record<string, string>;
  /** write a V8 CPU profile into this directory when the process exits */
  cpuProfDir?: string | undefined;
  /** preload bench/cheap-scrypt (see that file): for scenarios that log in thousands of users */
  cheapScrypt?: boolean;
  /** extra node flags */
  nodeArgs?: string[];
  /** another build's bin/chatserver (A/B runs of a candidate fix) @default this repository's */
  script?: string | undefined;
  /** descriptors the process may open, when more than this process's limit (bench/fd-limit.ts) */
  nofile?: number | undefined;
}

const LOG_KEEP = 256 * 1024;

/** every server this process started and has not stopped: killed if this process exits first */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** finds the bound port in what a starting process wrote so far, or null */
type PortOf = (logs: string) => number | null;

async function spawnNode(script: string, portOf: PortOf, opts: SpawnOptions): Promise<ServerProc> {
  const nodeArgs = [...(opts.nodeArgs ?? [])];
  if (opts.cheapScrypt) {
    const pre = path.join(ROOT, 'dist/bench/cheap-scrypt.js');
    if (!existsSync(pre)) throw new Error(`${pre} is missing: run npm run build`);
    nodeArgs.push('--import', pathToFileURL(pre).href);
  }
  if (opts.cpuProfDir) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir, '--cpu-prof-name', `${opts.name}.${Date.now()}.cpuprofile`);
  const argv = [...nodeArgs, script, '--port', '0', ...(opts.args ?? [])];
  // Under tap (the smoke test) every spawn gets tap's coverage hooks in NODE_OPTIONS, which
  // cannot load the extensionless ESM bin/chatserver: start it through `env -u NODE_OPTIONS`
  // (env execs node, so the pid is the server's), as test/fixtures/harness.ts does.
  const underTap = process.env.NODE_OPTIONS?.includes('@tapjs') === true;
  const [cmd, args] = withFdLimit(underTap ? 'env' : process.execPath, underTap ? ['-u', 'NODE_OPTIONS', process.execPath, ...argv] : argv, opts.nofile);
  const child = spawn(cmd, args, {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  const keep = (d: Buffer) => {
    logs += d.toString();
    if (logs.length > LOG_KEEP * 2) logs = logs.slice(-LOG_KEEP);
  };
  let port: number | null = null;
  const watch = (d: Buffer) => {
    keep(d);
    port ??= portOf(logs);
  };
  child.stdout!.on('data', watch);
  child.stderr!.on('data', watch);
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  await waitFor(() => port !== null || child.exitCode !== null || child.signalCode !== null, 30_000, () => `${opts.name} did not start: ${logs}`);
  if (port === null) throw new Error(`${opts.name} exited: ${logs}`);
  return {
    name: opts.name,
    host: '127.0.0.1',
    port,
    pid: child.pid!,
    child,
    logs: () => logs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** bin/chatserver on a free port */
export function spawnChatServer(opts: SpawnOptions): Promise<ServerProc> {
  return spawnNode(opts.script ?? path.join(ROOT, 'bin/chatserver'), (logs) => listeningPorts(logs)?.port ?? null, {
    ...opts,
    env: { CHAT_LOG_LEVEL: 'info', ...opts.env },
  });
}

/** the baseline relay (dist/bench/relay.js) on a free port */
export function spawnRelay(opts: Partial<Omit<SpawnOptions, 'cheapScrypt'>> = {}): Promise<ServerProc> {
  const script = path.join(ROOT, 'dist/bench/relay.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build`);
  const portOf = (logs: string) => {
    const m = /relay listening on .*"port":(\d+)/.exec(logs);
    return m ? Number(m[1]) : null;
  };
  return spawnNode(script, portOf, { ...opts, name: opts.name ?? 'relay' });
}

/** busy CPU seconds of the whole machine (all cores) from /proc/stat */
export function machineBusySec(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = v[0]! + v[1]! + v[2]! + v[5]! + v[6]! + v[7]!;
  return busy / CLK_TCK;
}


export interface PhaseUsage {
  wallSec: number;
  /** the servers under test */
  server: Usage;
  /** MariaDB and Redis (cluster runs), CPU seconds */
  servicesCpuSec: number;
  /** this load generator, CPU seconds */
  loadgenCpuSec: number;
  /** everything else on the machine, CPU seconds (other work disturbs the numbers) */
  othersCpuSec: number;
  /** the phase on the monotonic clock V8 CPU profiles use (microseconds) */
  windowUs: [number, number];
  /** names of the profiled servers this phase ran on (prefix of their .cpuprofile files) */
  servers: string[];
  /** cluster: statements MariaDB executed during the phase (server-wide) */
  dbStatements?: number;
}

/** CLOCK_MONOTONIC in microseconds: the clock of V8 CPU profile timestamps */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** CPU and memory of everyone involved in one phase */
export class PhaseMeter {
  readonly #server: Meter;
  readonly #services: Meter;
  readonly #self = new SelfMeter();
  readonly #machine0 = machineBusySec();
  readonly #t0 = performance.now();
  readonly #us0 = monotonicUs();
  readonly #servers: string[];

  constructor(serverPids: number[], servicePids: number[] = [], servers: string[] = []) {
    this.#servers = servers;
    this.#server = new Meter(serverPids);
    this.#services = new Meter(servicePids, { resetPeak: false });
  }

  stop(): PhaseUsage {
    const server = this.#server.stop();
    const services = this.#services.stop();
    const loadgenCpuSec = this.#self.stop();
    const machine = machineBusySec() - this.#machine0;
    return {
      wallSec: (performance.now() - this.#t0) / 1000,
      server,
      servicesCpuSec: services.cpuSec,
      loadgenCpuSec,
      othersCpuSec: Math.max(0, machine - server.cpuSec - services.cpuSec - loadgenCpuSec),
      windowUs: [this.#us0, monotonicUs()],
      servers: this.#servers,
    };
  }
}
