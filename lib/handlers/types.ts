import type { ChatError } from '../errors.js';
import type { Frame } from '../protocol/validate.js';
import type { Link } from '../core/link.js';
import type { Hub } from '../core/hub.js';

export interface Handler {
  /** the msgid it answers */
  msgid: number;
  /** needs a logged-in session */
  auth: boolean;
  /** exists only for v2 connections (legacy connections never see new message types) */
  v2only: boolean;
  /**
   * Validates and acts. Runs in order per connection: a handler that commits submits to the
   * batcher before it returns and replies when the commit lands, without holding up the next
   * frame.
   */
  handle(hub: Hub, conn: Link, frame: Frame): Promise<void>;
  /**
   * Answers a failure in the handler's own ACK (REG, LOGIN, RECALL); without it the failure
   * becomes the generic error reply.
   */
  fail?(conn: Link, frame: Frame, err: ChatError): void;
}
