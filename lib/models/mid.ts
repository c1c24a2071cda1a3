/**
 * Server message ids: a random 8-character prefix per process and a base-36 counter, globally
 * unique without coordination. Two mids of one process also tell which message came first.
 */
import { randomBytes } from 'node:crypto';

const PREFIX_LENGTH = 8;

export function midPrefix(): string {
  return randomBytes(6).toString('base64url'); // 8 characters
}

export function makeMid(prefix: string, counter: number): string {
  return `${prefix}${counter.toString(36)}`;
}

/** <0 when `a` was made before `b` by the same process; 0 when that cannot be told */
export function compareMids(a: string, b: string): number {
  if (a.slice(0, PREFIX_LENGTH) !== b.slice(0, PREFIX_LENGTH)) return 0;
  return parseInt(a.slice(PREFIX_LENGTH), 36) - parseInt(b.slice(PREFIX_LENGTH), 36);
}
