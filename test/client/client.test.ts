import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { startServer, waitFor } from '../fixtures/harness.js';

t.test('two v2 clients chat; the stream is ordered and includes own messages', async (t) => {
  const srv = await startServer(t);
  const a = await ChatClient.connect({ host: '127.0.0.1', port: srv.port });
  const b = await ChatClient.connect({ host: '127.0.0.1', port: srv.port });
  t.teardown(() => {
    a.close();
    b.close();
  });
  const ida = await a.register('ann', 'pw');
  const idb = await b.register('ben', 'pw');
  await a.login(ida, 'pw');
  for (let i = 1; i <= 5; i++) await a.sendTo(idb, `m${i}`);
  const got: ChatEvent[] = [];
  b.on('event', (e) => got.push(e));
  const info = await b.login(idb, 'pw');
  t.equal(info.convs[0]?.lastSeq, 5);
  await waitFor(() => got.length === 5, 20_000);
  t.same(got.map((e) => [e.seq, e.text, e.own]), [1, 2, 3, 4, 5].map((i) => [i, `m${i}`, false]));
  const mine: ChatEvent[] = [];
  a.on('event', (e) => mine.push(e));
  await Promise.all([b.sendTo(ida, 'r1'), b.sendTo(ida, 'r2')]);
  await waitFor(() => mine.length === 2, 20_000);
  t.same(mine.map((e) => [e.seq, e.text]), [[6, 'r1'], [7, 'r2']]);
  await waitFor(() => got.length === 7, 20_000);
  t.same(got.slice(5).map((e) => [e.seq, e.own]), [[6, true], [7, true]]);
});
