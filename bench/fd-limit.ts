/**
 * Descriptor limits for scenario 5: a process holding N connections needs N descriptors and a
 * few hundred more. The soft limit (`ulimit -n`) can be raised up to the hard one by anyone;
 * past the hard one only with CAP_SYS_RESOURCE (root on a host; often not in a container). A
 * child gets its limit through prlimit(1), which then execs it (same pid).
 */
import { execFileSync } from 'node:child_process';

function shellLimit(flag: '-n' | '-Hn'): number {
  try {
    const v = execFileSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim();
    return v === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(v) || 1024;
  } catch {
    return 1024;
  }
}

/** the file-descriptor limit this process (and its children) run with */
export function fdLimit(): number {
  return shellLimit('-n');
}

let prlimitWorks: Map<number, boolean> | null = null;

/** whether prlimit may give a child `n` descriptors */
function canGrant(n: number): boolean {
  prlimitWorks ??= new Map();
  let ok = prlimitWorks.get(n);
  if (ok === undefined) {
    try {
      execFileSync('prlimit', [`--nofile=${n}:${n}`, '--', 'true'], { stdio: 'ignore' });
      ok = true;
    } catch {
      ok = false;
    }
    prlimitWorks.set(n, ok);
  }
  return ok;
}

/** the most descriptors a child can get, up to `want`: `want` when prlimit may set it, else the hard limit */
export function grantableFdLimit(want: number): number {
  if (want <= fdLimit()) return want;
  if (canGrant(want)) return want;
  const hard = shellLimit('-Hn');
  return Math.min(want, canGrant(hard) ? hard : fdLimit());
}

/** `cmd args` run with a limit of `nofile` descriptors (through prlimit), or as is when the current limit suffices */
export function withFdLimit(cmd: string, args: string[], nofile: number | undefined): [string, string[]] {
  if (nofile === undefined || nofile <= fdLimit()) return [cmd, args];
  return ['prlimit', [`--nofile=${nofile}:${nofile}`, '--', cmd, ...args]];
}
