/**
 * The command lines' answers to mistakes: a bad flag gets one line and where the options are
 * listed (not the whole help), `migrate --help` lists only its own options, and a start on a
 * taken port says so in one line, exits 1 and leaves no --db file behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { ROOT, tempDir } from '../fixtures/harness.js';

function run(bin: 'chatserver' | 'chatclient', ...args: string[]) {
  return spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(ROOT, 'bin', bin), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

t.test('a bad flag or argument: one error line and the --help to read, exit 1', async (t) => {
  const cases: Array<[ReturnType<typeof run>, string, string]> = [
    [run('chatserver', '--bogus'), "chatserver: unknown option '--bogus'", '(chatserver --help lists the options)'],
    [run('chatserver', '--port', 'x'), "chatserver: option '-p, --port <port>' argument 'x' is invalid. --port must be an integer from 0 to 65535 (not \"x\")", '(chatserver --help lists the options)'],
    [run('chatserver', 'migrate', '--port', '1'), "chatserver: unknown option '--port'", '(chatserver migrate --help lists the options)'],
    [run('chatclient', '--bogus'), "chatclient: unknown option '--bogus'", '(chatclient --help lists the options)'],
    [run('chatclient', 'send', '--bogus', '2', 'hi'), "chatclient: unknown option '--bogus'", '(chatclient send --help lists the options)'],
    [run('chatclient', 'history'), "chatclient: missing required argument 'conv'", '(chatclient history --help lists the options)'],
  ];
  for (const [r, error, hint] of cases) {
    t.equal(r.status, 1, error);
    t.same(lines(r.stderr), [error, hint]);
    t.equal(r.stdout, '');
  }
});

t.test('migrate --help lists only what migrate uses', async (t) => {
  const r = run('chatserver', 'migrate', '--help');
  t.equal(r.status, 0);
  const flags = r.stdout.match(/^ {2}(?:-\w, )?--[a-z-]+/gm)?.map((f) => f.trim()) ?? [];
  t.same(flags, ['--db', '--mysql', '-h, --help']);
});

t.test('a start on a taken port: one line naming it, exit 1, no database file', async (t) => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.teardown(() => holder.close());
  const port = (holder.address() as net.AddressInfo).port;
  const dir = tempDir(t);
  for (const [args, flag] of [
    [['--port', String(port)], '--port'],
    [['--port', '0', '--metrics-port', String(port)], '--metrics-port'],
  ] as const) {
    const db = path.join(dir, `${flag.slice(2)}.db`);
    const r = run('chatserver', ...args, '--db', db);
    t.equal(r.status, 1, `${flag}: exit 1`);
    t.same(lines(r.stderr), [`chatserver: ${flag} ${port}: 127.0.0.1:${port} is in use by another process`]);
    t.notOk(existsSync(db), `${flag}: no ${db}`);
  }
});
