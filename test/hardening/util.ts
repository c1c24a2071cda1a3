/**
 * Helpers shared by the hardening tests (not a test file itself: tap only runs `*.test.ts`):
 * a process's memory and open descriptors from /proc, the server's pino log as JSON entries,
 * HTTP GETs against the metrics endpoint, a raw socket that never reads, two chatting users
 * and their conversation's whole log.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import net from 'node:net';
import type { Test } from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { deleteKeys } from '../fixtures/cluster.js';
import { waitFor, type Json } from '../fixtures/harness.js';
import { PrivateMariadb } from '../fixtures/private-mariadb.js';
import { needServices, REDIS_URL, uniqueSuffix } from '../fixtures/services.js';

/** resident memory of a process in bytes (VmRSS of /proc/<pid>/status) */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** open file descriptors of a process */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export const MB = 1024 * 1024;

/** the JSON lines of a pino log (other lines skipped) */
export function logEntries(text: string): Json[] {
  const out: Json[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Json);
    } catch {
      // a line cut in the middle (the log is read while the process writes)
    }
  }
  return out;
}

/**
 * Log entries that mean input got somewhere it should not: an uncaught exception or unhandled
 * rejection, anything at error (50) or above, and `handler failed` at any level.
 */
export function badLogEntries(text: string): Json[] {
  return logEntries(text).filter(
    (e) =>
      (typeof e.level === 'number' && e.level >= 50) ||
      /unhandled|uncaught|handler failed/i.test(String(e.msg ?? '')),
  );
}

export interface HttpReply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function httpGet(port: number, path: string, method = 'GET'): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls /readyz until it answers 200 (store and bus both fine). `ms` only bounds a hang: the
 * wait ends as soon as the process says it is ready, however long a busy machine takes.
 */
export async function untilReady(port: number, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const r = await httpGet(port, '/readyz');
    if (r.status === 200) return;
    if (Date.now() > until) throw new Error(`/readyz on ${port} still ${r.status} after ${ms} ms: ${r.body}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** one sample of a Prometheus text exposition: `name{labels}` -> value */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** the value of one series (0 when absent: a counter that never moved is not exported) */
export function metric(m: Map<string, number>, series: string): number {
  return m.get(series) ?? 0;
}

/**
 * A raw TCP client for a slow reader: it writes what it is told and reads only when asked,
 * so everything the server sends piles up in the kernel buffers and then in the server.
 * `resume()` starts collecting the complete lines that had piled up, until the end.
 */
export class RawClient {
  readonly socket: net.Socket;
  readonly lines: string[] = [];
  #buf = '';
  ended = false;
  closedAt = 0;
  #endWaiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('close', () => {
      this.closedAt = performance.now();
      this.ended = true;
      for (const w of this.#endWaiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static connect(t: Test, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(new RawClient(s)));
      s.once('error', reject);
      t.teardown(() => {
        s.destroy();
      });
    });
  }

  write(frame: Json): void {
    this.socket.write(JSON.stringify(frame) + '\n');
  }

  /** reads until a line matching `pred` arrived; stops reading again afterwards */
  async readUntil(pred: (f: Json) => boolean, ms = 20_000): Promise<Json> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.off('data', onData);
        this.socket.pause();
        reject(new Error('timed out waiting for a line'));
      }, ms);
      const onData = (d: Buffer) => {
        this.#buf += d.toString('utf8');
        let i: number;
        while ((i = this.#buf.indexOf('\n')) !== -1) {
          const line = this.#buf.slice(0, i);
          this.#buf = this.#buf.slice(i + 1);
          const f = JSON.parse(line) as Json;
          if (pred(f)) {
            clearTimeout(timer);
            this.socket.off('data', onData);
            this.socket.pause();
            resolve(f);
            return;
          }
        }
      };
      this.socket.on('data', onData);
      this.socket.resume();
    });
  }

  /** stops reading: from now on nothing is taken from the kernel */
  stopReading(): void {
    this.socket.pause();
  }

  /** reads everything that is left, until the server's end of the connection */
  readToEnd(ms = 30_000): Promise<void> {
    this.socket.on('data', (d: Buffer) => {
      this.#buf += d.toString('utf8');
      let i: number;
      while ((i = this.#buf.indexOf('\n')) !== -1) {
        this.lines.push(this.#buf.slice(0, i));
        this.#buf = this.#buf.slice(i + 1);
      }
    });
    this.socket.resume();
    return new Promise((resolve, reject) => {
      if (this.ended) return resolve();
      const timer = setTimeout(() => reject(new Error('the server did not close the connection')), ms);
      this.#endWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** has the connection been closed by either side? (a paused socket still sees the FIN/RST only when read) */
  close(): void {
    this.socket.destroy();
  }
}

/** percentile of a list of numbers (nearest rank) */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** a delay that does not keep the process alive (for the losing side of a Promise.race) */
export function unrefDelay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Counts the complete lines a socket (utf8-encoded) receives that start with each prefix,
 * without keeping them: for a client that gets tens of thousands of acks.
 */
export function countLines(socket: net.Socket, prefixes: string[]): number[] {
  const counts = prefixes.map(() => 0);
  let tail = '';
  socket.on('data', (d: string | Buffer) => {
    const text = tail + (typeof d === 'string' ? d : d.toString('utf8'));
    const end = text.lastIndexOf('\n');
    tail = text.slice(end + 1);
    for (const line of text.slice(0, end + 1).split('\n')) {
      const i = prefixes.findIndex((p) => line.startsWith(p));
      if (i !== -1) counts[i]!++;
    }
  });
  return counts;
}

/**
 * A throwaway self-signed certificate for localhost made by openssl (node:crypto cannot
 * self-sign), in a temporary directory; null when openssl is missing (a failure under CI, a
 * skip locally).
 */
export function selfSignedCert(t: Test): { dir: string; key: string; cert: string } | null {
  if (spawnSync('openssl', ['version']).status !== 0) {
    if (process.env.CI) t.fail('openssl is not installed, and CI requires it');
    else t.plan(0, 'openssl not installed');
    return null;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
  return { dir, key, cert };
}

/**
 * A private mariadbd (this test's to break) and the shared Redis under a key prefix of its own
 * (deleted at teardown), with the server flags for a cluster on them; null when skipped.
 */
export async function privateCluster(t: Test): Promise<{ db: PrivateMariadb; args: string[] } | null> {
  if (!(await needServices(t, 'redis'))) return null;
  const db = await PrivateMariadb.start(t);
  if (!db) return null;
  const prefix = `test:${uniqueSuffix()}:`;
  t.teardown(() => deleteKeys(REDIS_URL, prefix).catch(() => undefined));
  return { db, args: ['--mysql', db.url('chat'), '--redis', REDIS_URL, '--redis-prefix', prefix] };
}

export interface Pair {
  ann: ChatClient;
  bob: ChatClient;
  annId: number;
  bobId: number;
  /** their one-to-one conversation */
  conv: string;
  /** every push bob's library applied, in order */
  bobGot: ChatEvent[];
}

/**
 * ann (on annPort) and bob (on bobPort), registered and logged in through the client library,
 * closed at teardown. Background failures (a sync while the database is down) are ignored.
 */
export async function annAndBob(t: Test, annPort: number, bobPort: number): Promise<Pair> {
  const ann = await ChatClient.connect({ host: '127.0.0.1', port: annPort });
  const bob = await ChatClient.connect({ host: '127.0.0.1', port: bobPort });
  t.teardown(() => {
    ann.close();
    bob.close();
  });
  ann.on('error', () => undefined);
  bob.on('error', () => undefined);
  const annId = await ann.register('ann', 'pw');
  const bobId = await bob.register('bob', 'pw');
  await ann.login(annId, 'pw');
  await bob.login(bobId, 'pw');
  const bobGot: ChatEvent[] = [];
  bob.on('event', (e) => bobGot.push(e));
  return { ann, bob, annId, bobId, conv: `p:${Math.min(annId, bobId)}:${Math.max(annId, bobId)}`, bobGot };
}

/** the whole log of `conv` as `c` pages it by SYNC: each seq with its cmid and text (none for a gap) */
export async function wholeLog(c: ChatClient, conv: string): Promise<Array<{ seq: number; cmid?: string; text?: string }>> {
  const log: Array<{ seq: number; cmid?: string; text?: string }> = [];
  for (let after = 0; ; ) {
    const page = await c.history(conv, { after, limit: 500 });
    for (const e of page.events) log.push('gap' in e ? { seq: e.seq } : { seq: e.seq, ...(e.cmid ? { cmid: e.cmid } : {}), text: e.text });
    if (!page.more || page.events.length === 0) return log;
    after = page.events[page.events.length - 1]!.seq;
  }
}

/** the seqs at which each cmid is in a log */
export function seqsByCmid(log: Array<{ seq: number; cmid?: string }>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const h of log) if (h.cmid) out.set(h.cmid, [...(out.get(h.cmid) ?? []), h.seq]);
  return out;
}

/** waits (up to 30 s) until a recipient has as many pushes as the log has seqs, then checks they are its seqs in order */
export async function gotInOrder(t: Test, got: ChatEvent[], log: Array<{ seq: number }>, what: string): Promise<void> {
  await waitFor(() => got.length >= log.length, 30_000, () => `the recipient has ${got.length} of ${log.length}`);
  t.same(
    got.map((e) => e.seq),
    log.map((h) => h.seq),
    what,
  );
}

/** log entries of an uncaught exception, an unhandled rejection or anything fatal */
export function crashEntries(text: string): Json[] {
  return logEntries(text).filter((e) => /uncaught|unhandled/i.test(String(e.msg)) || (e.level as number) >= 60);
}
