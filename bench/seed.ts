/**
 * Users and groups for a run, created once through the store API (the same Store classes the
 * server uses) before the servers start: registering over the wire would measure scrypt, not
 * the server. All users of a run share one password hash, computed once. Also the cleanup of
 * what a cluster run leaves behind: its own database and its own Redis key prefix.
 */
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { defaultOptions } from '../lib/config.js';
import { hashPassword, scryptCost } from '../lib/models/password.js';
import { MysqlStore } from '../lib/store/mysql/index.js';
import { SqliteStore } from '../lib/store/sqlite/index.js';
import type { Store } from '../lib/store/types.js';
import { cheapHash } from './cheap-params.js';

export const PASSWORD = 'bench-password';

export interface SeedSpec {
  /** user names are `${prefix}${i}` */
  prefix: string;
  users: number;
  /** 'real': the server's scrypt cost; 'cheap': for servers started with the cheap-scrypt preload */
  hash: 'real' | 'cheap';
  /** groups whose members are the first `members` users; user 0 creates them */
  groups?: Array<{ name: string; members: number }>;
}

export interface Seeded {
  userIds: number[];
  groupIds: number[];
}

let realHashCache: Promise<string> | null = null;

async function seed(store: Store, spec: SeedSpec, parallel: number): Promise<Seeded> {
  await store.migrate();
  const hash = spec.hash === 'cheap' ? cheapHash(PASSWORD) : await (realHashCache ??= hashPassword(PASSWORD, scryptCost(defaultOptions.scryptParams)));
  const userIds: number[] = new Array<number>(spec.users);
  for (let i = 0; i < spec.users; i += parallel) {
    const ids = await Promise.all(
      Array.from({ length: Math.min(parallel, spec.users - i) }, (_, k) => store.createUser(`${spec.prefix}${i + k}`, hash)),
    );
    ids.forEach((id, k) => {
      if (id === null) throw new Error(`seed: user name ${spec.prefix}${i + k} is taken`);
      userIds[i + k] = id;
    });
  }
  const groupIds: number[] = [];
  for (const g of spec.groups ?? []) {
    const group = await store.createGroup(g.name, `bench group of ${g.members}`, userIds[0]!);
    if (!group) throw new Error(`seed: group name ${g.name} is taken`);
    for (let i = 1; i < g.members; i += parallel) {
      await Promise.all(
        Array.from({ length: Math.min(parallel, g.members - i) }, (_, k) => store.joinGroup(group.id, userIds[i + k]!)),
      );
    }
    groupIds.push(group.id);
  }
  return { userIds, groupIds };
}

export async function seedSqlite(file: string, spec: SeedSpec): Promise<Seeded> {
  const store = new SqliteStore({ file });
  try {
    return await seed(store, spec, 1);
  } finally {
    await store.close();
  }
}

export async function seedMysql(url: string, spec: SeedSpec): Promise<Seeded> {
  const store = new MysqlStore({ url });
  try {
    return await seed(store, spec, 8);
  } finally {
    await store.close();
  }
}

/** `mysql://...:port/db` -> drops that database (the run's own) */
export async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const db = decodeURIComponent(u.pathname.slice(1));
  if (!/^chat_bench_[a-z0-9_]+$/.test(db)) throw new Error(`refusing to drop a database not made by the benchmark: ${db}`);
  const conn = await mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username) || 'root',
    password: decodeURIComponent(u.password),
  });
  try {
    await conn.query('DROP DATABASE IF EXISTS ??', [db]);
  } finally {
    await conn.end();
  }
}

/** deletes the keys under the run's own prefix (never anything else; never FLUSH) */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<number> {
  if (!prefix.startsWith('bench:')) throw new Error(`refusing to delete keys outside a bench: prefix: ${prefix}`);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

