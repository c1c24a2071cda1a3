/**
 * bin/chatserver as an operator runs it: `migrate` creates the database and its schema (and
 * again changes nothing), and cluster mode with only one of --mysql / --redis is refused with
 * the reason.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import mysql from 'mysql2/promise';
import t from 'tap';
import { clusterEnv } from '../fixtures/cluster.js';
import { ROOT } from '../fixtures/harness.js';

t.setTimeout(60_000);

function chatserver(...args: string[]) {
  return spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(ROOT, 'bin/chatserver'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

t.test('migrate creates the database and the schema, and is idempotent', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const first = chatserver('migrate', '--mysql', env.mysql, '--redis', env.redis);
  t.equal(first.status, 0, first.stderr);
  t.match(first.stdout, /schema applied/);
  // migrate does not use Redis: --mysql alone will do (the server's --redis is accepted above)
  const again = chatserver('migrate', '--mysql', env.mysql);
  t.equal(again.status, 0, again.stderr);
  const conn = await mysql.createConnection({ uri: env.mysql });
  t.teardown(() => conn.end());
  const [rows] = await conn.query('SHOW TABLES');
  const tables = (rows as Array<Record<string, string>>).map((r) => Object.values(r)[0]).sort();
  t.same(tables, ['chat_group', 'conv_member', 'conversation', 'device_keys', 'event', 'friend', 'pruned', 'session_tokens', 'user']);
});

t.test('cluster mode needs both --mysql and --redis, and says so', async (t) => {
  const onlyMysql = chatserver('--port', '0', '--mysql', 'mysql://root@127.0.0.1:3306/nope');
  t.equal(onlyMysql.status, 1);
  t.match(onlyMysql.stderr, /cluster mode needs both --mysql and --redis/);
  const onlyRedis = chatserver('--port', '0', '--redis', 'redis://127.0.0.1:6379');
  t.equal(onlyRedis.status, 1);
  t.match(onlyRedis.stderr, /cluster mode needs both --mysql and --redis/);
});

t.test('--redis takes redis://... or redis+cluster://host:port,...; --redis-prefix no hash tag braces', async (t) => {
  const mysqlUrl = ['--mysql', 'mysql://root@127.0.0.1:3306/nope'];
  for (const [bad, why] of [
    ['127.0.0.1:6379', /--redis must be redis:\/\/host:port or redis\+cluster:\/\/host:port\[,host:port\.\.\.\] \(not "127\.0\.0\.1:6379"\)/],
    ['redis+cluster://127.0.0.1:7000,127.0.0.1', /a Redis Cluster is redis\+cluster:\/\/host:port\[,host:port\.\.\.\] \(not .*"127\.0\.0\.1" is not host:port\)/],
    ['redis+cluster://127.0.0.1:70000', /"127\.0\.0\.1:70000" is not host:port/],
  ] as const) {
    const r = chatserver('--port', '0', ...mysqlUrl, '--redis', bad);
    t.equal(r.status, 1, bad);
    t.match(r.stderr, why);
  }
  const braces = chatserver('--port', '0', ...mysqlUrl, '--redis', 'redis://127.0.0.1:6379', '--redis-prefix', 'a{b}:');
  t.equal(braces.status, 1);
  t.match(braces.stderr, /--redis-prefix must not contain \{ or \}/);
});

t.test('--help explains every option with its environment variable', async (t) => {
  const help = chatserver('--help');
  t.equal(help.status, 0);
  for (const flag of ['--port', '--host', '--db', '--mysql', '--redis', '--redis-prefix', '--sync', '--max-frame', '--log-level', '--tls-cert', '--metrics-port']) {
    t.match(help.stdout, flag);
  }
  const options = help.stdout.split('\n').filter((l) => /^  (-\w, )?--[a-z]/.test(l) && !/--help/.test(l));
  const withEnv = help.stdout.replace(/\n\s+/g, ' ').match(/env: CHAT_[A-Z_]+/g) ?? [];
  t.equal(withEnv.length, options.length, 'each option names its CHAT_* variable');
});
