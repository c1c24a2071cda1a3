/** The pino logger: JSON lines on stderr (stdout stays free for what a user asked to see). */
import { pino, type Logger } from 'pino';

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...base } }, pino.destination({ dest: 2, sync: false }));
}
