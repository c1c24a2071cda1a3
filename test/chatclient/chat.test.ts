/**
 * Two interactive clients (real processes, driven over pipes) against a real server: chat
 * both ways with receipts, group chat, recall shown as recalled on the other side, offline
 * messages at login, history paging, read markers, message status, unread counts.
 */
import t from 'tap';
import { startServer, waitFor } from '../fixtures/harness.js';
import { libClient, loggedIn, users } from './fixtures/util.js';

const TIME = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';

t.test('chat both ways, receipts, group chat, recall, status', async (t) => {
  const srv = await startServer(t);
  const [a, b] = await users(srv.port, 'zhang san', 'li si');
  const A = await loggedIn(t, srv.port, a!);
  const B = await loggedIn(t, srv.port, b!);

  A.type(`addfriend:${b}`);
  await A.waitOut(`friend ${b} added`);
  A.type(`chat:${b}:hello li si: how are you?`);
  // the original's line, with the seq after it
  await B.waitOut(new RegExp(`${TIME} \\[${a}\\]zhang san said: hello li si: how are you\\? #1\\n`));
  // (ann does not know li si's name yet: only ids until li si's first line)
  await A.waitOut(new RegExp(`${TIME} \\[${a}\\]zhang san said to \\[${b}\\]: hello li si: how are you\\? #1 \\((sent|delivered)\\)`));
  if (!A.out.includes('#1 (delivered)')) await A.waitOut(`#1 delivered to [${b}]`);

  B.type(`chat:${a}:fine, thanks`);
  await A.waitOut(new RegExp(`${TIME} \\[${b}\\]li si said: fine, thanks #2\\n`));
  await B.waitOut(`said to [${a}]zhang san: fine, thanks #2`);

  // a read marker shows up on the sender's side as "read by"
  A.type(`chat:${b}:third`);
  await B.waitOut('said: third #3');
  B.type(`read:${a}`);
  await B.waitOut(`[${a}]zhang san: read up to #3`);
  await A.waitOut(`#3 read by [${b}]li si`);
  A.type('status:3');
  await A.waitOut(`#3 ([${b}]li si) from [${a}]zhang san: read`);

  // group chat: the original's 群消息[<groupid>]: prefix
  A.type('creategroup:team:the team');
  const created = /group team created, groupid is (\d+)/;
  await A.waitOut(created);
  const gid = Number(created.exec(A.out)![1]);
  B.type(`addgroup:${gid}`);
  await B.waitOut(`joined group ${gid}`);
  A.type(`groupchat:${gid}:hello team`);
  await B.waitOut(new RegExp(`群消息\\[${gid}\\]:${TIME} \\[${a}\\]zhang san said: hello team #1\\n`));
  // the receipt: a line of its own, unless the ack came after it (then the line says delivered)
  await A.waitOut(new RegExp(`群消息\\[${gid}\\]:#1 delivered to \\[${b}\\]li si|said: hello team #1 \\(sent\\)`));
  B.type(`groupchat:${gid}:hi all`);
  await A.waitOut(new RegExp(`群消息\\[${gid}\\]:${TIME} \\[${b}\\]li si said: hi all #2\\n`));

  // recall: by seq in the current conversation (the group, last sent to)
  A.type(`groupchat:${gid}:oops, wrong text`);
  await B.waitOut('said: oops, wrong text #3');
  A.type('recall:3');
  await A.waitOut(`recalled #3 (group[${gid}]team)`);
  await B.waitOut(new RegExp(`群消息\\[${gid}\\]:${TIME} \\[${a}\\]zhang san recalled #3\\n`));
  // and by conv:seq, one-to-one
  A.type(`recall:${b}:3`);
  await A.waitOut(`recalled #3 ([${b}]li si)`);
  await B.waitOut(new RegExp(`${TIME} \\[${a}\\]zhang san recalled #3\\n`));
  B.type(`recall:${a}:2`);
  await B.waitOut(`recalled #2 ([${a}]zhang san)`);
  await A.waitOut(new RegExp(`${TIME} \\[${b}\\]li si recalled #2\n`));
  // nothing arrived twice
  for (const line of ['hello li si: how are you? #1', 'hello team #1', 'hi all #2']) {
    t.equal(B.count(line) + A.count(line), 2, `"${line}" shown once on each side`);
  }
  // the recipient's history shows the tombstone, not the text
  B.type(`history:g${gid}`);
  await B.waitOut(`said: [recalled] #3`);
  t.equal(B.count('oops, wrong text'), 1, 'the recalled text was shown once, live, and never again');

  B.type(`status:g:${gid}:1`);
  // (li si joined after logging in: the group's name is not known on that side)
  await B.waitOut(new RegExp(`#1 \\(group\\[${gid}\\]\\) from \\[${a}\\]zhang san: \\w+, delivered 1/1, read \\d/1`));
  A.type(`status:g${gid}:1`);
  await A.waitOut(`  delivered to: [${b}]li si`);

  A.type('quit');
  B.type('quit');
  t.equal(await A.exitCode(), 0);
  t.equal(await B.exitCode(), 0);
});

t.test('offline messages after the overview; history paging; convs; read', async (t) => {
  const srv = await startServer(t);
  const [a, b] = await users(srv.port, 'ann', 'ben');
  // ann sends 23 messages while ben is away (from a library client: another device)
  const ann = await libClient(t, srv.port, a!);
  for (let i = 1; i <= 23; i++) await ann.sendTo(b!, `message ${i}`);
  const gid = await ann.createGroup('g', '');

  const B = await loggedIn(t, srv.port, b!);
  await B.waitOut('said: message 23 #23');
  const overviewEnd = B.out.indexOf('======================================================\n');
  t.ok(overviewEnd > 0 && B.out.indexOf('said: message 1 #1') > overviewEnd, 'offline messages come after the overview');
  for (let i = 1; i <= 23; i++) t.equal(B.count(`said: message ${i} #${i}\n`), 1, `message ${i} once`);

  B.type('convs');
  await B.waitOut(new RegExp(`\\[${a}\\]ann p:\\d+:\\d+ last #23 unread 23`));

  const mark = B.out.length;
  B.type(`history:${a}`);
  await B.waitOut(`history of [${a}]ann: #14-#23 of 23`, 20_000, mark);
  await B.waitOut('more: older messages', 20_000, mark);
  B.type('more');
  await B.waitOut(`history of [${a}]ann: #4-#13 of 23`, 20_000, mark);
  B.type('more');
  await B.waitOut(`history of [${a}]ann: #1-#3 of 23`, 20_000, mark);
  await B.waitOut('start of the conversation', 20_000, mark);
  B.type('more');
  await B.waitOut(`no older messages in [${a}]ann`, 20_000, mark);

  // ann's other device learns about the reading
  const st: Array<Record<string, unknown>> = [];
  ann.on('status', (f) => st.push(f));
  B.type('read');
  await B.waitOut(`[${a}]ann: read up to #23`);
  await waitFor(() => st.some((f) => f.read === 23), 20_000);
  B.type('convs');
  await B.waitOut(new RegExp(`\\[${a}\\]ann p:\\d+:\\d+ last #23 unread 0`));
  B.type('read');
  await B.waitOut('nothing unread');

  B.type(`history:g${gid}`);
  await B.waitOut('you are not a member of this conversation');
  B.type('history:nonsense');
  await B.waitOut('history command invalid!');
  B.type('loginout');
  await B.waitOut('choice:', 20_000, B.out.length);
  B.type('3');
  t.equal(await B.exitCode(), 0);
});
