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
  const dest = pino.destination({ dest: 2, sync: false });
  // a reader of our stderr that went away (EPIPE) must not stop the server, nor its shutdown
  dest.on('error', () => undefined);
  return pino(opts, dest);
}
