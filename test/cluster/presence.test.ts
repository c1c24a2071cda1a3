/**
 * Presence across processes: one legacy login per account cluster-wide, sessions of a killed
 * process vanish within the session TTL, and a graceful stop ends only its own sessions.
 */
import t from 'tap';
import { clusterEnv } from '../fixtures/cluster.js';
import { barrier, LineClient, login, register, waitFor, type Json } from '../fixtures/harness.js';

t.setTimeout(90_000);

t.test('two simultaneous legacy logins of one account on two processes: exactly one wins', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const [n1, n2] = await Promise.all([env.node(), env.node()]);
  const reg = await LineClient.connect(t, n1!.port);
  const ids: number[] = [];
  for (let i = 0; i < 10; i++) ids.push(await register(reg, `racer${i}`));
  for (const id of ids) {
    const x = await LineClient.connect(t, n1!.port);
    const y = await LineClient.connect(t, n2!.port);
    const [ax, ay] = await Promise.all([login(x, id), login(y, id)]);
    t.same([ax.errno, ay.errno].sort(), [0, 2], `user ${id}: one ok, one "this account is using"`);
    const loser = ax.errno === 2 ? ax : ay;
    t.equal(loser.errmsg, 'this account is using, input another!');
    x.close();
    y.close();
  }
});

t.test('kill -9 of a process: its users log in elsewhere within the TTL and get what was sent meanwhile', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const ttl = ['--session-ttl', '3000'];
  const [n1, n2] = await Promise.all([env.node(ttl), env.node(ttl)]);
  const a = await LineClient.connect(t, n1!.port);
  const b = await LineClient.connect(t, n2!.port);
  const ida = await register(a, 'victim');
  const idb = await register(b, 'friend');
  t.equal((await login(a, ida)).errno, 0);
  t.equal((await login(b, idb)).errno, 0);
  await n1!.stop('SIGKILL');
  const killedAt = Date.now();
  b.send({ msgid: 6, toid: ida, msg: 'while you were gone 1' });
  b.send({ msgid: 6, toid: ida, msg: 'while you were gone 2' });
  let ack: Json = {};
  let refused = 0;
  for (;;) {
    const again = await LineClient.connect(t, n2!.port);
    ack = await login(again, ida);
    if (ack.errno === 0) break;
    t.equal(ack.errno, 2, 'refused as in use until the dead session expires');
    refused++;
    again.close();
    if (Date.now() - killedAt > 10_000) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.equal(ack.errno, 0, `logged in again after ${Date.now() - killedAt} ms`);
  t.ok(Date.now() - killedAt < 10_000, 'within 10 s');
  t.comment(`refused ${refused} times while the dead session lived`);
  const offline = ((ack.offlinemsg as string[] | undefined) ?? []).map((s) => (JSON.parse(s) as Json).msg);
  t.same(offline, ['while you were gone 1', 'while you were gone 2']);
});

t.test('SIGTERM of one process ends only its own sessions', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const [n1, n2] = await Promise.all([env.node(), env.node()]);
  const a = await LineClient.connect(t, n1!.port);
  const b = await LineClient.connect(t, n2!.port);
  const ida = await register(a, 'leaving');
  const idb = await register(b, 'staying');
  const w = await LineClient.connect(t, n2!.port);
  const idw = await register(w, 'watcher');
  t.equal((await login(a, ida)).errno, 0);
  t.equal((await login(b, idb)).errno, 0);
  w.send({ msgid: 1, id: idw, password: 'secret' });
  await w.msg(2);
  w.send({ msgid: 7, friendid: ida });
  w.send({ msgid: 7, friendid: idb });
  await barrier(w);
  t.equal(await n1!.stop('SIGTERM'), 0, 'graceful exit');
  await a.waitClosed();
  // the watcher logs in again and sees who is online
  const w2 = await LineClient.connect(t, n2!.port);
  w.close();
  await waitFor(() => w.closed, 20_000);
  let friends: Json[] = [];
  for (let i = 0; i < 20; i++) {
    const ack = await login(w2, idw);
    if (ack.errno === 0) {
      friends = (ack.friends as string[]).map((s) => JSON.parse(s) as Json);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  t.same(
    friends.map((f) => [f.id, f.state]),
    [
      [ida, 'offline'],
      [idb, 'online'],
    ],
  );
  // the user of the stopped process can log in on the other at once
  const again = await LineClient.connect(t, n2!.port);
  t.equal((await login(again, ida)).errno, 0);
});
