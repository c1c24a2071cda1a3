/**
 * Two server processes on MariaDB and a Redis Cluster of the test's own (three masters, three
 * replicas), and kill -9 of the master that holds presence and one process's channel: sends
 * are acked throughout, every acked message is in the log once, and every online recipient
 * gets each push once and in order, those sent during the failover and after it too; logins
 * and routing work on the new master, and presence still knows the sessions it had.
 */
import t, { type Test } from 'tap';
import { presenceBase } from '../../lib/bus/redis/presence.js';
import { clusterEnv } from '../fixtures/cluster.js';
import { LineClient, login, waitFor, waitForAsync, type Json } from '../fixtures/harness.js';
import { PrivateRedisCluster } from '../fixtures/redis-cluster.js';
import { mysqlLog, newCmid, pairConv, rawLogin, registerUser, strictlyIncreasing } from '../ordering/util.js';

t.setTimeout(600_000);

/** a node id whose channel is (or is not) on the master at `port` */
async function nodeIdOn(t: Test, cluster: PrivateRedisCluster, prefix: string, port: number, on: boolean, name: string): Promise<string> {
  for (let i = 0; ; i++) if (((await cluster.masterOf(t, `${prefix}node:${name}${i}`)) === port) === on) return `${name}${i}`;
}

interface Route {
  from: LineClient;
  fromId: number;
  toId: number;
  inbox: LineClient;
  acked: string[];
}

const pushes = (r: Route): Json[] => r.inbox.frames.filter((f) => f.msgid === 6 && f.id === r.fromId);

t.test('kill -9 of a Redis Cluster master: nothing acked lost, every online recipient gets its pushes', async (t) => {
  const cluster = await PrivateRedisCluster.start(t);
  if (!cluster) return;
  const env = await clusterEnv(t, { redisUrl: cluster.url });
  if (!env) return;
  const victim = await cluster.masterOf(t, `${presenceBase(env.prefix)}user:1`);
  const bId = await nodeIdOn(t, cluster, env.prefix, victim, true, 'b');
  const aId = await nodeIdOn(t, cluster, env.prefix, victim, false, 'a');
  const args = ['--session-ttl', '3000', '--metrics-port', '0'];
  const [na, nb] = await Promise.all([env.node([...args, '--node-id', aId]), env.node([...args, '--node-id', bId])]);
  const [sam, sue, rae, lee, ann] = await Promise.all(
    [[na, 'sam'], [nb, 'sue'], [nb, 'rae'], [nb, 'lee'], [na, 'ann']].map(([n, name]) => registerUser(t, (n as { port: number }).port, name as string)),
  );
  const samC = (await rawLogin(t, na!.port, sam!, true)).c;
  const sueC = (await rawLogin(t, nb!.port, sue!, true)).c;
  const routes: Route[] = [
    { from: samC, fromId: sam!, toId: rae!, inbox: (await rawLogin(t, nb!.port, rae!, true)).c, acked: [] },
    { from: samC, fromId: sam!, toId: lee!, inbox: (await rawLogin(t, nb!.port, lee!)).c, acked: [] },
    { from: sueC, fromId: sue!, toId: ann!, inbox: (await rawLogin(t, na!.port, ann!, true)).c, acked: [] },
  ];
  const round = async (phase: string) => {
    for (let i = 0; i < 3; i++) {
      for (const r of routes) {
        const msg = `${phase} ${i} to ${r.toId}`;
        const cmid = newCmid(phase);
        r.from.send({ msgid: 6, v: 2, toid: r.toId, msg, cmid });
        const ack = await r.from.next((f) => f.cmid === cmid, 60_000);
        t.equal(ack.msgid, 12, `"${msg}" is acked`);
        r.acked.push(msg);
      }
    }
  };
  const allPushed = (what: string, ms: number) =>
    waitFor(
      () => routes.every((r) => r.acked.every((m) => pushes(r).some((f) => f.msg === m))),
      ms,
      () => `${what}: ${JSON.stringify(routes.map((r) => [r.acked.length, pushes(r).map((f) => f.msg)]))}`,
    );

  await round('before');
  await allPushed('the pushes before the kill', 60_000);

  await cluster.kill(victim);
  await round('during');
  await cluster.settled();
  await round('after');
  await allPushed('every acked message pushed after the failover', 120_000);
  for (const r of routes) {
    const got = pushes(r);
    t.same(got.map((f) => f.msg), r.acked, `${r.toId}: every acked message once, in the order sent`);
    t.ok(strictlyIncreasing(got.map((f) => f.msgSeq as number)), `${r.toId}: seqs increase`);
    const log = await mysqlLog(env.mysql, pairConv(r.fromId, r.toId));
    t.same(log.map((row) => row.text), r.acked, `${r.toId}: the log holds every acked message once`);
  }

  // presence still has lee's legacy session (written back if the replica lacked it): a second
  // legacy login is refused, on either process
  const second = await LineClient.connect(t, na!.port);
  t.equal((await login(second, lee!, 'secret')).errno, 2, 'one legacy login per account, across the failover');
  second.close();

  // a new login lands on the new master, and the other process routes to it
  const neo = await registerUser(t, nb!.port, 'neo');
  let neoC: LineClient | undefined;
  await waitForAsync(
    async () => {
      const c = await LineClient.connect(t, nb!.port);
      if ((await login(c, neo, 'secret', true)).errno === 0) neoC = c;
      else c.close();
      return neoC !== undefined;
    },
    60_000,
    () => 'a login after the failover',
  );
  const cmid = newCmid('neo');
  samC.send({ msgid: 6, v: 2, toid: neo, msg: 'welcome, neo', cmid });
  t.equal((await samC.next((f) => f.cmid === cmid, 60_000)).msgid, 12);
  const push = await neoC!.next((f) => f.msgid === 6 && f.msg === 'welcome, neo', 60_000);
  t.equal(push.id, sam, 'routed across processes after the failover');
});
