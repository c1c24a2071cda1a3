/**
 * Helpers of the ordering and reliability tests (not a test file: tap runs `*.test.ts` only).
 * Everything that opens something registers its own teardown.
 */
import net from 'node:net';
import type Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import type { Test } from 'tap';
import { ChatClient, type ChatEvent, type ClientOptions } from '../../lib/client/client.js';
import { WireConnection, type WireFrame } from '../../lib/client/connection.js';
import { LineClient, login, register, waitFor, type Json } from '../fixtures/harness.js';

export const PW = 'secret';

let counter = 0;
/** a fresh client message id */
export function newCmid(prefix = 'o'): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** msgids that answer a request (never pushes) */
const REPLIES = new Set([2, 5, 11, 12, 13, 16, 19, 25, 27, 29]);

/** a v2 request on a raw connection, answered by the reply that echoes its cmid */
export async function reqV2(c: LineClient, frame: Json, ms = 20_000): Promise<Json> {
  const cmid = typeof frame.cmid === 'string' ? frame.cmid : newCmid('r');
  c.send({ ...frame, v: 2, cmid });
  return c.next((f) => REPLIES.has(f.msgid as number) && f.cmid === cmid, ms);
}

/**
 * Proves every frame sent before it was handled (a connection's frames run in order): legacy
 * sends an invalid REG (answered at once, no hashing), v2 a PING.
 */
export async function barrier(c: LineClient, v2 = false): Promise<void> {
  if (v2) {
    await reqV2(c, { msgid: 28 });
    return;
  }
  const tag = newCmid('barrier');
  c.send({ msgid: 4, password: tag });
  await c.next((f) => f.msgid === 5 && f.errno === 1, 10_000);
}

/** registers `name` on a short-lived legacy connection and returns the id */
export async function registerUser(t: Test, port: number, name: string): Promise<number> {
  const c = await LineClient.connect(t, port);
  try {
    return await register(c, name, PW);
  } finally {
    c.close();
  }
}

/** a raw connection logged in as `id` (legacy, or v2 with `v2: true`); throws on a refusal */
export async function rawLogin(t: Test, port: number, id: number, v2 = false, token?: string): Promise<{ c: LineClient; ack: Json }> {
  const c = await LineClient.connect(t, port);
  let ack: Json;
  if (token !== undefined) {
    c.send({ msgid: 1, v: 2, id, password: PW, token });
    ack = await c.msg(2);
  } else {
    ack = await login(c, id, PW, v2);
  }
  if (ack.errno !== 0) throw new Error(`login ${id}: ${JSON.stringify(ack)}`);
  return { c, ack };
}

/** a ChatClient closed at teardown; its background errors are collected, not thrown */
export async function chatClient(t: Test, port: number, opts: Partial<ClientOptions> = {}): Promise<ChatClient & { errors: Error[] }> {
  const c = Object.assign(await ChatClient.connect({ host: '127.0.0.1', port, ...opts }), { errors: [] as Error[] });
  c.on('error', (err) => c.errors.push(err));
  t.teardown(() => c.close());
  return c;
}

/** records a ChatClient's ordered stream, per conversation */
export function recordStream(c: ChatClient): Map<string, ChatEvent[]> {
  const by = new Map<string, ChatEvent[]>();
  c.on('event', (e) => {
    let list = by.get(e.conv);
    if (!list) by.set(e.conv, (list = []));
    list.push(e);
  });
  return by;
}

export function pairConv(a: number, b: number): string {
  return `p:${Math.min(a, b)}:${Math.max(a, b)}`;
}

/**
 * Sends a one-to-one message from `from` (a v2 connection) to user `toId` and waits until
 * `to`, one of that user's connections, was pushed it (the push stays in `to.frames`).
 * Deliveries go out in commit order and a connection's writes keep theirs, so once it is there
 * every push of an event committed before it is there too: what did not come by then will not.
 */
export async function marker(from: LineClient, toId: number, to: LineClient, ms = 20_000): Promise<Json> {
  const text = newCmid('marker');
  const ack = await reqV2(from, { msgid: 6, toid: toId, msg: text }, ms);
  if (ack.msgid !== 12) throw new Error(`marker not sent: ${JSON.stringify(ack)}`);
  await waitFor(() => to.frames.some((f) => f.msg === text), ms, () => `the marker to reach ${toId}: got ${JSON.stringify(to.frames)}`);
  return to.frames.find((f) => f.msg === text)!;
}

/** waits until a raw connection was pushed `seq` of `conv` */
export function pushedUpTo(c: LineClient, conv: string, seq: number, ms = 20_000): Promise<void> {
  return waitFor(() => pushesOf(c, conv).some((f) => f.msgSeq === seq), ms, () => `seq ${seq} of ${conv}: got ${JSON.stringify(pushesOf(c, conv).map((f) => f.msgSeq))}`);
}

/** the chat pushes (msgid 6/10) of `conv` a raw connection received so far (not removed) */
export function pushesOf(c: LineClient, conv: string): Json[] {
  return c.frames.filter((f) => (f.msgid === 6 || f.msgid === 10) && f.conv === conv && f.errno === undefined);
}

/** how far a SQLite store has recorded `user` as having received `conv` (its delivered position) */
export function deliveredSeq(db: Database.Database, conv: string, user: number): number {
  const row = db.prepare('SELECT delivered_seq FROM conv_member WHERE conv = ? AND user_id = ?').get(conv, user) as { delivered_seq: number } | undefined;
  return row?.delivered_seq ?? 0;
}

export interface LogRow {
  seq: number;
  sender: number;
  text: string;
  cmid: string | null;
  mid: string;
}

/** a conversation's log as the MySQL/MariaDB database holds it (the ground truth) */
export async function mysqlLog(url: string, conv: string): Promise<LogRow[]> {
  const db = await mysql.createConnection({ uri: url });
  try {
    const [rows] = await db.query('SELECT seq, sender_id, `text`, cmid, mid FROM event WHERE conv = ? ORDER BY seq', [conv]);
    return (rows as Array<Record<string, unknown>>).map((r) => ({
      seq: Number(r.seq),
      sender: Number(r.sender_id),
      text: String(r.text),
      cmid: r.cmid === null ? null : String(r.cmid),
      mid: String(r.mid),
    }));
  } finally {
    await db.end();
  }
}

export function strictlyIncreasing(xs: number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]!);
}

export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/**
 * The first mismatch between what a recipient got and what it should have got, or null:
 * seqs strictly increasing, exactly the expected seqs, and the same sender and text at each.
 */
export function streamProblem(got: Array<{ seq: number; sender: number; text: string }>, want: LogRow[]): string | null {
  const seqs = got.map((g) => g.seq);
  if (!strictlyIncreasing(seqs)) {
    const i = seqs.findIndex((s, k) => k > 0 && s <= seqs[k - 1]!);
    return `seqs not strictly increasing at index ${i}: ... ${seqs.slice(Math.max(0, i - 3), i + 3).join(',')} ...`;
  }
  const wantSeqs = new Set(want.map((w) => w.seq));
  const gotSeqs = new Set(seqs);
  const missing = want.filter((w) => !gotSeqs.has(w.seq)).map((w) => w.seq);
  const extra = seqs.filter((s) => !wantSeqs.has(s));
  if (missing.length > 0 || extra.length > 0) {
    return `missing ${missing.length} (${missing.slice(0, 10).join(',')}), extra ${extra.length} (${extra.slice(0, 10).join(',')})`;
  }
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (g.sender !== w.sender || g.text !== w.text) return `seq ${w.seq}: got ${g.sender}/${g.text}, want ${w.sender}/${w.text}`;
  }
  return null;
}

/** each sender's texts `<tag>:<k>` appear with k = 0, 1, 2, ... in log order */
export function sendOrderProblem(log: LogRow[], perSender: number): string | null {
  const next = new Map<number, number>();
  for (const r of log) {
    const k = Number(r.text.slice(r.text.lastIndexOf(':') + 1));
    const want = next.get(r.sender) ?? 0;
    if (k !== want) return `sender ${r.sender}: seq ${r.seq} holds #${k}, expected #${want}`;
    next.set(r.sender, want + 1);
  }
  for (const [sender, n] of next) if (n !== perSender) return `sender ${sender}: ${n} messages in the log, expected ${perSender}`;
  return null;
}

export function fromEvents(evs: ChatEvent[]): Array<{ seq: number; sender: number; text: string }> {
  return evs.map((e) => ({ seq: e.seq, sender: e.from.id, text: e.text }));
}

export function fromFrames(fs: Json[]): Array<{ seq: number; sender: number; text: string }> {
  return fs.map((f) => ({ seq: f.msgSeq as number, sender: f.id as number, text: f.msg as string }));
}

/**
 * Captures the WireConnection of the next ChatClient.connect() (and of its reconnects while
 * `keep` is on) so a test can drop frames or cut the socket.
 */
export function captureWires(): { wires: WireConnection[]; restore(): void } {
  const original = WireConnection.open;
  const wires: WireConnection[] = [];
  (WireConnection as { open: typeof WireConnection.open }).open = async (ep, ms) => {
    const w = await original.call(WireConnection, ep, ms);
    wires.push(w);
    return w;
  };
  return {
    wires,
    restore: () => {
      (WireConnection as { open: typeof WireConnection.open }).open = original;
    },
  };
}

/** makes a wire swallow the incoming frames `drop` picks (before the client sees them) */
export function dropFrames(w: WireConnection, drop: (f: WireFrame) => boolean): void {
  const emit = w.emit.bind(w) as (name: string, ...args: unknown[]) => boolean;
  (w as unknown as { emit: (name: string, ...args: unknown[]) => boolean }).emit = (name, ...args) => {
    if (name === 'frame' && drop(args[0] as WireFrame)) return true;
    return emit(name, ...args);
  };
}

interface Link {
  client: net.Socket;
  upstream: net.Socket;
  /** the client side was cut; the upstream side stays open and its bytes are kept here */
  orphaned: boolean;
  orphanText: string;
  upstreamClosed: boolean;
}

/**
 * A TCP proxy in front of one server port. `orphan()` cuts the client side of every current
 * link but leaves the server side open (a half-dead connection the server has not noticed),
 * keeping what the server still writes to it.
 */
export class Proxy {
  readonly port: number;
  readonly links: Link[] = [];
  readonly #server: net.Server;

  private constructor(server: net.Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  /**
   * `coalesceMs`: what the server writes is held and passed on in one write per that many ms
   * (as a slow network or a busy receiver would see it: several frames in one read)
   */
  static async start(t: Test, backend: number, opts: { coalesceMs?: number } = {}): Promise<Proxy> {
    const links: Link[] = [];
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: backend });
      const link: Link = { client, upstream, orphaned: false, orphanText: '', upstreamClosed: false };
      links.push(link);
      client.on('data', (d) => upstream.write(d));
      let held: Buffer[] = [];
      let timer: NodeJS.Timeout | null = null;
      const pass = (d: Buffer) => {
        if (!opts.coalesceMs) return void client.write(d);
        held.push(d);
        timer ??= setTimeout(() => {
          timer = null;
          const all = Buffer.concat(held);
          held = [];
          if (!client.destroyed) client.write(all);
        }, opts.coalesceMs);
      };
      upstream.on('data', (d: Buffer) => {
        if (link.orphaned) link.orphanText += d.toString('utf8');
        else pass(d);
      });
      client.on('close', () => {
        if (!link.orphaned) upstream.destroy();
      });
      upstream.on('close', () => {
        link.upstreamClosed = true;
        client.destroy();
      });
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new Proxy(server, (server.address() as net.AddressInfo).port);
    (proxy as { links: Link[] }).links = links;
    t.teardown(() => proxy.close());
    return proxy;
  }

  /** cuts the client side of every open link; the server side stays open */
  orphan(): Link[] {
    const cut = this.links.filter((l) => !l.orphaned && !l.client.destroyed);
    for (const l of cut) {
      l.orphaned = true;
      l.client.destroy();
    }
    return cut;
  }

  close(): Promise<void> {
    for (const l of this.links) {
      l.client.destroy();
      l.upstream.destroy();
    }
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** waits until `cond` holds, with a description of the state on timeout */
export function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  return waitFor(cond, ms, what);
}
