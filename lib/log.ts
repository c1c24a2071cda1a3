/**
 * The pino logger: JSON lines on stderr (stdout stays free for what a user asked to see);
 * readable lines through pino-pretty when stderr is a terminal.
 */
import { pino, type Logger } from 'pino';

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  const opts = { level, base: { pid: process.pid, ...base } };
  if (process.stderr.isTTY) {
    return pino({ ...opts, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'SYS:standard' } } });
  }
  return pino(opts, pino.destination({ dest: 2, sync: false }));
}
