/**
 * The connection interface: what the core (sessions, delivery) and the handlers need of a
 * client connection, whatever carries it. Send a frame, know its flavour, learn that a write
 * reached the kernel, be closed. lib/server/connection.ts is the TCP and TLS implementation.
 */
import type { Logger } from 'pino';
import type { Session } from './session.js';

export interface Link {
  readonly log: Logger;
  /** a line (info unless told) with the connection's fields (the lines every connection writes: cheaper than `log`) */
  note(fields: object, msg: string, level?: 'info' | 'debug'): void;
  /** the peer's IP address (the login and registration budgets count per address) */
  readonly address: string;
  /** the connection speaks v2 from its first frame carrying "v":2 on; legacy until then */
  v2: boolean;
  /** the transport carries v2 only (a WebSocket): a frame without "v":2 is refused, errno 131 */
  readonly v2only: boolean;
  /** its logged-in session, if any */
  session: Session | null;
  readonly closed: boolean;
  /** queues one frame; `onWritten` runs once its bytes were handed to the kernel */
  send(frame: object, onWritten?: () => void): void;
  /** queues a pushed event serialised once for every session that gets it */
  sendLine(json: string, msgid: number, onWritten?: () => void): void;
  /** writes what is queued, then closes */
  end(): void;
}
