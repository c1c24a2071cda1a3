import { scryptSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { SqliteStore } from '../../lib/store/sqlite/index.js';
import { storeContract, storeHandle, type StoreHandle } from '../fixtures/store-contract.js';

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
  t.strictSame(tables, ['chat_group', 'conv_member', 'conversation', 'event', 'friend', 'session_tokens', 'user']);
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
