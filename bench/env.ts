/**
 * Where a scenario runs: servers this run starts (an embedded chatserver with a temporary
 * SQLite file, two cluster chatservers sharing a fresh MariaDB database and a fresh Redis
 * prefix, or the baseline relay), or servers given with --target. Either way the scenario
 * gets endpoints, user ids (all with one password) and group ids.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import mysql from 'mysql2/promise';
import os from 'node:os';
import path from 'node:path';
import { BenchConn, forEachLimit, loginRetrying } from './conn.js';
import { pidsOf, spawnChatServer, spawnRelay, type ServerProc } from './proc.js';
import { dropDatabase, deleteRedisPrefix, PASSWORD, seedMysql, seedSqlite, type SeedSpec } from './seed.js';
import { log, sleep } from './util.js';

export interface Endpoint {
  host: string;
  port: number;
  /** for CPU and memory figures; unknown for some --target servers */
  pid?: number | undefined;
}

export interface EnvRequest {
  kind: 'embedded' | 'cluster' | 'relay';
  /** names the database, the Redis prefix, CPU profiles and users */
  label: string;
  users: number;
  groups?: Array<{ name: string; members: number }>;
  hash: 'real' | 'cheap';
  sync?: 'normal' | 'full';
  /** a seeded SQLite file to reuse instead of seeding a new one (embedded) */
  reuseDb?: { file: string; userIds: number[] };
  /** more server flags (embedded) */
  args?: string[];
  /** descriptors the server may open (embedded; bench/fd-limit.ts) */
  nofile?: number;
}

export interface BenchEnv {
  kind: EnvRequest['kind'];
  endpoints: Endpoint[];
  userIds: number[];
  groupIds: number[];
  password: string;
  serverPids: number[];
  /** names of the servers this run started (their CPU profiles are named after them) */
  serverNames: string[];
  /** MariaDB and Redis, when this env uses them (read-only CPU figures) */
  servicePids: number[];
  /** the seeded SQLite file (embedded), for reuse */
  dbFile?: string;
  /** cluster: MariaDB's server-wide statement counter (includes other clients of the same server) */
  dbStatements?: () => Promise<number>;
  close(): Promise<void>;
}

export interface EnvConfig {
  runId: string;
  mysqlUrl: string;
  redisUrl: string;
  tmpDir: string;
  cpuProfDir: string | null;
  /** given servers: one for embedded-style scenarios, two for cluster ones */
  targets: Endpoint[] | null;
  /** another build's bin/chatserver to start instead of this repository's (--server) */
  serverScript?: string | undefined;
}

export async function openEnv(cfg: EnvConfig, req: EnvRequest): Promise<BenchEnv> {
  if (req.kind === 'relay') return openRelay(cfg, req);
  if (cfg.targets) return openTargets(cfg, req);
  return req.kind === 'embedded' ? openEmbedded(cfg, req) : openCluster(cfg, req);
}

function seedSpec(cfg: EnvConfig, req: EnvRequest): SeedSpec {
  return { prefix: `b${cfg.runId}_${req.label}_`, users: req.users, hash: req.hash, ...(req.groups ? { groups: req.groups.map((g) => ({ ...g, name: `${cfg.runId}_${req.label}_${g.name}` })) } : {}) };
}

function profDir(cfg: EnvConfig): string | undefined {
  return cfg.cpuProfDir ?? undefined;
}

async function openEmbedded(cfg: EnvConfig, req: EnvRequest): Promise<BenchEnv> {
  let file: string;
  let seeded: { userIds: number[]; groupIds: number[] };
  if (req.reuseDb) {
    file = req.reuseDb.file;
    seeded = { userIds: req.reuseDb.userIds, groupIds: [] };
  } else {
    // under the run's temporary directory, removed at the end of the run
    file = path.join(mkdtempSync(path.join(cfg.tmpDir, `${req.label}-`)), 'chat.db');
    seeded = await seedSqlite(file, seedSpec(cfg, req));
  }
  const server = await spawnChatServer({
    name: `chatserver-${req.label}`,
    args: ['--db', file, '--sync', req.sync ?? 'normal', ...(req.args ?? [])],
    cheapScrypt: req.hash === 'cheap',
    nofile: req.nofile,
    cpuProfDir: profDir(cfg),
    script: cfg.serverScript,
  });
  return {
    kind: 'embedded',
    endpoints: [{ host: server.host, port: server.port, pid: server.pid }],
    ...seeded,
    password: PASSWORD,
    serverPids: [server.pid],
    serverNames: [server.name],
    servicePids: [],
    dbFile: file,
    close: () => server.stop(),
  };
}

async function openCluster(cfg: EnvConfig, req: EnvRequest): Promise<BenchEnv> {
  const db = `chat_bench_${cfg.runId}_${req.label}`.replace(/[^a-z0-9_]/g, '_');
  const url = `${cfg.mysqlUrl.replace(/\/+$/, '')}/${db}`;
  const prefix = `bench:${cfg.runId}:${req.label}:`;
  const servers: ServerProc[] = [];
  let status: mysql.Connection | null = null;
  const cleanup = async () => {
    await status?.end().catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
    await dropDatabase(url).catch((err: unknown) => log(`could not drop ${db}: ${String(err)}`));
    await deleteRedisPrefix(cfg.redisUrl, prefix).catch((err: unknown) => log(`could not delete ${prefix}*: ${String(err)}`));
  };
  try {
    const seeded = await seedMysql(url, seedSpec(cfg, req));
    for (const n of [0, 1]) {
      servers.push(
        await spawnChatServer({
          name: `chatserver-${req.label}-${n}`,
          args: ['--mysql', url, '--redis', cfg.redisUrl, '--redis-prefix', prefix, '--node-id', `${req.label}-${n}`],
          cheapScrypt: req.hash === 'cheap',
          cpuProfDir: profDir(cfg),
          script: cfg.serverScript,
        }),
      );
    }
    status = await mysql.createConnection({ uri: cfg.mysqlUrl });
    const statusConn = status;
    return {
      kind: 'cluster',
      async dbStatements() {
        const [rows] = await statusConn.query<Array<mysql.RowDataPacket & { Value: string }>>("SHOW GLOBAL STATUS LIKE 'Questions'");
        return Number(rows[0]?.Value ?? NaN);
      },
      endpoints: servers.map((s) => ({ host: s.host, port: s.port, pid: s.pid })),
      ...seeded,
      password: PASSWORD,
      serverPids: servers.map((s) => s.pid),
      serverNames: servers.map((s) => s.name),
      servicePids: [...pidsOf('mariadbd'), ...pidsOf('mysqld'), ...pidsOf('redis-server')],
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function openRelay(cfg: EnvConfig, req: EnvRequest): Promise<BenchEnv> {
  const relay = await spawnRelay({ name: `relay-${req.label}` });
  const userIds: number[] = new Array<number>(req.users);
  const conn = await BenchConn.connect(relay.port, relay.host);
  for (let i = 0; i < req.users; i++) userIds[i] = await conn.register(`r${cfg.runId}_${i}`, PASSWORD);
  conn.close();
  return {
    kind: 'relay',
    endpoints: [{ host: relay.host, port: relay.port, pid: relay.pid }],
    userIds,
    groupIds: [],
    password: PASSWORD,
    serverPids: [relay.pid],
    serverNames: [relay.name],
    servicePids: [],
    close: () => relay.stop(),
  };
}

/**
 * Given servers: users are registered over the wire (REG, which hashes: slow for thousands),
 * groups created and joined over v2 connections that are then closed.
 */
async function openTargets(cfg: EnvConfig, req: EnvRequest): Promise<BenchEnv> {
  const targets = cfg.targets!;
  const endpoints = req.kind === 'cluster' ? [targets[0]!, targets[1] ?? targets[0]!] : [targets[0]!];
  const prefix = `b${cfg.runId}_${req.label}_`;
  log(`registering ${req.users} users on ${endpoints[0]!.host}:${endpoints[0]!.port} (each REG hashes a password)`);
  const userIds: number[] = new Array<number>(req.users);
  const idx = Array.from({ length: req.users }, (_, i) => i);
  await forEachLimit(idx, 32, async (i) => {
    const c = await BenchConn.connect(endpoints[i % endpoints.length]!.port, endpoints[i % endpoints.length]!.host);
    try {
      userIds[i] = await c.register(`${prefix}${i}`, PASSWORD, true);
    } finally {
      c.close();
    }
  });
  const groupIds: number[] = [];
  for (const g of req.groups ?? []) {
    const creator = await BenchConn.connect(endpoints[0]!.port, endpoints[0]!.host);
    await creator.login(userIds[0]!, PASSWORD, true);
    const r = await creator.request({ msgid: 8, v: 2, groupname: `${prefix}${g.name}`, groupdesc: 'bench', cmid: `g-${g.name}` }, (f) => f.cmid === `g-${g.name}`);
    if (r.errno !== 0) throw new Error(`create group: ${JSON.stringify(r)}`);
    const groupid = r.groupid as number;
    creator.close();
    await forEachLimit(idx.slice(1, g.members), 32, async (i) => {
      const c = await BenchConn.connect(endpoints[i % endpoints.length]!.port, endpoints[i % endpoints.length]!.host);
      try {
        await c.login(userIds[i]!, PASSWORD, true);
        const j = await c.request({ msgid: 9, v: 2, groupid, cmid: `j-${groupid}` }, (f) => f.cmid === `j-${groupid}`);
        if (j.errno !== 0) throw new Error(`join group: ${JSON.stringify(j)}`);
      } finally {
        c.close();
      }
    });
    groupIds.push(groupid);
  }
  // the closed v2 sessions leave presence asynchronously; a legacy login right away could be refused
  await sleep(500);
  const pids = endpoints.map((e) => e.pid).filter((p): p is number => p !== undefined);
  return {
    kind: req.kind,
    endpoints,
    userIds,
    groupIds,
    password: PASSWORD,
    serverPids: [...new Set(pids)],
    serverNames: [],
    servicePids: [],
    async close() {},
  };
}

/** a temporary directory for the run, removed by the returned function */
export function runTmpDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-bench-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * connects one socket per user (on `endpointOf(i)`) and logs each in, `parallel` at a time,
 * retrying refusals that pass (bench/conn.ts loginRetrying)
 */
export async function loginMany(
  env: BenchEnv,
  userIdx: number[],
  v2: boolean,
  endpointOf: (k: number) => Endpoint,
  parallel = 100,
): Promise<BenchConn[]> {
  const conns: BenchConn[] = new Array<BenchConn>(userIdx.length);
  await forEachLimit(userIdx, parallel, async (u, k) => {
    const ep = endpointOf(k);
    const c = await BenchConn.connect(ep.port, ep.host);
    await loginRetrying(c, env.userIds[u]!, env.password, v2);
    conns[k] = c;
  });
  return conns;
}

export function closeAll(conns: BenchConn[]): void {
  for (const c of conns) c?.close();
}
