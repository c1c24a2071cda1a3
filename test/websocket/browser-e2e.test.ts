/**
 * End-to-end encryption in the browser client (headless chromium): a page ticks "encrypted",
 * which makes its device key (kept in the page's localStorage) and seals its messages; a client
 * library device reads them, and its sealed answers show on the page as `[e2e] <text>`. After a
 * reload the same browser (same key) reads its history and still seals; the server's copy holds
 * no plaintext.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { loadIdentity, newIdentity } from '../../lib/client/e2e.js';
import { BrowserUser, launchChromium } from '../fixtures/browser.js';
import { startServer, tempDir, waitFor } from '../fixtures/harness.js';

t.setTimeout(120_000);

t.test('a page seals and opens; its key survives a reload', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const dir = tempDir(t);
  const srv = await startServer(t, { wsPort: 0, db: path.join(dir, 'chat.db') });
  const wsPort = srv.wsAddress!.port;
  const ann = await BrowserUser.open(browser, wsPort);
  const annId = await ann.register('ann', 'ann-pw');
  await ann.login('ann-pw');

  const ben = await ChatClient.connect({ host: '127.0.0.1', port: srv.port });
  t.teardown(() => ben.close());
  const benId = await ben.register('ben', 'pw');
  const seen: ChatEvent[] = [];
  ben.on('event', (e) => seen.push(e));
  await ben.enableE2E(await loadIdentity(await newIdentity()));
  await ben.login(benId, 'pw');
  const conv = annId < benId ? `p:${annId}:${benId}` : `p:${benId}:${annId}`;

  await ann.submit('add-friend', { id: String(benId) });
  await ann.page.locator('#chat-title', { hasText: `[${benId}]` }).waitFor();
  await ann.page.locator('#composer input[name=e2e]').check();
  await ann.logLine(/this browser has a device key now/);
  await ann.logLine(/end-to-end encrypted from now on/);
  await ann.send('sealed in the browser');
  await waitFor(() => seen.length === 1, 20_000, () => JSON.stringify(seen));
  t.match(seen[0], { text: 'sealed in the browser', sealed: 'ok', from: { id: annId } }, 'the library device opens it');
  await ann.msg(1).filter({ hasText: '[e2e] sealed in the browser' }).waitFor();

  ben.setSealed(conv, true);
  await ben.sendTo(annId, 'sealed answer');
  await ann.msg(2).filter({ hasText: '[e2e] sealed answer' }).waitFor();

  await ann.page.reload();
  await ann.connected();
  await ann.login('ann-pw');
  await ann.openConv(conv);
  await ann.msg(1).filter({ hasText: '[e2e] sealed in the browser' }).waitFor();
  await ann.msg(2).filter({ hasText: '[e2e] sealed answer' }).waitFor();
  t.ok(await ann.page.locator('#composer input[name=e2e]').isChecked(), 'the conversation is still sealed after the reload');
  await ann.send('after the reload');
  await waitFor(() => seen.length === 3, 20_000, () => JSON.stringify(seen));
  t.match(seen[2], { text: 'after the reload', sealed: 'ok' });

  const page = await ben.history(conv, { after: 0 });
  t.equal(page.events.length, 3);
  const bytes = Buffer.concat(readdirSync(dir).map((f) => readFileSync(path.join(dir, f))));
  t.ok(bytes.includes('x25519-hkdf-sha256-aes-256-gcm'), 'the envelopes are in the database file');
  t.notOk(bytes.includes('sealed in the browser') || bytes.includes('after the reload'), 'and no plaintext');
  t.strictSame(ann.pageErrors, [], 'no script errors on the page');
});
