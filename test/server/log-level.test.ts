/**
 * --log-level: --help lists every level it takes, `silent` included; `silent` runs a server
 * that writes nothing; any other word stops the process with one line naming the levels
 * (not pino's internal message), from the flag or from CHAT_LOG_LEVEL.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { freePort, LineClient, ROOT, spawnNode, tempDir } from '../fixtures/harness.js';

const BIN = path.join(ROOT, 'bin/chatserver');
const LEVELS = 'fatal, error, warn, info, debug, trace, silent';

function chatserver(args: string[], env: Record<string, string> = {}) {
  return spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, BIN, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
}

t.test('--help lists every level, silent included', async (t) => {
  const help = chatserver(['--help']);
  t.equal(help.status, 0);
  // commander wraps the help column at the terminal width: compare with spaces folded
  t.match(help.stdout.replace(/\s+/g, ' '), `--log-level <level> ${LEVELS}`);
});

t.test('a level pino does not know stops the process with one clear line', async (t) => {
  const db = path.join(tempDir(t), 'chat.db');
  for (const [how, args, env] of [
    ['flag', ['--log-level', 'loud'], {}],
    ['environment', [], { CHAT_LOG_LEVEL: 'loud' }],
  ] as const) {
    const r = chatserver(['--port', '0', '--db', db, ...args], env);
    t.equal(r.status, 1, `${how}: exit 1`);
    t.equal(r.stderr, `chatserver: --log-level must be one of ${LEVELS} (not "loud")\n`, `${how}: one line naming the levels`);
  }
});

t.test('silent: the server runs and writes nothing', async (t) => {
  const port = await freePort();
  const child = spawnNode([BIN, '--port', String(port), '--db', path.join(tempDir(t), 'chat.db'), '--log-level', 'silent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  // a silent server names no port: it is given one (a free one, so another process could take
  // it first: then the exit below says so)
  let c: LineClient | undefined;
  for (const until = Date.now() + 20_000; !c && child.exitCode === null && Date.now() < until; ) {
    c = await LineClient.connect(t, port).catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)));
  }
  if (!c) throw new Error(`the silent server did not come up on ${port}: ${out}`);
  c.send({ msgid: 28, v: 2, cmid: 'hi' });
  t.match(await c.msg(29), { cmid: 'hi' }, 'it answers');
  c.close();
  child.kill('SIGTERM');
  await exited;
  t.equal(child.exitCode, 0, 'and stops cleanly');
  t.equal(out, '', 'without a line on stdout or stderr');
});
