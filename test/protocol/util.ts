/**
 * Small helpers shared by the protocol and server tests (not a test file itself: tap only
 * runs `*.test.ts`). Everything that opens something goes through the harness, which
 * registers the teardown.
 */
import type { Test } from 'tap';
import { delay as sleep, LineClient, login, register, type Json } from '../fixtures/harness.js';

/** the exact text of every complete line the client has received (a second listener on its socket) */
export interface RawLines {
  /** every complete line so far, in arrival order */
  all(): string[];
  /** the first complete line whose parsed object matches `pred`, waiting for it */
  find(pred: (f: Json) => boolean, ms?: number): Promise<string>;
}

export function captureRaw(c: LineClient): RawLines {
  let buf = '';
  const lines: string[] = [];
  // LineClient set the encoding to utf8, so chunks are strings
  c.socket.on('data', (d: string | Buffer) => {
    buf += typeof d === 'string' ? d : d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) !== -1) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return {
    all: () => [...lines],
    async find(pred, ms = 20_000) {
      const until = Date.now() + ms;
      for (;;) {
        for (const l of lines) {
          let f: unknown;
          try {
            f = JSON.parse(l);
          } catch {
            continue;
          }
          if (typeof f === 'object' && f !== null && pred(f as Json)) return l;
        }
        if (Date.now() > until) throw new Error(`timed out waiting for a raw line; got ${JSON.stringify(lines)}`);
        await sleep(5);
      }
    },
  };
}

export { barrier, delay as sleep } from '../fixtures/harness.js';

/** a connected client that registered `name` and logged in; returns the client, id and login ack */
export async function user(
  t: Test,
  port: number,
  name: string,
  opts: { v2?: boolean; password?: string } = {},
): Promise<{ c: LineClient; id: number; ack: Json }> {
  const c = await LineClient.connect(t, port);
  const v2 = opts.v2 ?? false;
  const id = await register(c, name, opts.password ?? 'secret', v2);
  const ack = await login(c, id, opts.password ?? 'secret', v2);
  if (ack.errno !== 0) throw new Error(`login ${name}: ${JSON.stringify(ack)}`);
  return { c, id, ack };
}

/** registers without logging in (on a short-lived connection of its own) */
export async function registerOnly(t: Test, port: number, name: string, password = 'secret'): Promise<number> {
  const c = await LineClient.connect(t, port);
  const id = await register(c, name, password);
  c.close();
  return id;
}

/** a connected client logged in as an existing user */
export async function loginAs(t: Test, port: number, id: number, opts: { v2?: boolean; password?: string } = {}): Promise<{ c: LineClient; ack: Json }> {
  const c = await LineClient.connect(t, port);
  const ack = await login(c, id, opts.password ?? 'secret', opts.v2 ?? false);
  return { c, ack };
}

let cmidN = 0;
export function newCmid(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${++cmidN}`;
}

/** v2 send: ONE_CHAT with a fresh cmid; resolves the CHAT_ACK (msgid 12) */
export async function sendV2(c: LineClient, frame: Json): Promise<Json> {
  const cmid = (frame.cmid as string | undefined) ?? newCmid();
  c.send({ v: 2, ...frame, cmid });
  return c.next((f) => (f.msgid === 12 || f.msgid === 11) && f.cmid === cmid);
}

/** v2 request answered by REQ_ACK (13) or ERROR_MSG (11), matched by cmid */
export async function requestV2(c: LineClient, frame: Json): Promise<Json> {
  const cmid = newCmid('r');
  c.send({ v: 2, ...frame, cmid });
  return c.next((f) => (f.msgid === 13 || f.msgid === 11) && f.cmid === cmid);
}

/** the legacy lists (arrays of JSON strings) parsed */
export function parseList(v: unknown): Json[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`not an array: ${JSON.stringify(v)}`);
  return v.map((s) => {
    if (typeof s !== 'string') throw new Error(`not a JSON string: ${JSON.stringify(s)}`);
    return JSON.parse(s) as Json;
  });
}

/** true when the object's own keys are in sorted (byte) order, as nlohmann::json dumps them */
export function sortedKeys(o: object): boolean {
  const keys = Object.keys(o);
  return keys.every((k, i) => i === 0 || keys[i - 1]! < k);
}

/** pages through SYNC_MSG (15) after `after` until `more` is false; returns every event */
export async function syncAll(c: LineClient, conv: string, limit = 100, after = 0): Promise<{ events: Json[]; pages: Json[] }> {
  const events: Json[] = [];
  const pages: Json[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const cmid = newCmid('sync');
    c.send({ msgid: 15, v: 2, conv, after, limit, cmid });
    const page = await c.next((f) => (f.msgid === 16 || f.msgid === 11) && f.cmid === cmid);
    if (page.msgid !== 16) throw new Error(`sync failed: ${JSON.stringify(page)}`);
    pages.push(page);
    const evs = page.events as Json[];
    events.push(...evs);
    if (!page.more) break;
    if (evs.length === 0) throw new Error(`sync: more without events: ${JSON.stringify(page)}`);
    after = evs[evs.length - 1]!.msgSeq as number;
  }
  return { events, pages };
}

export const LEGACY_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/**
 * Server options for tests that make many failed logins on purpose (from one address): the
 * login attempt budgets would otherwise refuse the later ones.
 */
export const NO_LOGIN_LIMITS = { loginAttemptsPerAccountAddress: 0, loginAttemptsPerAddress: 0, loginAttemptsPerAccount: 0 } as const;
