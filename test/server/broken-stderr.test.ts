/**
 * A server whose log reader went away (`chatserver 2>&1 | head -c 50`): its log writes fail
 * with EPIPE, and SIGTERM must still end it within seconds. Runs the compiled server.
 */
import path from 'node:path';
import t from 'tap';
import { delay, spawnServer, tempDir } from '../fixtures/harness.js';

t.test('SIGTERM ends a server whose stderr and stdout pipes are closed', async (t) => {
  const srv = await spawnServer(t, ['--db', path.join(tempDir(t), 'chat.db')]);
  srv.child.stderr!.destroy();
  srv.child.stdout!.destroy();
  // nothing logged between: the first write to fail is the shutdown's own ('shutting down')
  await delay(200);
  const started = Date.now();
  const code = await Promise.race([srv.stop('SIGTERM'), delay(5000).then(() => 'still running' as const)]);
  t.equal(code, 0, 'exited with code 0');
  t.ok(Date.now() - started < 5000, `within 5 s (${Date.now() - started} ms)`);
});
