/**
 * End-to-end encrypted conversations through a real server (SQLite file) with the client
 * library: every device of the recipient and the sender's other devices read a sealed message,
 * the database file holds no plaintext, a tampered copy is refused, a device that published its
 * key later cannot read what came before, a legacy member is told once per conversation, and
 * the server refuses malformed keys and envelopes with 134 and 135.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { ChatClient, ChatReplyError, NoDeviceKeyError, type ChatEvent } from '../../lib/client/client.js';
import { fingerprint, loadIdentity, newIdentity, Sealer, type DeviceIdentity } from '../../lib/client/e2e.js';
import { SEALED_TEXT } from '../../lib/protocol/sealed.js';
import { barrier, LineClient, login, startServer, tempDir, waitFor, type Json } from '../fixtures/harness.js';

t.setTimeout(60_000);

/** a logged-in device; `identity` given: enabled before the login (as a device that kept its key does) */
async function device(t: Test, port: number, id: number, identity?: DeviceIdentity): Promise<{ c: ChatClient; seen: ChatEvent[]; me: DeviceIdentity }> {
  const c = await ChatClient.connect({ host: '127.0.0.1', port });
  t.teardown(() => c.close());
  const seen: ChatEvent[] = [];
  c.on('event', (e) => seen.push(e));
  if (identity) await c.enableE2E(identity);
  await c.login(id, 'pw');
  const me = identity ?? (await loadIdentity(await newIdentity()));
  if (!identity) await c.enableE2E(me);
  return { c, seen, me };
}

/** registers users on the server (ids in the order of `names`) */
async function registered(t: Test, port: number, ...names: string[]): Promise<number[]> {
  const reg = await ChatClient.connect({ host: '127.0.0.1', port });
  t.teardown(() => reg.close());
  const ids: number[] = [];
  for (const n of names) ids.push(await reg.register(n, 'pw'));
  return ids;
}

/** every byte the SQLite database has written (the file, its WAL, its journal) */
function dbBytes(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).map((f) => readFileSync(path.join(dir, f))));
}

function chats(seen: ChatEvent[]): ChatEvent[] {
  return seen.filter((e) => e.kind === 'chat');
}

t.test('a sealed one-to-one message: every device reads it, the database file does not hold it', async (t) => {
  const dir = tempDir(t);
  const srv = await startServer(t, { db: path.join(dir, 'chat.db') });
  const [ida, idb] = (await registered(t, srv.port, 'ann', 'ben')) as [number, number];
  const conv = `p:${ida}:${idb}`;

  const a1 = await device(t, srv.port, ida);
  const a2 = await device(t, srv.port, ida);
  const b1 = await device(t, srv.port, idb);
  const b2 = await device(t, srv.port, idb);
  a1.c.setSealed(conv, true);
  const secret = 'sealed-plaintext-5519 meet at noon';
  const ack = await a1.c.sendTo(idb, secret);
  t.equal(ack.unreadableBy, undefined, 'every member has a device key');
  for (const [name, d] of [['ben 1', b1], ['ben 2', b2], ['ann 2', a2]] as const) {
    await waitFor(() => chats(d.seen).length === 1, 10_000, () => `${name}: ${JSON.stringify(d.seen)}`);
    t.match(chats(d.seen)[0], { seq: ack.msgSeq, text: secret, sealed: 'ok', from: { id: ida } }, `${name} reads it`);
  }
  t.match(chats(a1.seen)[0], { text: secret, sealed: 'ok', own: true }, 'the sender has its own line');
  // sealed and plain sends made at once go out, and get their seqs, in the order they were made
  const burst = ['burst 1', 'burst 2', 'burst 3', 'burst 4'];
  const acks = await Promise.all(
    burst.map((text, i) => {
      if (i === 2) a1.c.setSealed(conv, false);
      const sent = a1.c.sendTo(idb, text);
      if (i === 2) a1.c.setSealed(conv, true);
      return sent;
    }),
  );
  t.strictSame(
    acks.map((k) => k.msgSeq),
    [2, 3, 4, 5],
    'in order, the plain one (burst 3) behind the sealed ones',
  );
  await waitFor(() => chats(b1.seen).length === 5, 10_000, () => JSON.stringify(b1.seen));
  t.strictSame(
    chats(b1.seen).slice(1).map((e) => [e.seq, e.text, e.sealed ?? 'plain']),
    [
      [2, 'burst 1', 'ok'],
      [3, 'burst 2', 'ok'],
      [4, 'burst 3', 'plain'],
      [5, 'burst 4', 'ok'],
    ],
  );
  const reply = await b2.c.sendTo(ida, 'a plain reply-marker-7781');
  await waitFor(() => chats(a1.seen).length === 6, 10_000);
  t.match(chats(a1.seen)[5], { seq: reply.msgSeq, text: 'a plain reply-marker-7781' });
  t.equal(chats(a1.seen)[5]!.sealed, undefined, 'the other side did not seal: a plain message');

  // the history (sync) of the sender's own device opens too: it is among the recipients
  const page = await a1.c.history(conv, { after: 0 });
  t.match(page.events[0], { text: secret, sealed: 'ok' });

  const bytes = dbBytes(dir);
  t.ok(bytes.includes('a plain reply-marker-7781'), 'the check sees a plain message in the file');
  t.notOk(bytes.includes('sealed-plaintext-5519'), 'no plaintext of the sealed one in the database file');
  t.ok(bytes.includes('x25519-hkdf-sha256-aes-256-gcm'), 'the envelope is what is stored');

  // a recall works on a sealed message as on any other
  t.equal((await a1.c.recall(conv, ack.msgSeq)).errno, 0);
  await waitFor(() => b1.seen.some((e) => e.kind === 'recall'), 10_000);
  const after = await b1.c.history(conv, { after: 0, limit: 1 });
  t.match(after.events[0], { seq: ack.msgSeq, recalled: true, text: '' });
  t.equal(await fingerprint(a1.me.publicKey), await fingerprint(a1.me.publicKey));
  t.match(await fingerprint(a1.me.publicKey), /^([0-9a-f]{4} ){7}[0-9a-f]{4}$/);
});

t.test('a tampered copy is refused; a device that published later cannot read earlier messages', async (t) => {
  const srv = await startServer(t);
  const [ida, idb] = (await registered(t, srv.port, 'ann', 'ben')) as [number, number];
  const conv = `p:${ida}:${idb}`;
  const a = await device(t, srv.port, ida);
  const b = await device(t, srv.port, idb);
  a.c.setSealed(conv, true);
  const first = await a.c.sendTo(idb, 'before the new device');

  // what a1's library would send, with one bit of ben's copy flipped
  const sealer = new Sealer(a.me, ida);
  const keys = await a.c.deviceKeys([ida, idb]);
  const env = await sealer.seal(conv, 'tampered-text-3141', keys);
  const copy = env.to.find((c) => c.user === idb)!;
  const ct = Buffer.from(copy.ct, 'base64');
  ct[0] = ct[0]! ^ 1;
  copy.ct = ct.toString('base64');
  const bad = await a.c.request({ msgid: 6, toid: idb, e2e: env }, { send: true });
  t.equal(bad.errno, 0, 'the server cannot tell: it relays the envelope');
  await waitFor(() => chats(b.seen).length === 2, 10_000, () => JSON.stringify(b.seen));
  t.match(chats(b.seen)[1], { seq: bad.msgSeq, sealed: 'failed', text: '' }, 'refused by the client, no text');

  const late = await device(t, srv.port, idb);
  const page = await late.c.history(conv, { after: 0 });
  t.match(page.events[0], { seq: first.msgSeq, sealed: 'no-copy', text: '' }, 'a later device has no copy of an earlier message');
  const next = await a.c.sendTo(idb, 'after the new device');
  await waitFor(() => chats(late.seen).some((e) => e.seq === next.msgSeq), 10_000, () => JSON.stringify(late.seen));
  t.match(chats(late.seen).find((e) => e.seq === next.msgSeq), { text: 'after the new device', sealed: 'ok' }, 'it reads the next one');

  // the same device with its saved identity after a restart: what came while it was away opens in
  // the login's sync, and its history too
  await waitFor(() => chats(b.seen).length === 3, 10_000, () => `b ${JSON.stringify(b.seen)}`);
  // (every device of ben offline: the delivered position is the user's, and one online would ack it)
  b.c.close();
  late.c.close();
  const away = await a.c.sendTo(idb, 'while you were away');
  const again = await device(t, srv.port, idb, b.me);
  await waitFor(() => chats(again.seen).length === 1, 10_000, () => `again ${JSON.stringify(again.seen)} applied ${again.c.appliedSeq(conv)}`);
  t.match(chats(again.seen)[0], { seq: away.msgSeq, text: 'while you were away', sealed: 'ok' }, 'opened in the sync at login');
  const back = await again.c.history(conv, { after: 0, limit: 1 });
  t.match(back.events[0], { text: 'before the new device', sealed: 'ok' });
});

t.test('a legacy member is told once per conversation, never given the envelope', async (t) => {
  const srv = await startServer(t);
  const [ida, idb, idl, ido] = (await registered(t, srv.port, 'ann', 'ben', 'lee', 'olga')) as [number, number, number, number];
  const a = await device(t, srv.port, ida);
  const b = await device(t, srv.port, idb);
  const gid = await a.c.createGroup('sealed-group');
  await b.c.joinGroup(gid);
  const lee = await LineClient.connect(t, srv.port);
  await login(lee, idl, 'pw');
  lee.send({ msgid: 9, groupid: gid });
  const olga = await LineClient.connect(t, srv.port);
  await login(olga, ido, 'pw');
  olga.send({ msgid: 9, groupid: gid });
  await barrier(lee);
  await barrier(olga);
  olga.close();
  await olga.waitClosed();
  const conv = `g:${gid}`;
  a.c.setSealed(conv, true);

  const s1 = await a.c.sendGroup(gid, 'group-secret-one');
  t.strictSame(s1.unreadableBy, [idl, ido], 'the members without a key are named');
  await a.c.sendGroup(gid, 'group-secret-two');
  a.c.setSealed(conv, false);
  const plain = await a.c.sendGroup(gid, 'plain after');
  await waitFor(() => chats(b.seen).length === 3, 10_000);
  t.strictSame(chats(b.seen).map((e) => e.text), ['group-secret-one', 'group-secret-two', 'plain after']);

  const lines: Json[] = [];
  for (;;) {
    const f = await lee.next((f) => f.msgid === 10);
    lines.push(f);
    if (f.msgSeq === plain.msgSeq) break;
  }
  t.strictSame(
    lines.map((f) => [f.msgSeq, f.msg]),
    [
      [s1.msgSeq, SEALED_TEXT],
      [plain.msgSeq, 'plain after'],
    ],
    'one notice for the two sealed messages, then the plain one',
  );
  for (const f of lines) t.notOk('e2e' in f, 'no envelope in a legacy frame');

  // offline, the backlog at login: the same, one notice
  const back = await LineClient.connect(t, srv.port);
  const ack = await login(back, ido, 'pw');
  const offline = (ack.offlinemsg as string[]).map((s) => JSON.parse(s) as Json).filter((f) => f.conv === conv);
  t.strictSame(
    offline.map((f) => [f.msgSeq, f.msg]),
    [
      [s1.msgSeq, SEALED_TEXT],
      [plain.msgSeq, 'plain after'],
    ],
  );
  t.notOk(JSON.stringify(ack).includes('x25519'), 'no envelope in the backlog');
});

t.test('the server refuses bad keys (134) and bad envelopes (135), and only members fetch a conversation', async (t) => {
  const srv = await startServer(t);
  const [ida, idb, idc] = (await registered(t, srv.port, 'ann', 'ben', 'cy')) as [number, number, number];
  const a = await device(t, srv.port, ida);
  const errno = (p: Promise<unknown>) =>
    p.then(
      () => 0,
      (e: unknown) => (e instanceof ChatReplyError ? e.errno : -1),
    );
  const key = a.me.publicKey;
  t.equal(await errno(a.c.request({ msgid: 33, device: 'short', key })), 134, 'device id too short');
  t.equal(await errno(a.c.request({ msgid: 33, device: 'device-0001', key: key.slice(1) })), 134, 'key not 32 bytes');
  t.equal(await errno(a.c.request({ msgid: 33, device: 'device-0001', key })), 0);

  const good = { alg: 'x25519-hkdf-sha256-aes-256-gcm', from: a.me.device, to: [{ user: idb, device: 'device-0002', iv: 'AAAAAAAAAAAAAAAA', ct: 'A'.repeat(24) }] };
  const send = (e2e: unknown, extra: Json = {}) => errno(a.c.request({ msgid: 6, toid: idb, e2e, ...extra }));
  t.equal(await send({ ...good, alg: 'rot13' }), 135, 'unknown alg');
  t.equal(await send({ ...good, to: [] }), 135, 'no copies');
  t.equal(await send({ ...good, to: [{ ...good.to[0], iv: 'AAAA' }] }), 135, 'iv not 96 bits');
  t.equal(await send({ ...good, to: [good.to[0], good.to[0]] }), 135, 'two copies for one device');
  t.equal(await send(good, { msg: 'both' }), 135, 'an envelope and a msg');
  t.equal(await errno(a.c.request({ msgid: 6, toid: idb, msg: '\u0001e2e:{"alg":"x"}' })), 103, 'a plain text may not look sealed');
  t.equal(await send(good), 0, 'a well-formed envelope is taken');

  t.equal(await errno(a.c.request({ msgid: 34, conv: `p:${idb}:${idc}` })), 109, 'not a member');
  t.equal(await errno(a.c.request({ msgid: 34, ids: [] })), 103);
  const r = await a.c.request({ msgid: 34, conv: `p:${ida}:${idb}` });
  t.match(r, { msgid: 35, errno: 0, conv: `p:${ida}:${idb}`, members: [ida, idb] });
  t.strictSame(
    (r.keys as Json[]).map((k) => [k.id, k.device]).sort(),
    [
      [ida, a.me.device],
      [ida, 'device-0001'],
    ].sort(),
  );

  a.c.setSealed(`p:${ida}:${idc}`, true);
  const refused = await a.c.sendTo(idc, 'nobody could read this').then(
    () => null,
    (e: unknown) => e,
  );
  t.type(refused, NoDeviceKeyError, 'refused when no other member has a key');
  t.match(refused, { users: [idc] });
});

t.test('a sealed message disappears like any other: tombstone, and the envelope erased', async (t) => {
  const dir = tempDir(t);
  const srv = await startServer(t, { db: path.join(dir, 'chat.db'), expiryIntervalMs: 50 });
  const [ida, idb] = (await registered(t, srv.port, 'ann', 'ben')) as [number, number];
  const conv = `p:${ida}:${idb}`;
  const a = await device(t, srv.port, ida);
  const b = await device(t, srv.port, idb);
  t.equal((await a.c.setTimer(conv, 1)).errno, 0);
  a.c.setSealed(conv, true);
  const sent = await a.c.sendTo(idb, 'gone-soon-sealed');
  await waitFor(() => b.seen.some((e) => e.kind === 'expire'), 20_000, () => JSON.stringify(b.seen));
  t.match(chats(b.seen)[0], { seq: sent.msgSeq, text: 'gone-soon-sealed', sealed: 'ok' }, 'read before it went');
  const page = await b.c.history(conv, { after: 0 });
  const tomb = page.events.find((e) => e.seq === sent.msgSeq);
  t.match(tomb, { expired: true, text: '' });
  t.equal((tomb as ChatEvent).sealed, undefined, 'a tombstone carries no envelope');
  // the expire event comes after the sweep committed
  const db = new Database(path.join(dir, 'chat.db'), { readonly: true });
  t.teardown(() => db.close());
  const row = db.prepare('SELECT text, recalled FROM event WHERE conv = ? AND seq = ?').get(conv, sent.msgSeq) as { text: string; recalled: number };
  t.strictSame(row, { text: '', recalled: 2 }, 'the envelope is erased from the event row');
});
