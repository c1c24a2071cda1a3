/**
 * End-to-end encryption for the client, with WebCrypto only (`crypto.subtle`: Node 20 and the
 * browser alike, X25519 included), so the console client and the browser client share it.
 * Each device has an X25519 key pair. A message is sealed once per recipient device (the
 * conversation's members' devices and the sender's own): AES-256-GCM under a key derived by
 * HKDF-SHA256 from the X25519 secret of the sender's and the recipient's device keys, the info
 * naming the conversation, the sending device and the receiving device, with a random 96-bit IV.
 * docs/PROTOCOL.md ("End-to-end encrypted messages") is the reference.
 */
import { E2E_ALG, type DeviceKey, type Envelope, type SealedCopy } from '../protocol/sealed.js';
import { randomId } from './wire.js';

export type { DeviceKey, Envelope };

/** a device's identity as it is kept between runs (a file, browser storage): strings only */
export interface SavedIdentity {
  device: string;
  /** raw X25519 public key, base64 */
  publicKey: string;
  /** PKCS #8 X25519 private key, base64 */
  privateKey: string;
}

/** a device's identity in use */
export interface DeviceIdentity {
  device: string;
  publicKey: string;
  privateKey: CryptoKey;
}

const X25519 = { name: 'X25519' } as const;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function subtle(): SubtleCrypto {
  return globalThis.crypto.subtle;
}

/** a new device: a fresh key pair and a random device id */
export async function newIdentity(): Promise<SavedIdentity> {
  const pair = (await subtle().generateKey(X25519, true, ['deriveBits'])) as CryptoKeyPair;
  const [pub, priv] = await Promise.all([subtle().exportKey('raw', pair.publicKey), subtle().exportKey('pkcs8', pair.privateKey)]);
  return { device: `d${randomId()}${randomId()}`.slice(0, 24), publicKey: toBase64(new Uint8Array(pub)), privateKey: toBase64(new Uint8Array(priv)) };
}

export async function loadIdentity(saved: SavedIdentity): Promise<DeviceIdentity> {
  const privateKey = await subtle().importKey('pkcs8', fromBase64(saved.privateKey), X25519, false, ['deriveBits']);
  return { device: saved.device, publicKey: saved.publicKey, privateKey };
}

/** what users compare to verify a device key: SHA-256 of the raw key, first 16 bytes, in groups of 4 hex digits */
export async function fingerprint(publicKey: string): Promise<string> {
  const hash = new Uint8Array(await subtle().digest('SHA-256', fromBase64(publicKey)));
  const hex = [...hash.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return hex.match(/.{4}/g)!.join(' ');
}

/** the HKDF info of one copy: which conversation, from which device to which */
function info(conv: string, fromUser: number, fromDevice: string, toUser: number, toDevice: string): string {
  return `clusterchat-e2e-v1\n${conv}\n${fromUser}/${fromDevice}\n${toUser}/${toDevice}`;
}

/** derived AES keys kept; past it the cache starts over */
const MAX_CACHED_KEYS = 4096;

/**
 * Seals and opens messages for one device. The AES key of each (conversation, sender device,
 * recipient device) is derived once and kept.
 */
export class Sealer {
  readonly #me: DeviceIdentity;
  readonly #userId: number;
  readonly #keys = new Map<string, Promise<CryptoKey>>();

  constructor(me: DeviceIdentity, userId: number) {
    this.#me = me;
    this.#userId = userId;
  }

  get device(): string {
    return this.#me.device;
  }

  #aesKey(peerKey: string, kdfInfo: string): Promise<CryptoKey> {
    const id = `${peerKey}\n${kdfInfo}`;
    let key = this.#keys.get(id);
    if (!key) {
      if (this.#keys.size >= MAX_CACHED_KEYS) this.#keys.clear();
      key = (async () => {
        const pub = await subtle().importKey('raw', fromBase64(peerKey), X25519, false, []);
        const secret = await subtle().deriveBits({ name: 'X25519', public: pub }, this.#me.privateKey, 256);
        const ikm = await subtle().importKey('raw', secret, 'HKDF', false, ['deriveKey']);
        return subtle().deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode(kdfInfo) },
          ikm,
          { name: 'AES-GCM', length: 256 },
          false,
          ['encrypt', 'decrypt'],
        );
      })();
      // a failure (a bad key) is not kept
      key.catch(() => this.#keys.delete(id));
      this.#keys.set(id, key);
    }
    return key;
  }

  /** one copy of `text` for each of `recipients` (which include this device's own key when it wants to read its history) */
  async seal(conv: string, text: string, recipients: DeviceKey[]): Promise<Envelope> {
    const plain = enc.encode(text);
    const to = await Promise.all(
      recipients.map(async (r): Promise<SealedCopy> => {
        const key = await this.#aesKey(r.key, info(conv, this.#userId, this.#me.device, r.userId, r.device));
        const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
        const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv }, key, plain));
        return { user: r.userId, device: r.device, iv: toBase64(iv), ct: toBase64(ct) };
      }),
    );
    return { alg: E2E_ALG, from: this.#me.device, to };
  }

  /** this device's copy of the envelope (null: there is none for it) */
  copyFor(env: Envelope): SealedCopy | null {
    return env.to.find((c) => c.user === this.#userId && c.device === this.#me.device) ?? null;
  }

  /**
   * opens this device's copy of a message `fromUser` sent from `env.from`, whose key is
   * `senderKey`; throws when it does not open (tampered, or sealed with another key)
   */
  async open(conv: string, env: Envelope, fromUser: number, senderKey: string, copy: SealedCopy): Promise<string> {
    if (env.alg !== E2E_ALG) throw new Error(`unknown alg ${String(env.alg)}`);
    const key = await this.#aesKey(senderKey, info(conv, fromUser, env.from, this.#userId, this.#me.device));
    const plain = await subtle().decrypt({ name: 'AES-GCM', iv: fromBase64(copy.iv) }, key, fromBase64(copy.ct));
    return dec.decode(plain);
  }
}
