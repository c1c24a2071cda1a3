/**
 * Receipts and recall across processes: the sender's devices on two processes learn DELIVERED
 * and READ from a recipient on a third; a recall made on one process reaches members on the
 * others live, and a client that had already synced past the message learns it by syncing on.
 */
import t, { type Test } from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import type { WireFrame } from '../../lib/client/connection.js';
import { clusterEnv } from '../fixtures/cluster.js';
import { barrier, LineClient, login, waitFor } from '../fixtures/harness.js';

t.setTimeout(90_000);

async function client(t: Test, port: number): Promise<ChatClient> {
  const c = await ChatClient.connect({ host: '127.0.0.1', port });
  t.teardown(() => c.close());
  return c;
}

t.test('receipts and recall across three processes', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const [n1, n2, n3] = await Promise.all([env.node(), env.node(), env.node()]);
  const phone = await client(t, n1!.port);
  const laptop = await client(t, n2!.port);
  const bob = await client(t, n3!.port);
  const ida = await phone.register('alice', 'pw');
  const idb = await bob.register('bob', 'pw');
  const idc = await bob.register('carol', 'pw');
  await phone.login(ida, 'pw');
  await laptop.login(ida, 'pw');
  const onPhone: WireFrame[] = [];
  const onLaptop: WireFrame[] = [];
  phone.on('status', (f) => onPhone.push(f));
  laptop.on('status', (f) => onLaptop.push(f));
  const laptopEvents: ChatEvent[] = [];
  laptop.on('event', (e) => laptopEvents.push(e));

  const m1 = await phone.sendTo(idb, 'one');
  const m2 = await phone.sendTo(idb, 'two');
  await waitFor(() => laptopEvents.length === 2, 20_000, () => 'the other device sees what the phone sent');
  t.same(laptopEvents.map((e) => [e.seq, e.own]), [[1, true], [2, true]]);

  const bobEvents: ChatEvent[] = [];
  bob.on('event', (e) => bobEvents.push(e));
  await bob.login(idb, 'pw');
  await waitFor(() => bobEvents.length === 2, 20_000);
  const delivered = (fs: WireFrame[]) => fs.some((f) => f.userid === idb && (f.delivered as number) >= m2.msgSeq);
  await waitFor(() => delivered(onPhone) && delivered(onLaptop), 20_000, () => JSON.stringify([onPhone, onLaptop]));
  t.pass('DELIVERED reached both devices of the sender, on two other processes');
  await bob.markRead(m1.conv, m2.msgSeq);
  const read = (fs: WireFrame[]) => fs.some((f) => f.userid === idb && f.read === m2.msgSeq);
  await waitFor(() => read(onPhone) && read(onLaptop), 20_000);
  t.pass('READ too');
  t.match(await laptop.messageStatus(m1.conv, 1), { status: 3, readBy: [idb] });

  // recall from the laptop (node 2) of what the phone (node 1) sent; bob (node 3) had it already
  t.match(await laptop.recall(m1.conv, m1.msgSeq), { errno: 0, recallSeq: 3 });
  await waitFor(() => bobEvents.some((e) => e.kind === 'recall' && e.recalledSeq === 1), 20_000);
  const page = await bob.history(m1.conv, { after: 0 });
  t.match(page.events[0], { seq: 1, recalled: true, text: '' }, 'history shows the tombstone');

  // a group across processes: the creator's recall reaches a legacy member on another process
  const gid = await phone.createGroup('across');
  await bob.joinGroup(gid);
  const carol = await LineClient.connect(t, n2!.port);
  t.equal((await login(carol, idc, 'pw')).errno, 0);
  carol.send({ msgid: 9, groupid: gid });
  await barrier(carol);
  const said = await bob.sendGroup(gid, 'shown then recalled');
  t.match(await carol.msg(10), { msg: 'shown then recalled', msgSeq: said.msgSeq });
  await phone.recall(said.conv, said.msgSeq);
  const line = await carol.next((f) => f.msgid === 10 && f.msg === '[recalled a message]', 5000);
  t.match(line, { id: ida, groupid: gid }, 'a legacy member gets the recall as a line from the recaller');
});
