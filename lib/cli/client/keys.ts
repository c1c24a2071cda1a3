/**
 * The console client's device keys for end-to-end encrypted conversations: one file per user
 * and server, `<dir>/device-<host>-<port>-<user>.json`, mode 0600 in a 0700 directory, holding
 * this device's id and X25519 key pair (lib/client/e2e.ts) and the conversations it seals.
 * Made on the first `encrypt` command; a device that loses it is a new device (it cannot read
 * what was sealed for the old one).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newIdentity, type SavedIdentity } from '../../client/e2e.js';

export interface KeyFile {
  identity: SavedIdentity;
  /** conversations this device's sends are sealed in */
  sealed: string[];
}

/** $CHAT_KEYS_DIR, else $XDG_CONFIG_HOME/clusterchat, else ~/.config/clusterchat */
export function defaultKeysDir(): string {
  if (process.env.CHAT_KEYS_DIR) return process.env.CHAT_KEYS_DIR;
  return path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'clusterchat');
}

export function keyFilePath(dir: string, host: string, port: number, userId: number): string {
  return path.join(dir, `device-${host.replace(/[^A-Za-z0-9.-]/g, '_')}-${port}-${userId}.json`);
}

function isKeyFile(v: unknown): v is KeyFile {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Partial<KeyFile>;
  const id = f.identity as Partial<SavedIdentity> | undefined;
  return (
    typeof id?.device === 'string' &&
    typeof id.publicKey === 'string' &&
    typeof id.privateKey === 'string' &&
    Array.isArray(f.sealed) &&
    f.sealed.every((c) => typeof c === 'string')
  );
}

/** the file's keys, or null when there is no file yet; throws on a file that is not one */
export function readKeyFile(file: string): KeyFile | null {
  if (!existsSync(file)) return null;
  const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isKeyFile(v)) throw new Error(`${file} is not a chatclient key file`);
  return v;
}

/** writes it whole (a new file renamed over the old), readable by its owner only */
export function writeKeyFile(file: string, keys: KeyFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** the file's keys, made (a new device) when there is no file yet */
export async function openKeyFile(file: string): Promise<{ keys: KeyFile; created: boolean }> {
  const keys = readKeyFile(file);
  if (keys) return { keys, created: false };
  const made: KeyFile = { identity: await newIdentity(), sealed: [] };
  writeKeyFile(file, made);
  return { keys: made, created: true };
}
