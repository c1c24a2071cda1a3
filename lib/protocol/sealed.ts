/**
 * End-to-end encrypted messages as the server sees them: a device key's form (KEY_PUBLISH_MSG)
 * and a send's `e2e` envelope, checked and kept in a canonical form. The server never holds a
 * key that decrypts anything; it stores the envelope as the chat event's text behind
 * SEALED_PREFIX (so recall, expiry and retention erase it like any text) and hands it back
 * to v2 clients as `e2e`. docs/PROTOCOL.md ("End-to-end encrypted messages") is the reference.
 * Clients use the same definitions (lib/client/e2e.ts); nothing here needs Node.
 */
import { ChatError } from '../errors.js';

/** X25519 ECDH, HKDF-SHA256, AES-256-GCM: the one algorithm an envelope names */
export const E2E_ALG = 'x25519-hkdf-sha256-aes-256-gcm';

/** device keys kept per user: a publish past it drops the least recently published */
export const MAX_DEVICE_KEYS = 16;

/** copies (recipient devices) one envelope may carry */
export const MAX_ENVELOPE_COPIES = 256;

/** users one KEY_FETCH_MSG may name */
export const MAX_KEY_FETCH_USERS = 256;

/** a device id: chosen by the device, 8 to 64 of A-Z a-z 0-9 _ - */
const DEVICE_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** a raw X25519 public key: 32 bytes in standard base64 */
const PUBLIC_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** a 96-bit AES-GCM IV in standard base64 */
const IV = /^[A-Za-z0-9+/]{16}$/;

/** standard base64 with padding */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** the smallest ciphertext: an empty text's 16-byte GCM tag, in base64 */
const MIN_CT_CHARS = 24;

/** the stored text of a sealed message starts with this; a plain `msg` may not */
export const SEALED_PREFIX = '\u0001e2e:';

/** what a legacy client reads, once per conversation, in place of sealed messages */
export const SEALED_TEXT = '[this conversation is end-to-end encrypted: this client cannot read its messages]';

/** one recipient device's copy */
export interface SealedCopy {
  user: number;
  device: string;
  /** base64, 12 bytes */
  iv: string;
  /** base64: AES-256-GCM ciphertext with its 16-byte tag appended */
  ct: string;
}

export interface Envelope {
  alg: typeof E2E_ALG;
  /** the sending device */
  from: string;
  to: SealedCopy[];
}

export interface DeviceKey {
  /** the user (`id` on the wire) */
  userId: number;
  device: string;
  /** raw X25519 public key, base64 */
  key: string;
}

export function isDeviceId(v: unknown): v is string {
  return typeof v === 'string' && DEVICE_ID.test(v);
}

export function isPublicKey(v: unknown): v is string {
  return typeof v === 'string' && PUBLIC_KEY.test(v);
}

export function isUserId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `v` as a canonical envelope (its documented fields only), or why it is not one */
export function checkEnvelope(v: unknown): Envelope | string {
  if (!isRecord(v)) return 'e2e is not an object';
  if (v.alg !== E2E_ALG) return `alg must be "${E2E_ALG}"`;
  if (!isDeviceId(v.from)) return 'from is not a device id';
  if (!Array.isArray(v.to) || v.to.length === 0 || v.to.length > MAX_ENVELOPE_COPIES) return `to must hold 1 to ${MAX_ENVELOPE_COPIES} copies`;
  const seen = new Set<string>();
  const to: SealedCopy[] = [];
  for (const c of v.to as unknown[]) {
    if (!isRecord(c)) return 'a copy is not an object';
    const { user, device, iv, ct } = c;
    if (!isUserId(user) || !isDeviceId(device)) return 'a copy has no valid user and device';
    if (typeof iv !== 'string' || !IV.test(iv)) return 'a copy has no valid iv';
    if (typeof ct !== 'string' || ct.length < MIN_CT_CHARS || !BASE64.test(ct)) return 'a copy has no valid ct';
    const who = `${user}/${device}`;
    if (seen.has(who)) return `two copies for ${who}`;
    seen.add(who);
    to.push({ user, device, iv, ct });
  }
  return { alg: E2E_ALG, from: v.from, to };
}

/** reads a send's `e2e` (throws BAD_ENVELOPE) */
export function readEnvelope(v: unknown): Envelope {
  const env = checkEnvelope(v);
  if (typeof env === 'string') throw new ChatError('BAD_ENVELOPE', env);
  return env;
}

/** the stored text of a sealed message */
export function sealedText(env: Envelope): string {
  return SEALED_PREFIX + JSON.stringify(env);
}

export function isSealed(text: string): boolean {
  return text.startsWith(SEALED_PREFIX);
}

/** the envelope a stored text holds (the server wrote it, so it parses) */
export function envelopeOf(text: string): Envelope {
  return JSON.parse(text.slice(SEALED_PREFIX.length)) as Envelope;
}
