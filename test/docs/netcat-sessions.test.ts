/**
 * The netcat sessions of README.md ("Install and run") and docs/PROTOCOL.md ("A netcat
 * session"), replayed from the docs' own lines against bin/chatserver with a new database:
 * every reply the docs show must come, in order, and nothing else (values that differ on every
 * run, `time`, `ts`, `token` and `mid`, are not compared).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ROOT, spawnServer, startServer, tempDir } from '../fixtures/harness.js';
import { protocolSteps, readmeSteps, replay, type Parsed } from './netcat.js';

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const protocol = readFileSync(path.join(ROOT, 'docs/PROTOCOL.md'), 'utf8');

/** the parse found a real session: no problems, two terminals, typed lines and replies */
function checkParsed(t: Test, p: Parsed): void {
  t.same(p.problems, [], 'the session parses');
  t.equal(new Set(p.steps.map((s) => s.term)).size, 2, 'two terminals');
  t.ok(p.steps.filter((s) => s.kind === 'send').length >= 4, 'typed lines found');
  t.ok(p.steps.filter((s) => s.kind === 'expect').length >= 4, 'replies found');
}

async function binServer(t: Test): Promise<number> {
  return (await spawnServer(t, ['--db', path.join(tempDir(t), 'chat.db')])).port;
}

t.test('README.md: the netcat session, followed in order on a new database', async (t) => {
  const parsed = readmeSteps(readme);
  checkParsed(t, parsed);
  t.same(await replay(t, await binServer(t), parsed.steps), []);
});

t.test('docs/PROTOCOL.md: the netcat session, followed in order on a new database', async (t) => {
  const parsed = protocolSteps(protocol);
  checkParsed(t, parsed);
  t.same(await replay(t, await binServer(t), parsed.steps), []);
});

t.test('a doc whose session differs from the server fails', async (t) => {
  const fresh = async () => (await startServer(t)).port;
  const wrongId = readme.replace('{"errno":0,"id":2,"msgid":5}', '{"errno":0,"id":3,"msgid":5}');
  t.not(wrongId, readme, 'found the reply to break');
  t.not((await replay(t, await fresh(), readmeSteps(wrongId).steps)).length, 0, 'a wrong reply');

  const push = readme.split('\n').find((l) => l.startsWith('{"conv":"p:1:2","id":1,"msg":"hello"'))!;
  t.ok(push, 'found the push to drop');
  t.not((await replay(t, await fresh(), readmeSteps(readme.replace(`${push}\n`, '')).steps)).length, 0, 'a line the doc leaves out');

  t.not(readmeSteps(readme.replace('Terminal 2 logs in', 'Then log in')).problems.length, 0, 'a block with no terminal');

  const bobsPush = protocol.split('\n').find((l) => l.startsWith('bob:') && l.includes('"msg":"hi bob"'))!;
  t.ok(bobsPush, 'found the PROTOCOL.md push to break');
  const wrongText = protocol.replace(bobsPush, bobsPush.replace('"msg":"hi bob"', '"msg":"hello bob"'));
  t.not((await replay(t, await fresh(), protocolSteps(wrongText).steps)).length, 0, 'a wrong PROTOCOL.md push');
});
