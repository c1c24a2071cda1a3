/**
 * The start menu over a pipe, as people and programs drive the original ChatClient: its exact
 * menu and prompts, register, login with the overview block, the errors, loginout, quit; and
 * a server that is not there.
 */
import t from 'tap';
import { refusedPort, startServer } from '../fixtures/harness.js';
import { client, libClient, users } from './fixtures/util.js';

const MENU = '========================\n1. login\n2. register\n3. quit\n========================\nchoice:';

t.test('register and log in through the menu; overview; help; loginout; quit', async (t) => {
  const srv = await startServer(t);
  const p = client(t, ['127.0.0.1', String(srv.port)]);
  await p.waitOut(MENU);
  p.type('2', 'zhang san', '123456');
  const reg = /name register success, userid is (\d+), do not forget it!/;
  await p.waitOut(reg);
  const id = Number(reg.exec(p.out)![1]);
  t.ok(p.out.startsWith(`${MENU}username:userpassword:name register success`), "the original's prompts, in its words");

  p.type('2', 'zhang san', 'other');
  await p.waitOut('name is already exist, register error!');

  p.type('7');
  await p.waitOut('choice:invalid input!');

  p.type('1', String(id), 'wrong');
  await p.waitOut('choice:userid:userpassword:id or password is invalid!');

  // a friend and a group, so the overview has something in each list
  const [peer] = await users(srv.port, 'li si');
  const lib = await libClient(t, srv.port, peer!);
  await lib.addFriend(id);
  const gid = await lib.createGroup('C++ chat project', 'start develop a chat project');
  const other = await libClient(t, srv.port, id, '123456');
  await other.joinGroup(gid);
  other.close();

  p.type('1', String(id), '123456');
  const at = await p.waitOut('> ');
  const block = [
    '======================login user======================',
    `current login user => id:${id} name:zhang san`,
    '----------------------friend list---------------------',
    `${peer} li si online`,
    '----------------------group list----------------------',
    `${gid} C++ chat project start develop a chat project`,
    `${peer} li si online creator`,
    `${id} zhang san online normal`,
    '======================================================',
  ].join('\n');
  t.ok(p.out.includes(`choice:userid:userpassword:${block}\n`), `the overview block:\n${p.out}`);
  t.ok(at > p.out.indexOf(block), 'then the prompt');

  p.type('help');
  await p.waitOut('show command list >>> ');
  for (const cmd of ['help', 'chat', 'addfriend', 'creategroup', 'addgroup', 'groupchat', 'loginout', 'recall', 'history', 'more', 'read', 'status', 'convs', 'quit']) {
    t.match(p.out, new RegExp(`\\n${cmd} : `), `help lists ${cmd}`);
  }
  t.match(p.out, 'chat : one-to-one chat, format chat:friendid:message | 一对一聊天，格式chat:friendid:message');

  p.type('nonsense', 'chat:abc', 'groupchat:5', 'creategroup:', 'addfriend:x', 'recall:3');
  await p.waitOut('no current conversation');
  t.match(p.out, 'invalid input command!');
  t.match(p.out, 'chat command invalid!');
  t.match(p.out, 'groupchat command invalid!');
  t.match(p.out, 'creategroup command invalid!');
  t.match(p.out, 'addfriend command invalid!');

  p.type('addfriend:99999');
  await p.waitOut('cannot add friend 99999: no such user');
  p.type(`addfriend:${id}`);
  await p.waitOut('you cannot add yourself as a friend');
  p.type('addgroup:4242');
  await p.waitOut('cannot join group 4242: no such group');
  p.type('creategroup:C++ chat project:again');
  await p.waitOut('a group with this name already exists');

  const before = p.out.length;
  p.type('loginout');
  await p.waitOut(MENU, 20_000, before);
  p.type('3');
  t.equal(await p.exitCode(), 0, 'quit exits 0');
});

t.test('the end of piped input quits (exit 0)', async (t) => {
  const srv = await startServer(t);
  const p = client(t, ['127.0.0.1', String(srv.port)]);
  p.child.stdin!.end('2\nann\npw\n');
  t.equal(await p.exitCode(), 0);
  t.match(p.out, 'name register success');
});

t.test('no server: "cannot connect to ...: connection refused", exit 2', async (t) => {
  const port = await refusedPort();
  const p = client(t, ['127.0.0.1', String(port)]);
  t.equal(await p.exitCode(), 2);
  t.equal(p.err, `cannot connect to 127.0.0.1:${port}: connection refused\n`);
  t.equal(p.out, '', 'no menu');
});

t.test('--help documents the commands and the exit codes; bad arguments exit 1', async (t) => {
  const h = client(t, ['--help']);
  t.equal(await h.exitCode(), 0);
  t.match(h.out, 'Usage: chatclient');
  t.match(h.out, /send \[options\] <to> <message\.\.\.>/);
  t.match(h.out, /tail \[options\]/);
  t.match(h.out, '3  login refused');
  t.match(h.out, '4  the server refused the request');
  const bad = client(t, ['127.0.0.1', 'notaport']);
  t.equal(await bad.exitCode(), 1);
  t.match(bad.err, 'port must be an integer');
});
