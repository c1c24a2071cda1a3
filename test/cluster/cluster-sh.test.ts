/**
 * examples/cluster/cluster.sh (make cluster) on ports of the test's own: it refuses a port
 * another process holds (naming it) and a second start over a running cluster, and reports
 * success only once every server and nginx accept connections.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ChatClient } from '../../lib/client/client.js';
import { clusterEnv } from '../fixtures/cluster.js';
import { freePort, ROOT, tempDir, waitFor } from '../fixtures/harness.js';
import { findBinary } from '../fixtures/services.js';

t.setTimeout(120_000);

const SCRIPT = path.join(ROOT, 'examples/cluster/cluster.sh');
const NGINX = existsSync('/usr/lib/nginx/modules/ngx_stream_module.so');

interface Ports {
  listen: number;
  servers: number[];
  wsListen: number;
  wsServers: number[];
}

async function ports(): Promise<Ports> {
  const three = async () => [await freePort(), await freePort(), await freePort()];
  return { listen: await freePort(), servers: await three(), wsListen: await freePort(), wsServers: await three() };
}

/** runs cluster.sh; resolves when it exits (its servers and nginx live on) */
function clusterSh(run: string, p: Ports, cmd: 'start' | 'stop', env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn('env', ['-u', 'NODE_OPTIONS', 'bash', SCRIPT, cmd], {
    env: {
      ...process.env,
      RUN_DIR: run,
      LISTEN: `127.0.0.1:${p.listen}`,
      PORTS: p.servers.join(' '),
      WS_LISTEN: `127.0.0.1:${p.wsListen}`,
      WS_PORTS: p.wsServers.join(' '),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => setImmediate(() => resolve({ code, out, err }))));
}

async function hold(t: Test, port: number): Promise<void> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
  t.teardown(() => s.close());
}

const pidFiles = (run: string) => readdirSync(run).filter((f) => f.endsWith('.pid'));

/** true when nothing accepts connections on the port */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

t.test("a port another process holds: nothing started, the port named, exit 1", async (t) => {
  const run = tempDir(t, 'cluster-run-');
  const p = await ports();
  await hold(t, p.servers[1]!);
  const r = await clusterSh(run, p, 'start');
  t.equal(r.code, 1);
  t.match(r.err, new RegExp(`^cluster\\.sh: port ${p.servers[1]} \\(a chatserver's, PORTS="[\\d ]+"\\) is in use by another process`));
  t.same(pidFiles(run), [], 'no server was started');

  const q = await ports();
  await hold(t, q.listen);
  const r2 = await clusterSh(run, q, 'start');
  t.equal(r2.code, 1);
  t.match(r2.err, `cluster.sh: port ${q.listen} (nginx's, LISTEN=127.0.0.1:${q.listen}) is in use by another process`);
  t.same(pidFiles(run), []);
});

t.test('pid files of live processes: a second start is refused and leaves them alone', async (t) => {
  const run = tempDir(t, 'cluster-run-');
  const p = await ports();
  const file = path.join(run, `server-${p.servers[0]}.pid`);
  writeFileSync(file, `${process.pid}\n`);
  const r = await clusterSh(run, p, 'start');
  t.equal(r.code, 1);
  t.match(r.err, `a cluster is already running from ${run} (server-${p.servers[0]}=${process.pid}); stop it first: make cluster-stop`);
  t.ok(existsSync(file), 'its pid file is kept');
});

t.test('start: three servers and nginx up before it says so; stop ends them', { skip: NGINX ? false : 'nginx with the stream module is not installed' }, async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const run = tempDir(t, 'cluster-run-');
  const envs = { CHAT_MYSQL_URL: env.mysql, CHAT_REDIS_URL: env.redis, CHAT_REDIS_PREFIX: env.prefix };
  // the ports were free when picked; should another process take one before cluster.sh binds
  // it, the script says so (the first test) and the start is made again on other free ports
  let p = await ports();
  let r = await clusterSh(run, p, 'start', envs);
  for (let i = 0; i < 4 && r.code === 1 && /is in use by another process/.test(r.err); i++) {
    p = await ports();
    r = await clusterSh(run, p, 'start', envs);
  }
  const started = p;
  t.teardown(() => clusterSh(run, started, 'stop'));
  t.equal(r.code, 0, r.err);
  t.match(r.out, `clusterchat: 3 servers (ports ${p.servers.join(' ')}) behind nginx on 127.0.0.1:${p.listen}`);
  // reported up means up: a client gets through nginx at once
  const c = await ChatClient.connect({ host: '127.0.0.1', port: p.listen, reconnect: false });
  t.ok((await c.register('through nginx', 'pw')) > 0);
  c.close();

  const again = await clusterSh(run, p, 'start', envs);
  t.equal(again.code, 1);
  t.match(again.err, 'a cluster is already running');

  const stopped = await clusterSh(run, p, 'stop');
  t.equal(stopped.code, 0);
  t.same(pidFiles(run), []);
  for (const port of [p.listen, ...p.servers]) t.ok(await refused(port), `nothing listens on ${port} any more`);
});

/** six free ports whose cluster bus ports (port + 10000) are free too */
async function redisClusterPorts(): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < 6) {
    const port = await freePort();
    if (port > 55535 || ports.includes(port)) continue;
    const bus = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port + 10000, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (bus) ports.push(port);
  }
  return ports;
}

const REDIS_CLUSTER = NGINX && findBinary('redis-server') !== null && findBinary('redis-cli') !== null;

t.test('REDIS=cluster: a Redis Cluster of its own, the servers on it, and stop ends it all', { skip: REDIS_CLUSTER ? false : 'nginx, redis-server or redis-cli is not installed' }, async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const run = tempDir(t, 'cluster-run-');
  const redisPorts = await redisClusterPorts();
  const envs = { CHAT_MYSQL_URL: env.mysql, CHAT_REDIS_PREFIX: env.prefix, REDIS: 'cluster', REDIS_CLUSTER_PORTS: redisPorts.join(' ') };
  const p = await ports();
  t.teardown(() => clusterSh(run, p, 'stop'));
  const r = await clusterSh(run, p, 'start', envs);
  t.equal(r.code, 0, r.err);
  t.match(r.out, `started a Redis Cluster: 3 masters, 3 replicas on ports ${redisPorts.join(' ')}`);
  t.match(r.out, `redis:    redis+cluster://${redisPorts.map((port) => `127.0.0.1:${port}`).join(',')}`);

  // two users on two processes: the message crosses the cluster's sharded pub/sub
  const [a, b] = await Promise.all(p.servers.slice(0, 2).map((port) => ChatClient.connect({ host: '127.0.0.1', port, reconnect: false })));
  t.teardown(() => (a!.close(), b!.close()));
  const [ida, idb] = [await a!.register('ann', 'pw'), await b!.register('bob', 'pw')];
  await Promise.all([a!.login(ida, 'pw'), b!.login(idb, 'pw')]);
  const got: string[] = [];
  b!.on('event', (e) => got.push(e.text ?? ''));
  await a!.sendTo(idb, 'across the Redis Cluster');
  await waitFor(() => got.includes('across the Redis Cluster'), 30_000, () => 'the push across processes');
  t.pass('pushed across processes');

  const stopped = await clusterSh(run, p, 'stop');
  t.equal(stopped.code, 0);
  t.same(pidFiles(run), [], 'no pid file left, the Redis Cluster nodes\' included');
  for (const port of redisPorts) t.ok(await refused(port), `no Redis Cluster node on ${port} any more`);
});
