/**
 * The pino logger: JSON lines on stderr (stdout stays free for what a user asked to see);
 * readable lines through pino-pretty when stderr is a terminal.
 */
import { pino, type Logger } from 'pino';

/** what --log-level accepts: pino's levels, most severe first, and `silent` (no lines at all) */
export const LOG_LEVELS: readonly string[] = [
  ...Object.entries(pino.levels.values)
    .sort((a, b) => b[1] - a[1])
    .map(([name]) => name),
  'silent',
];

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  const opts = { level, base: { pid: process.pid, ...base } };
  if (process.stderr.isTTY) {
    return pino({ ...opts, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:standard' } } });
  }
  // Synchronous writes, as pino's default destination: an asynchronous one is flushed at exit by
  // sonic-boom's flushSync, which retries a failed write forever, so a reader that went away
  // (EPIPE: `chatserver 2>&1 | head`) made a SIGTERM'd server hang at exit. A sync write fails
  // at once, and pino then drops further lines.
  const dest = pino.destination({ dest: 2, sync: true });
  dest.on('error', () => undefined);
  return pino(opts, dest);
}
