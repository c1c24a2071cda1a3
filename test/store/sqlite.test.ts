import { scryptSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { pairConv } from '../../lib/protocol/conv.js';
import { SqliteStore } from '../../lib/store/sqlite/index.js';
import { chat, send, storeContract, storeHandle, type StoreHandle } from '../fixtures/store-contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'chat-sqlite-'));
}

async function openStore(file: string, sync?: 'normal' | 'full'): Promise<SqliteStore> {
  const store = new SqliteStore({ file, sync });
  await store.migrate();
  return store;
}

async function build(): Promise<StoreHandle> {
  const dir = await tempDir();
  // a missing parent directory is created by the store
  const file = join(dir, 'data', 'chat.db');
  return storeHandle(
    () => openStore(file),
    () => rm(dir, { recursive: true, force: true }),
  );
}

storeContract(t, 'sqlite', build);

t.test('sqlite: the schema is created on first open', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'new', 'chat.db');
  t.equal(existsSync(file), false, 'no file before');
  const store = await openStore(file);
  await store.close();

  const db = new Database(file, { readonly: true });
  t.teardown(() => db.close());
  const tables = db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((r) => r.name);
  t.strictSame(tables, ['chat_group', 'conv_member', 'conversation', 'device_keys', 'event', 'friend', 'pruned', 'session_tokens', 'user']);
  const indexes = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index'").all();
  t.ok(indexes.some((r) => r.name === 'conv_member_user'), 'conv_member is indexed by user');
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
});

t.test('sqlite: a store opened with sync full works', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await openStore(join(dir, 'chat.db'), 'full');
  t.teardown(() => store.close());
  const id = await store.createUser('alice', 'scrypt$00$11');
  t.equal((await store.getUser(id!))?.name, 'alice');
});

t.test('sqlite: an in-memory store works and methods need migrate first', async (t) => {
  const store = new SqliteStore({ file: ':memory:' });
  t.teardown(() => store.close());
  await t.rejects(store.createUser('early', 'scrypt$00$11'), /migrate/);
  await store.migrate();
  t.type(await store.createUser('alice', 'scrypt$00$11'), 'number');
});

t.test('sqlite: no plain-text password reaches the database file', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'chat.db');
  const password = 'correct-horse-battery-staple-4711';
  const salt = randomBytes(16);
  const hash = `scrypt$${salt.toString('hex')}$${scryptSync(password, salt, 32).toString('hex')}`;
  const store = await openStore(file);
  await store.createUser('pw-owner-name', hash);
  await store.close();

  const bytes = Buffer.concat(await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f)))));
  t.ok(bytes.includes('pw-owner-name'), 'the user row is in the files read (the check can see data)');
  t.ok(bytes.includes(hash), 'the hash is stored');
  t.notOk(bytes.includes(password), 'the password is not');
});

/** every byte of the database's files (the file, its write-ahead log, its shared memory) */
async function fileBytes(dir: string): Promise<Buffer> {
  return Buffer.concat(await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f)))));
}

t.test('sqlite: an expired or recalled text is gone from the database files while the store is open', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await openStore(join(dir, 'chat.db'));
  t.teardown(() => store.close());
  const a = (await store.createUser('alice', 'scrypt$00$11'))!;
  const conv = pairConv(a, 99);
  const [timed] = await send(store, { ...chat(conv, a, 'expiring-secret-0451'), ttl: 1 }, chat(conv, a, 'recalled-secret-0452'), chat(conv, a, 'kept-text-0453'));
  t.ok((await fileBytes(dir)).includes('expiring-secret-0451'), 'the text is in the files before (the check can see it)');
  const now = timed!.ts + 1000;
  await store.commit([
    { op: 'expire', conv, seq: 1, event: { ...chat(conv, a, ''), kind: 'expire', ref: 1, ts: now } },
    { op: 'recall', conv, seq: 2, event: { ...chat(conv, a, ''), kind: 'recall', ref: 2 } },
  ]);
  const bytes = await fileBytes(dir);
  t.notOk(bytes.includes('expiring-secret-0451'), 'the expired text is not in any file');
  t.notOk(bytes.includes('recalled-secret-0452'), 'nor the recalled one');
  t.ok(bytes.includes('kept-text-0453'), 'a live text still is');
});

t.test('sqlite: migrate upgrades a database of the release before expiry', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'old.db');
  const old = new Database(file);
  old.exec(`CREATE TABLE conversation (conv TEXT NOT NULL PRIMARY KEY, last_seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
    CREATE TABLE event (conv TEXT NOT NULL, seq INTEGER NOT NULL, mid TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
      sender_id INTEGER NOT NULL, ts INTEGER NOT NULL, text TEXT NOT NULL DEFAULT '', ref INTEGER NULL,
      recalled INTEGER NOT NULL DEFAULT 0, cmid TEXT NULL, PRIMARY KEY (conv, seq), UNIQUE (sender_id, cmid));
    INSERT INTO conversation VALUES ('p:1:2', 1);
    INSERT INTO event (conv, seq, mid, kind, sender_id, ts, text) VALUES ('p:1:2', 1, 'm1', 'chat', 1, 1, 'old message');`);
  old.close();
  const store = await openStore(file);
  t.teardown(() => store.close());
  t.match(await store.getEvent('p:1:2', 1), { seq: 1, text: 'old message', recalled: false });
  const [next] = await send(store, { ...chat('p:1:2', 1, 'new'), ttl: 2 });
  t.equal(next!.seq, 2);
  t.equal(next!.expiresAt, next!.ts + 2000, 'the added column holds the expiry');
  await store.migrate();
  t.equal((await store.getEvent('p:1:2', 2))?.expiresAt, next!.expiresAt, 'migrating again changes nothing');
});
