/**
 * The browser client in a real browser (chromium, headless): two pages and one bin/chatclient
 * chat with each other through one server (pages over WebSocket, the console client over TCP):
 * register, chat both ways, status ticks, a group with read counts, recall seen on both sides,
 * and after a reload the history in order; then a server restart, during which a page's message
 * waits and is sent once it reconnected.
 */
import path from 'node:path';
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { BrowserUser, launchChromium } from '../fixtures/browser.js';
import { spawnServer, startServer, tempDir, waitFor } from '../fixtures/harness.js';
import { loggedIn, users } from '../chatclient/fixtures/util.js';

t.setTimeout(120_000);

const pair = (a: number, b: number) => (a < b ? `p:${a}:${b}` : `p:${b}:${a}`);

t.test('two browser pages and a console client: chat, receipts, group, recall, reload', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const srv = await startServer(t, { wsPort: 0 });
  const wsPort = srv.wsAddress!.port;
  const [ann, bob] = await Promise.all([BrowserUser.open(browser, wsPort), BrowserUser.open(browser, wsPort)]);
  const annId = await ann!.register('ann', 'ann-pw');
  const bobId = await bob!.register('bob', 'bob-pw');
  t.not(annId, bobId, 'each page registered its own user');
  await ann!.login('ann-pw');
  await bob!.login('bob-pw');
  const [catId] = await users(srv.port, 'cat');
  const cat = await loggedIn(t, srv.port, catId!, 'pw');

  // ann -> bob: sent, delivered (bob's page has it, the conversation closed: 1 unread), read
  await ann!.submit('add-friend', { id: String(bobId) });
  await ann!.page.locator('#chat-title', { hasText: `[${bobId}]bob` }).waitFor();
  await ann!.send('hello bob');
  await ann!.waitStatus(1, 'delivered');
  const ab = pair(annId, bobId);
  t.equal(await bob!.conv(ab).locator('.unread').innerText(), '1', "bob's list shows 1 unread");
  await bob!.openConv(ab);
  t.match(await bob!.msg(1).innerText(), /#1[\s\S]*\[\d+\]ann[\s\S]*hello bob/);
  await ann!.waitStatus(1, 'read');
  t.equal(await bob!.conv(ab).locator('.unread').count(), 0, 'read: no unread count left');

  // bob -> ann, seen at once in ann's open conversation
  await bob!.send('hi ann');
  await ann!.msg(2).filter({ hasText: 'hi ann' }).waitFor();
  await bob!.waitStatus(2, 'read');

  // the console client and a page, both ways
  await ann!.submit('add-friend', { id: String(catId) });
  await ann!.page.locator('#chat-title', { hasText: `[${catId}]cat` }).waitFor();
  await ann!.send('hi cat, from the browser');
  await cat.waitOut(`[${annId}]ann said: hi cat, from the browser #1`);
  cat.type(`chat:${annId}:hi ann, from the terminal`);
  await ann!.msg(2).filter({ hasText: 'hi ann, from the terminal' }).waitFor();
  // read before its ack arrived: the message line itself says "(read)"; else a line follows
  await cat.waitOut(new RegExp(`hi ann, from the terminal #2 \\(read\\)|#2 read by \\[${annId}\\]ann`));

  // a group: ann creates it, bob (page) and cat (console) join; read counts and who read
  await ann!.submit('create-group', { name: 'trio', desc: 'three clients' });
  const gid = Number(/its id is (\d+)/.exec(await ann!.logLine(/group trio created, its id is \d+/))![1]);
  await bob!.submit('join-group', { id: String(gid) });
  await bob!.logLine(new RegExp(`joined group ${gid}`));
  cat.type(`addgroup:${gid}`);
  await cat.waitOut(`joined group ${gid}`);
  await ann!.openConv(`g:${gid}`);
  await ann!.send('welcome to trio');
  await cat.waitOut('said: welcome to trio #1');
  await bob!.msg(1).filter({ hasText: 'welcome to trio' }).waitFor();
  // bob has the group open: he read it; cat has not yet
  await ann!.msg(1).locator('.readby', { hasText: `[${bobId}]bob` }).waitFor();
  t.equal(await ann!.msg(1).locator('.counts').innerText(), 'read 1/2');
  cat.type(`read:g${gid}`);
  await ann!.msg(1).locator('.counts', { hasText: 'read 2/2' }).waitFor();
  await ann!.waitStatus(1, 'read');
  await ann!.msg(1).locator('.counts').click();
  await ann!.logLine(new RegExp(`#1 \\(group\\[${gid}\\]trio\\): delivered to .*; read by \\[${bobId}\\]bob, \\[${catId}\\]cat`));

  // recall: seen in bob's page and in cat's console
  await ann!.msg(1).locator('.recall').click();
  await ann!.logLine(/recalled #1/);
  await bob!.msg(1).filter({ hasText: '[recalled]' }).waitFor();
  await cat.waitOut(`[${annId}]ann recalled #1`);

  // an error is a line on the page
  await bob!.submit('join-group', { id: '999999' });
  await bob!.page.locator('#log li.error', { hasText: 'join group failed' }).waitFor();

  // reload: log in again, the conversation's history comes back in order
  await bob!.page.reload();
  await bob!.connected();
  await bob!.login('bob-pw');
  await bob!.openConv(ab);
  await bob!.msg(2).waitFor();
  t.same(await bob!.shown(), [
    { seq: 1, text: 'hello bob' },
    { seq: 2, text: 'hi ann' },
  ]);
  t.same([...ann!.pageErrors, ...bob!.pageErrors], [], 'no script errors in either page');
});

t.test('the page reconnects after a server restart and sends what waited, once', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const db = path.join(tempDir(t), 'chat.db');
  const first = await spawnServer(t, ['--db', db, '--ws-port', '0']);
  const wsPort = first.wsPort!;
  const ann = await BrowserUser.open(browser, wsPort);
  const annId = await ann.register('ann', 'ann-pw');
  await ann.login('ann-pw');
  const [bobId] = await users(first.port, 'bob');
  const bob = await ChatClient.connect({ host: '127.0.0.1', port: first.port, backoffMs: [100, 1000] });
  t.teardown(() => bob.close());
  const got: ChatEvent[] = [];
  bob.on('event', (e) => got.push(e));
  bob.on('error', () => undefined);
  await bob.login(bobId!, 'pw');
  await ann.submit('add-friend', { id: String(bobId) });
  await ann.page.locator('#chat-title', { hasText: `[${bobId}]bob` }).waitFor();
  await ann.send('before the restart');
  await ann.waitStatus(1, 'delivered');

  await first.stop();
  await ann.page.locator('#conn', { hasText: 'reconnecting' }).waitFor();
  await ann.page.locator('#log li.error', { hasText: 'connection lost' }).waitFor();
  await ann.send('sent while the server was down');
  await spawnServer(t, ['--db', db, '--ws-port', String(wsPort)], {}, first.port);
  await ann.page.locator('#conn', { hasText: 'connected' }).waitFor({ timeout: 60_000 });
  await ann.msg(2).filter({ hasText: 'sent while the server was down' }).waitFor({ timeout: 60_000 });
  await waitFor(() => got.some((e) => e.seq === 2), 60_000, () => `bob got ${JSON.stringify(got)}`);
  t.same(
    got.map((e) => [e.seq, e.text, e.from.id]),
    [
      [1, 'before the restart', annId],
      [2, 'sent while the server was down', annId],
    ],
    'bob got each message once, in order',
  );
  await ann.waitStatus(2, 'delivered');
  t.same(ann.pageErrors, []);
});
