/**
 * End-to-end encrypted messages across two processes on MariaDB and Redis: the sealed message
 * is relayed to the recipient's devices on the other process and read there; the event table
 * and the key directory in MariaDB hold the envelope and the public keys, no plaintext.
 */
import mysql from 'mysql2/promise';
import t, { type Test } from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { loadIdentity, newIdentity } from '../../lib/client/e2e.js';
import { SEALED_PREFIX } from '../../lib/protocol/sealed.js';
import { clusterEnv } from '../fixtures/cluster.js';
import { waitFor } from '../fixtures/harness.js';

t.setTimeout(90_000);

async function device(t: Test, port: number, id: number): Promise<{ c: ChatClient; seen: ChatEvent[] }> {
  const c = await ChatClient.connect({ host: '127.0.0.1', port });
  t.teardown(() => c.close());
  const seen: ChatEvent[] = [];
  c.on('event', (e) => seen.push(e));
  await c.login(id, 'pw');
  await c.enableE2E(await loadIdentity(await newIdentity()));
  return { c, seen };
}

t.test('a sealed message crosses processes; MariaDB holds only the envelope', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const [n1, n2] = await Promise.all([env.node(), env.node()]);
  const reg = await ChatClient.connect({ host: '127.0.0.1', port: n1!.port });
  t.teardown(() => reg.close());
  const ida = await reg.register('ann', 'pw');
  const idb = await reg.register('ben', 'pw');
  const conv = `p:${ida}:${idb}`;
  const ann = await device(t, n1!.port, ida);
  const ben1 = await device(t, n2!.port, idb);
  const ben2 = await device(t, n1!.port, idb);
  ann.c.setSealed(conv, true);
  const sent = await ann.c.sendTo(idb, 'mariadb-sealed-secret-2718');
  const plain = await ann.c.sendTo(idb, 'x');
  ann.c.setSealed(conv, false);
  const control = await ann.c.sendTo(idb, 'mariadb-plain-control-1414');
  for (const [name, d] of [['ben on n2', ben1], ['ben on n1', ben2]] as const) {
    await waitFor(() => d.seen.length === 3, 20_000, () => `${name}: ${JSON.stringify(d.seen)}`);
    t.match(d.seen[0], { seq: sent.msgSeq, text: 'mariadb-sealed-secret-2718', sealed: 'ok' }, `${name} reads it`);
    t.match(d.seen[1], { seq: plain.msgSeq, text: 'x', sealed: 'ok' });
  }

  const conn = await mysql.createConnection({ uri: env.mysql });
  t.teardown(() => conn.end());
  const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT seq, `text` FROM event WHERE conv = ? ORDER BY seq', [conv]);
  const texts = rows.map((r) => r.text as string);
  t.equal(texts.length, 3);
  t.ok(texts[0]!.startsWith(SEALED_PREFIX) && texts[1]!.startsWith(SEALED_PREFIX), 'the sealed rows hold the envelope');
  t.equal(texts[2], 'mariadb-plain-control-1414', `the plain one (seq ${control.msgSeq}) is there as sent`);
  const [all] = await conn.query<mysql.RowDataPacket[]>('SELECT `text` FROM event UNION ALL SELECT pubkey FROM device_keys');
  t.notOk(JSON.stringify(all).includes('mariadb-sealed-secret'), 'no plaintext in any row');
  const [keys] = await conn.query<mysql.RowDataPacket[]>('SELECT user_id, COUNT(*) AS n FROM device_keys GROUP BY user_id ORDER BY user_id');
  t.strictSame(keys.map((r) => [Number(r.user_id), Number(r.n)]), [[ida, 1], [idb, 2]], 'the key directory: one key per device');
});
