import mysql from 'mysql2/promise';
import t, { type Test } from 'tap';
import { pairConv } from '../../lib/protocol/conv.js';
import { MysqlStore } from '../../lib/store/mysql/index.js';
import type { CommitOp, LogEvent, NewEvent } from '../../lib/store/types.js';
import { MYSQL_URL, needServices, uniqueSuffix } from '../fixtures/services.js';
import { append, chat, send, storeContract, storeHandle, type StoreHandle } from '../fixtures/store-contract.js';

function databaseUrl(database: string): string {
  const u = new URL(MYSQL_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(work: (conn: mysql.Connection) => Promise<T>): Promise<T> {
  const u = new URL(MYSQL_URL);
  const conn = await mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
  });
  try {
    return await work(conn);
  } finally {
    await conn.end();
  }
}

async function dropDatabase(database: string): Promise<void> {
  await admin((conn) => conn.query('DROP DATABASE IF EXISTS ??', [database]));
}

async function openStore(database: string): Promise<MysqlStore> {
  const store = new MysqlStore({ url: databaseUrl(database) });
  await store.migrate();
  return store;
}

/** a fresh database for one test, dropped in its teardown */
function testDatabase(t: Test): string {
  const database = `chat_test_${uniqueSuffix()}`;
  t.teardown(() => dropDatabase(database));
  return database;
}

async function build(): Promise<StoreHandle> {
  const database = `chat_test_${uniqueSuffix()}`;
  return storeHandle(
    () => openStore(database),
    () => dropDatabase(database),
  );
}

if (await needServices(t, 'mysql')) {
  storeContract(t, 'mysql', build);

  t.test('mysql: migrate creates the database, utf8mb4 throughout', async (t) => {
    const database = testDatabase(t);
    const store = await openStore(database);
    t.teardown(() => store.close());
    const [schemas] = await admin((conn) =>
      conn.query<mysql.RowDataPacket[]>(
        'SELECT DEFAULT_CHARACTER_SET_NAME AS cs FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
        [database],
      ),
    );
    t.strictSame(schemas.map((r) => r.cs), ['utf8mb4']);
    const [tables] = await admin((conn) =>
      conn.query<mysql.RowDataPacket[]>(
        'SELECT TABLE_NAME AS name, TABLE_COLLATION AS coll, ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
        [database],
      ),
    );
    t.strictSame(
      tables.map((r) => [r.name, r.coll, r.engine]).sort((x, y) => (x[0] < y[0] ? -1 : 1)),
      ['chat_group', 'conv_member', 'conversation', 'device_keys', 'event', 'friend', 'pruned', 'session_tokens', 'user'].map((n) => [n, 'utf8mb4_bin', 'InnoDB']),
    );
  });

  t.test('mysql: an expired text is gone from the event table', async (t) => {
    const database = testDatabase(t);
    const store = await openStore(database);
    t.teardown(() => store.close());
    const a = (await store.createUser('alice', 'scrypt$00$11'))!;
    const conv = pairConv(a, 99);
    const [timed] = await send(store, { ...chat(conv, a, 'expiring-secret-0451'), ttl: 1 }, chat(conv, a, 'kept-text-0453'));
    const texts = () =>
      admin(async (conn) => {
        const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT seq, `text`, recalled, expires_at FROM ??.event ORDER BY seq', [database]);
        return rows.map((r) => [Number(r.seq), r.text as string, Number(r.recalled), r.expires_at === null ? null : Number(r.expires_at)]);
      });
    t.strictSame(await texts(), [
      [1, 'expiring-secret-0451', 0, timed!.ts + 1000],
      [2, 'kept-text-0453', 0, null],
    ]);
    const event = { ...chat(conv, a, ''), kind: 'expire' as const, ref: 1, ts: timed!.ts + 1000 };
    await store.commit([{ op: 'expire', conv, seq: 1, event }]);
    t.strictSame(await texts(), [
      [1, '', 2, null],
      [2, 'kept-text-0453', 0, null],
      [3, '', 0, null],
    ], 'the row holds no text, is marked expired, and an expire event follows');
  });

  t.test('mysql: migrate upgrades a database of the release before expiry', async (t) => {
    const database = testDatabase(t);
    await admin(async (conn) => {
      await conn.query('CREATE DATABASE ?? CHARACTER SET utf8mb4 COLLATE utf8mb4_bin', [database]);
      await conn.query(`CREATE TABLE ??.conversation (conv VARCHAR(64) NOT NULL, last_seq BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (conv))`, [database]);
      await conn.query(
        `CREATE TABLE ??.event (conv VARCHAR(64) NOT NULL, seq BIGINT NOT NULL, mid VARCHAR(64) NOT NULL, kind VARCHAR(16) NOT NULL,
          sender_id INT UNSIGNED NOT NULL, ts BIGINT NOT NULL, \`text\` MEDIUMTEXT NOT NULL, ref BIGINT NULL,
          recalled TINYINT NOT NULL DEFAULT 0, cmid VARCHAR(64) NULL, PRIMARY KEY (conv, seq), UNIQUE KEY event_mid (mid),
          UNIQUE KEY event_cmid (sender_id, cmid))`,
        [database],
      );
      await conn.query("INSERT INTO ??.conversation VALUES ('p:1:2', 1)", [database]);
      await conn.query("INSERT INTO ??.event (conv, seq, mid, kind, sender_id, ts, `text`) VALUES ('p:1:2', 1, 'm1', 'chat', 1, 1, 'old message')", [database]);
    });
    const stores = [0, 1].map(() => new MysqlStore({ url: databaseUrl(database) }));
    t.teardown(() => Promise.all(stores.map((s) => s.close())));
    await Promise.all(stores.map((s) => s.migrate()));
    const store = stores[0]!;
    t.match(await store.getEvent('p:1:2', 1), { seq: 1, text: 'old message', recalled: false });
    const [next] = await send(store, { ...chat('p:1:2', 1, 'new'), ttl: 2 });
    t.equal(next!.seq, 2);
    t.equal((await stores[1]!.getEvent('p:1:2', 2))?.expiresAt, next!.ts + 2000, 'the added column holds the expiry');
    const [index] = await admin((conn) =>
      conn.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'event_expiry'", [database]),
    );
    t.equal(Number(index[0]!.n), 1, 'the sweeper\'s index is there');
  });

  t.test('mysql: a URL without a database is refused', async (t) => {
    t.throws(() => new MysqlStore({ url: MYSQL_URL }), /no database/);
  });

  t.test('mysql: two instances migrating at the same moment both succeed', async (t) => {
    const database = testDatabase(t);
    const stores = [0, 1].map(() => new MysqlStore({ url: databaseUrl(database) }));
    t.teardown(() => Promise.all(stores.map((s) => s.close())));
    await Promise.all(stores.map((s) => s.migrate()));
    const id = await stores[0]!.createUser('alice', 'scrypt$00$11');
    t.equal((await stores[1]!.getUser(id!))?.name, 'alice', 'both see one schema');
    await Promise.all(stores.map((s) => s.migrate()));
    t.equal((await stores[1]!.getUser(id!))?.name, 'alice', 'migrating again keeps the data');
  });

  t.test('mysql: two instances appending to one conversation get seqs 1..N exactly once', async (t) => {
    const database = testDatabase(t);
    const stores = [await openStore(database), await openStore(database)];
    t.teardown(() => Promise.all(stores.map((s) => s.close())));
    const a = (await stores[0]!.createUser('alice', 'scrypt$00$11'))!;
    const b = (await stores[0]!.createUser('bob', 'scrypt$00$11'))!;
    const conv = pairConv(a, b);
    const rounds = 20;
    const perBatch = 50;
    const batches: LogEvent[][] = [];
    await Promise.all(
      stores.map(async (store, s) => {
        for (let round = 0; round < rounds; round++) {
          const events = Array.from({ length: perBatch }, (_, i) => chat(conv, s ? b : a, `s${s} r${round} m${i}`, `s${s}-${round}-${i}`));
          batches.push(await send(store, ...events));
        }
      }),
    );
    const total = 2 * rounds * perBatch;
    const assigned = batches.flat().map((e) => e.seq).sort((x, y) => x - y);
    t.strictSame(assigned, Array.from({ length: total }, (_, i) => i + 1), 'every seq once, no gaps');
    t.ok(
      batches.every((batch) => batch.every((e, i) => i === 0 || e.seq === batch[i - 1]!.seq + 1)),
      'each batch holds a contiguous run',
    );
    t.equal(await stores[1]!.lastSeq(conv), total);
    const read = await stores[0]!.readRange(conv, 1, total, total);
    t.equal(read.length, total);
    const bySeq = new Map(batches.flat().map((e) => [e.seq, e.text]));
    t.ok(read.every((e) => bySeq.get(e.seq) === e.text), 'the log holds what each commit was told');
  });

  t.test('mysql: a query past --db-query-timeout fails, and its connection is closed, never reused', async (t) => {
    const database = testDatabase(t);
    // one pooled connection: were the timed-out one handed out again, the next commit would run
    // behind its blocked query, in its transaction
    const store = new MysqlStore({ url: databaseUrl(database), queryTimeoutMs: 1000, connectionLimit: 1 });
    t.teardown(() => store.close());
    await store.migrate();
    const a = (await store.createUser('alice', 'scrypt$00$11'))!;
    const conv = pairConv(a, 1000);
    await send(store, chat(conv, a, 'first', 'c1'));
    await admin(async (locker) => {
      // another client holds the conversation's row: the next commit waits for it
      await locker.query('START TRANSACTION');
      await locker.query('SELECT last_seq FROM ??.conversation WHERE conv = ? FOR UPDATE', [database, conv]);
      const started = Date.now();
      const err = await append(store, chat(conv, a, 'blocked', 'c2')).then(
        () => null,
        (e: unknown) => e,
      );
      const waited = Date.now() - started;
      t.match(err, { code: 'PROTOCOL_SEQUENCE_TIMEOUT' }, 'the commit fails on the timeout');
      // a ROLLBACK on the connection would queue behind the blocked query, for the lock wait (50 s)
      t.ok(waited < 20_000, `without waiting for the lock or for its connection (${waited} ms; the timeout is 1 s)`);
      await locker.query('ROLLBACK');
    });
    const [after] = await append(store, chat(conv, a, 'after', 'c3'));
    t.equal(after!.event.seq, 2, 'the next commit runs on a new connection');
    t.strictSame(
      (await store.readRange(conv, 1, 10, 10)).map((e) => e.cmid),
      ['c1', 'c3'],
      'the timed-out transaction left nothing behind',
    );
  });

  t.test('mysql: the same cmid sent through two instances at once is stored once', async (t) => {
    const database = testDatabase(t);
    const stores = [await openStore(database), await openStore(database)];
    t.teardown(() => Promise.all(stores.map((s) => s.close())));
    const a = (await stores[0]!.createUser('alice', 'scrypt$00$11'))!;
    const convs = [pairConv(a, 1000), pairConv(a, 1001)];
    for (let i = 0; i < 20; i++) {
      const [r0, r1] = await Promise.all(
        stores.map(async (store, s) => (await append(store, chat(convs[s]!, a, `try ${i}`, `race-${i}`)))[0]!),
      );
      t.strictSame([r0!.duplicate, r1!.duplicate].sort(), [false, true], `round ${i}: one original, one duplicate`);
      t.equal(r0!.event.mid, r1!.event.mid, `round ${i}: both answer with the same event`);
    }
    const stored = (await stores[0]!.readRange(convs[0]!, 1, 100, 100)).length + (await stores[0]!.readRange(convs[1]!, 1, 100, 100)).length;
    t.equal(stored, 20, 'twenty events in all');
  });

  t.test('mysql: a commit batch is two round trips, however many appends, moves and recalls it holds', async (t) => {
    const database = testDatabase(t);
    const store = await openStore(database);
    t.teardown(() => store.close());
    const a = (await store.createUser('alice', 'scrypt$00$11'))!;
    const b = (await store.createUser('bob', 'scrypt$00$11'))!;
    const c = (await store.createUser('carol', 'scrypt$00$11'))!;
    const ab = pairConv(a, b);
    const ac = pairConv(a, c);
    const trips = async (ops: CommitOp[]) => {
      const before = store.roundTrips;
      const results = await store.commit(ops);
      return { results, trips: store.roundTrips - before };
    };
    const appendOps = (conv: typeof ab, n: number, cmid: string | null) =>
      Array.from({ length: n }, (_, i): CommitOp => ({ op: 'append', event: chat(conv, a, `m${i}`, cmid === null ? null : `${cmid}${i}`) }));

    const first = await trips([...appendOps(ab, 3, null), ...appendOps(ac, 3, null)]);
    t.equal(first.trips, 3, "two conversations' first events: one more round trip for their member rows");
    const legacy = await trips([...appendOps(ab, 20, null), ...appendOps(ac, 20, null)]);
    t.equal(legacy.trips, 2, '40 appends to known conversations, sender name known: two round trips');
    const v2 = await trips(appendOps(ab, 20, 'c'));
    t.equal(v2.trips, 2, 'with cmids (looked up in the first round trip)');
    const again = await trips(appendOps(ab, 2, 'c'));
    t.equal(again.trips, 2, 'resends');
    t.ok(
      again.results.every((r) => r.op === 'append' && r.duplicate),
      'resends are answered as duplicates',
    );
    const recallEvent = (seq: number): NewEvent => ({ ...chat(ab, a, ''), kind: 'recall', ref: seq });
    const mixed = await trips([
      ...appendOps(ab, 2, 'd'),
      { op: 'position', userId: b, conv: ab, delivered: 10, read: 5 },
      { op: 'position', userId: c, conv: ac, read: 3 },
      { op: 'recall', conv: ab, seq: 1, event: recallEvent(1) },
      { op: 'recall', conv: ab, seq: 45, event: recallEvent(45) },
      { op: 'recall', conv: ab, seq: 1, event: recallEvent(1) },
      { op: 'recall', conv: ab, seq: 999, event: recallEvent(999) },
    ]);
    t.equal(mixed.trips, 2, 'appends, watermark moves and recalls (one of an event of the same batch): two round trips');
    t.strictSame(
      mixed.results.map((r) => (r.op === 'recall' ? [r.found, r.already, r.event?.seq ?? null] : r.op === 'position' ? [r.delivered, r.read] : r.op)),
      ['append', 'append', [10, 5], [3, 3], [true, false, 46], [true, false, 47], [true, true, null], [false, false, null]],
      'recalls checked in memory: found, recalled in the batch, twice, missing',
    );
    const log = await store.readRange(ab, 1, 100, 100);
    t.strictSame(
      log.filter((e) => e.recalled).map((e) => e.seq),
      [1, 45],
      'both targets are tombstones in the table',
    );
    const moved = await store.userConversations(b);
    t.match(moved.find((m) => m.conv === ab), { delivered: 10, read: 5 }, "b's watermarks stored");
  });
}
