/**
 * Recall survives a restart: the recall state is in the store, not in process memory (the
 * design document's `_msgToFromMap` is lost on restart). A message sent before a restart is
 * recalled after it, within the window; the recipient then sees the tombstone and the recall.
 */
import path from 'node:path';
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { spawnServer, tempDir, waitFor } from '../fixtures/harness.js';

t.setTimeout(60_000);

t.test('recall after a server restart', async (t) => {
  const db = path.join(tempDir(t), 'chat.db');
  const first = await spawnServer(t, ['--db', db]);
  const a = await ChatClient.connect({ host: '127.0.0.1', port: first.port, reconnect: false });
  const ida = await a.register('ann', 'pw');
  const idb = await a.register('ben', 'pw');
  await a.login(ida, 'pw');
  const sent = await a.sendTo(idb, 'said before the restart');
  await a.sendTo(idb, 'kept');
  a.close();
  t.equal(await first.stop('SIGTERM'), 0, 'graceful stop');

  const second = await spawnServer(t, ['--db', db]);
  const a2 = await ChatClient.connect({ host: '127.0.0.1', port: second.port, reconnect: false });
  const b = await ChatClient.connect({ host: '127.0.0.1', port: second.port, reconnect: false });
  t.teardown(() => {
    a2.close();
    b.close();
  });
  await a2.login(ida, 'pw');
  t.match(await a2.recall(sent.conv, sent.msgSeq), { errno: 0, recallSeq: 3 }, 'recalled by its sender after the restart');
  t.match(await a2.recall(sent.conv, sent.msgSeq), { errno: 0, already: true }, 'and the restart did not forget it');
  const got: ChatEvent[] = [];
  b.on('event', (e) => got.push(e));
  await b.login(idb, 'pw');
  await waitFor(() => got.length === 3, 20_000);
  t.same(
    got.map((e) => [e.seq, e.kind, e.text, e.recalled]),
    [
      [1, 'chat', '', true],
      [2, 'chat', 'kept', false],
      [3, 'recall', '', false],
    ],
  );
  t.notOk(JSON.stringify(got).includes('said before the restart'), 'the text is gone from storage');
});
