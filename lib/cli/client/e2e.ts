/**
 * The interactive client's end-to-end encryption: the `encrypt` and `fingerprint` commands and
 * the key file they keep (./keys.ts). A user whose key file exists on this machine logs in with
 * it (sealed messages open from the first sync, and the conversations it sealed stay sealed);
 * without one, nothing is made until the first `encrypt`.
 */
import type { ChatClient } from '../../client/client.js';
import { fingerprint, loadIdentity } from '../../client/e2e.js';
import { keyFilePath, openKeyFile, readKeyFile, writeKeyFile, type KeyFile } from './keys.js';

export class ConsoleE2E {
  readonly #dir: string;
  readonly #host: string;
  readonly #port: number;
  #file = '';
  #keys: KeyFile | null = null;
  /** the client the identity was given to (a new one after each loginout) */
  #enabledOn: ChatClient | null = null;

  constructor(dir: string, host: string, port: number) {
    this.#dir = dir;
    this.#host = host;
    this.#port = port;
  }

  /** before a login as `userId`: its key file, if there is one, goes to the client */
  async beforeLogin(client: ChatClient, userId: number): Promise<void> {
    this.#file = keyFilePath(this.#dir, this.#host, this.#port, userId);
    this.#keys = readKeyFile(this.#file);
    this.#enabledOn = null;
    if (this.#keys) await this.#enable(client, this.#keys);
    // (a failed login of another user on this connection may have left that user's identity)
    else await client.enableE2E(null);
  }

  async #enable(client: ChatClient, keys: KeyFile): Promise<void> {
    await client.enableE2E(await loadIdentity(keys.identity));
    for (const conv of keys.sealed) client.setSealed(conv, true);
    this.#enabledOn = client;
  }

  /** seals (on) or stops sealing `conv`; true when this made the device's key (its first use) */
  async encrypt(client: ChatClient, conv: string, on: boolean): Promise<boolean> {
    const { keys, created } = this.#keys ? { keys: this.#keys, created: false } : await openKeyFile(this.#file);
    this.#keys = keys;
    if (this.#enabledOn !== client) await this.#enable(client, keys);
    client.setSealed(conv, on);
    const sealed = new Set(keys.sealed);
    if (on) sealed.add(conv);
    else sealed.delete(conv);
    keys.sealed = [...sealed].sort();
    writeKeyFile(this.#file, keys);
    return created;
  }

  /** this device's id and fingerprint, or null before it has a key */
  async mine(): Promise<{ device: string; fingerprint: string } | null> {
    if (!this.#keys) return null;
    return { device: this.#keys.identity.device, fingerprint: await fingerprint(this.#keys.identity.publicKey) };
  }

  /** the devices `userId` published, with their fingerprints */
  async of(client: ChatClient, userId: number): Promise<Array<{ device: string; fingerprint: string }>> {
    const keys = await client.deviceKeys([userId]);
    return Promise.all(keys.map(async (k) => ({ device: k.device, fingerprint: await fingerprint(k.key) })));
  }

  get file(): string {
    return this.#file;
  }
}
