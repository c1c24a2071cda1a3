/**
 * The client's end-to-end state for one login (ClientCore uses it): this device's Sealer and
 * the key directory's answers it keeps to open what others sealed. A send fetches the conversation's device keys each time, so a device its
 * members added since is among the recipients.
 */
import { MsgId } from '../protocol/msgid.js';
import { checkEnvelope, MAX_ENVELOPE_COPIES, type DeviceKey } from '../protocol/sealed.js';
import { Sealer, type DeviceIdentity, type Envelope } from './e2e.js';
import type { WireFrame } from './wire.js';

/** how an end-to-end encrypted message came out on this device */
export type SealedState =
  /** opened: the event's text is the plaintext */
  | 'ok'
  /** the envelope holds no copy for this device (sealed before it published its key, or end-to-end encryption is off here) */
  | 'no-copy'
  /** this device's copy did not open: tampered with, or sealed under a key that is not the sender device's */
  | 'failed';

/** a sealed send no other member could read: none of them has a published device key */
export class NoDeviceKeyError extends Error {
  constructor(readonly users: number[]) {
    super(`no published device key for user${users.length > 1 ? 's' : ''} ${users.join(', ')}: they could not read it`);
    this.name = 'NoDeviceKeyError';
  }
}

export type Request = (frame: WireFrame) => Promise<WireFrame>;

/** the keys of a KEY_FETCH_ACK */
export function keysOf(r: WireFrame): DeviceKey[] {
  const keys = Array.isArray(r.keys) ? (r.keys as WireFrame[]) : [];
  return keys.map((k) => ({ userId: k.id as number, device: k.device as string, key: k.key as string }));
}

export class E2E {
  readonly #request: Request;
  readonly #identity: DeviceIdentity;
  readonly #sealer: Sealer;
  readonly #userId: number;
  /** user -> device -> key, as the directory last said */
  readonly #known = new Map<number, Map<string, string>>();

  constructor(identity: DeviceIdentity, userId: number, request: Request) {
    this.#identity = identity;
    this.#userId = userId;
    this.#request = request;
    this.#sealer = new Sealer(identity, userId);
  }

  get device(): string {
    return this.#identity.device;
  }

  get publicKey(): string {
    return this.#identity.publicKey;
  }

  get userId(): number {
    return this.#userId;
  }

  /** publishes this device's key (at enable and at each resume: the directory keeps the most recent) */
  async publish(): Promise<void> {
    await this.#request({ msgid: MsgId.KEY_PUBLISH_MSG, device: this.#identity.device, key: this.#identity.publicKey });
  }

  /** the device keys of some users, or of a conversation's current members (and who they are) */
  async fetch(what: { ids: number[] } | { conv: string }): Promise<{ keys: DeviceKey[]; users: number[] }> {
    const r = await this.#request({ msgid: MsgId.KEY_FETCH_MSG, ...what });
    const keys = keysOf(r);
    const users = 'ids' in what ? what.ids : Array.isArray(r.members) ? (r.members as number[]) : [];
    for (const u of users) this.#known.set(u, new Map());
    for (const k of keys) {
      let devices = this.#known.get(k.userId);
      if (!devices) this.#known.set(k.userId, (devices = new Map()));
      devices.set(k.device, k.key);
    }
    return { keys, users };
  }

  /**
   * `text` sealed for every device of the conversation's current members, this one's included,
   * and the members who have no device key (they cannot read it); refused when no other
   * member could read it
   */
  async seal(conv: string, text: string): Promise<{ env: Envelope; keyless: number[] }> {
    const { keys, users } = await this.fetch({ conv });
    const others = users.filter((u) => u !== this.#userId);
    const keyless = others.filter((u) => !keys.some((k) => k.userId === u));
    if (others.length > 0 && keyless.length === others.length) throw new NoDeviceKeyError(keyless);
    const mine = keys.some((k) => k.userId === this.#userId && k.device === this.#identity.device);
    const to = mine ? keys : [...keys, { userId: this.#userId, device: this.#identity.device, key: this.#identity.publicKey }];
    if (to.length > MAX_ENVELOPE_COPIES) throw new Error(`the conversation has ${to.length} devices; a sealed message reaches at most ${MAX_ENVELOPE_COPIES}`);
    return { env: await this.#sealer.seal(conv, text, to), keyless };
  }

  /** opens a pushed or synced frame's `e2e`: the plaintext, or why not */
  async open(f: WireFrame): Promise<{ state: SealedState; text: string }> {
    const env = checkEnvelope(f.e2e);
    if (typeof env === 'string') return { state: 'failed', text: '' };
    const copy = this.#sealer.copyFor(env);
    if (!copy) return { state: 'no-copy', text: '' };
    const conv = f.conv as string;
    const from = f.id as number;
    const tryKey = async (key: string | undefined): Promise<string | null> => {
      if (key === undefined) return null;
      try {
        return await this.#sealer.open(conv, env, from, key, copy);
      } catch {
        return null;
      }
    };
    const cached = this.#known.get(from)?.get(env.from);
    let text = await tryKey(cached);
    if (text === null) {
      // a sender device not known yet, or one whose key changed since: ask the directory once
      await this.fetch({ ids: [from] });
      const fresh = this.#known.get(from)?.get(env.from);
      if (fresh !== cached) text = await tryKey(fresh);
    }
    return text === null ? { state: 'failed', text: '' } : { state: 'ok', text };
  }
}
