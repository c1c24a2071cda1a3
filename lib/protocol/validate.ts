/**
 * Field readers for incoming frames. Each throws ChatError('BAD_FIELD', <field>) on a missing
 * or wrong-typed value, so handlers read typed values in one line and the dispatcher answers.
 */
import { ChatError } from '../errors.js';
import { MAX_TTL_S } from './defaults.js';

export type Frame = Record<string, unknown>;

export function parseFrame(text: string): Frame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ChatError('BAD_JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ChatError('NOT_OBJECT');
  return value as Frame;
}

function own(frame: Frame, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(frame, key) ? frame[key] : undefined;
}

/** a positive safe integer id */
export function id(frame: Frame, key: string): number {
  const v = own(frame, key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new ChatError('BAD_FIELD', key);
  return v;
}

/** a non-negative safe integer, or `fallback` when absent */
export function count(frame: Frame, key: string, fallback?: number): number {
  const v = own(frame, key);
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ChatError('BAD_FIELD', key);
  return v;
}

/**
 * a lifetime in seconds from `min` to MAX_TTL_S: a non-integer is errno 103, an integer out of
 * range errno 133
 */
export function ttl(frame: Frame, key: string, min: number): number {
  const v = own(frame, key);
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ChatError('BAD_FIELD', key);
  if (v < min || v > MAX_TTL_S) throw new ChatError('BAD_TTL', `${key} must be from ${min} to ${MAX_TTL_S} seconds`);
  return v;
}

export function optionalCount(frame: Frame, key: string): number | undefined {
  return own(frame, key) === undefined ? undefined : count(frame, key);
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A string field. JSON may carry a lone surrogate (`"\ud800"`), which no UTF-8 store can keep:
 * it becomes U+FFFD here, so what is pushed, stored and synced is the same text.
 */
export function text(frame: Frame, key: string, opts: { max: number; min?: number }): string {
  const v = own(frame, key);
  if (typeof v !== 'string' || v.length < (opts.min ?? 0)) throw new ChatError('BAD_FIELD', key);
  // limits count characters (code points); only a string longer in UTF-16 units needs counting
  if (v.length > opts.max && codePoints(v) > opts.max) throw new ChatError(key === 'msg' ? 'TEXT_TOO_LONG' : 'BAD_FIELD', key);
  return v.replace(LONE_SURROGATE, '\ufffd');
}

export function optionalText(frame: Frame, key: string, opts: { max: number }): string | undefined {
  return own(frame, key) === undefined ? undefined : text(frame, key, opts);
}

/** `cmid`: the client's message id, at most 64 characters */
export function cmid(frame: Frame, required: boolean): string | null {
  const v = own(frame, 'cmid');
  if (v === undefined && !required) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > 64) throw new ChatError('BAD_FIELD', 'cmid');
  return v;
}

/** the msgid a frame carries, or null when it has none usable */
export function msgidOf(frame: Frame): number | null {
  const v = own(frame, 'msgid');
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
}

/** `cmid` echoed in replies when the frame carried a usable one */
export function echoCmid(frame: Frame): string | undefined {
  const v = own(frame, 'cmid');
  return typeof v === 'string' && v.length > 0 && v.length <= 64 ? v : undefined;
}
