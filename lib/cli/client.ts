/**
 * `chatclient`: the console client. `chatclient [host] [port]` is the original ChatClient's
 * interactive menu and commands (plus recall, history, read markers, receipts, unread counts);
 * the subcommands (send, sendgroup, tail, history, recall, register) are for scripts. It speaks
 * v2, so a script can send while the same user's interactive client is open; the interactive
 * client speaks the original protocol to a server that does not answer v2 (or with --legacy).
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { ClientOptions } from '../client/client.js';
import { PROBE_MS } from '../client/probe.js';
import { defaultOptions } from '../config.js';
import { Exit, EXIT_CODES_HELP } from './client/errors.js';
import { runInteractive } from './client/interactive.js';
import { defaultKeysDir } from './client/keys.js';
import * as script from './client/script.js';
import { shortUsageErrors } from './usage.js';

function int(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** $CHAT_PROBE_MS, else PROBE_MS: how long the v2 PING's answer is waited for */
function probeMs(): number {
  const v = Number(process.env.CHAT_PROBE_MS);
  return Number.isSafeInteger(v) && v > 0 ? v : PROBE_MS;
}

interface GlobalFlags {
  host?: string;
  port?: number;
  user?: number;
  passwordFile?: string;
  timeout: number;
  english: boolean;
  color: boolean;
  tls?: boolean;
  ca?: string;
  maxFrame: number;
  legacy: boolean;
  keysDir?: string;
}

/** the server to talk to: plain TCP, or TLS with `--tls` (trusting `--ca <file>` if given) */
function endpoint(host: string, port: number, f: GlobalFlags): ClientOptions {
  const ep = { host, port, maxFrameBytes: f.maxFrame };
  if (!f.tls && !f.ca) return ep;
  return { ...ep, tls: f.ca ? { ca: readFileSync(f.ca) } : {} };
}

function scriptOptions(cmd: Command): script.ScriptOptions {
  const f = cmd.optsWithGlobals<GlobalFlags>();
  if (f.legacy) throw new script.ExitError(Exit.USAGE, `--legacy is for the interactive client: ${cmd.name()} needs a clusterchat server (v2)`);
  return {
    endpoint: endpoint(f.host ?? '127.0.0.1', f.port ?? 6000, f),
    user: f.user,
    passwordFile: f.passwordFile,
    timeout: f.timeout,
    english: f.english,
    keysDir: f.keysDir ?? defaultKeysDir(),
  };
}

async function flushAndExit(code: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write('', () => process.stderr.write('', () => resolve())));
  process.exit(code);
}

/** runs a script command: exit 0, or its ExitError's code with one line on stderr */
function run(fn: () => Promise<void>): Promise<void> {
  // (a usage error thrown while the arguments are read counts as the command's failure)
  return Promise.resolve().then(fn).then(
    () => flushAndExit(Exit.OK),
    (err: unknown) => {
      const code = err instanceof script.ExitError ? err.code : Exit.CONNECT;
      process.stderr.write(`chatclient: ${err instanceof Error ? err.message : String(err)}\n`);
      return flushAndExit(code);
    },
  );
}

const INTERACTIVE_HELP = `
Interactive use (the original ChatClient's menu: 1 login, 2 register, 3 quit). After login:
  chat:friendid:message          groupchat:groupid:message
  addfriend:friendid             creategroup:groupname:groupdesc      addgroup:groupid
  recall:seq | recall:conv:seq   history:conv, then more             status:seq | status:conv:seq
  read | read:conv | read:conv:seq                                    convs      loginout   quit
  encrypt:conv | encrypt:conv:off (end-to-end)  fingerprint | fingerprint:userid
  (conv: 13 for user 13, g5 for group 5; type help after login for the full list)
Incoming lines: "<time> [<id>]<name> said: <msg> #<seq>", groups prefixed "群消息[<groupid>]:".
Menus and prompts are printed on pipes too (no colours, no redrawing there).

Against the original C++ ClusterChatServer (or with --legacy) it speaks the original protocol
(msgid 1-10): a server that does not answer a v2 PING within 1.5 s (or $CHAT_PROBE_MS ms) is
taken for one. Then only the original's commands work (and quit); no #seq, recall, history,
read markers or receipts.

Scripts (no menus or prompts; the password is the first line of --password-file, or $CHAT_PASSWORD):
  chatclient --user 12 --password-file pw send 13 "hi"
  chatclient --user 12 --password-file pw send --group 5 "hi"     (or: sendgroup 5 hi)
  chatclient --user 12 --password-file pw tail --json --count 10
  chatclient --user 12 --password-file pw history 13 --limit 50
  CHAT_PASSWORD=secret chatclient register "li si"                  (prints the new user id)
Scripts use --host/--port (default 127.0.0.1:6000). A user whose device key file exists (made by
the interactive encrypt command) reads end-to-end encrypted messages in scripts too, and send
seals in the conversations it seals.

${EXIT_CODES_HELP}`;

export async function main(argv = process.argv): Promise<void> {
  const program = new Command('chatclient')
    .description('clusterchat console client (the ClusterChatServer ChatClient, speaking v2)')
    .argument('[host]', 'server address (default 127.0.0.1)')
    .argument('[port]', 'server port (default 6000)', int('port', 1, 65535))
    .option('--host <host>', 'server address, for the subcommands (default 127.0.0.1)')
    .addOption(new Option('-p, --port <port>', 'server port, for the subcommands (default 6000)').argParser(int('port', 1, 65535)))
    .addOption(new Option('-u, --user <id>', 'user id to log in as (subcommands)').argParser(int('user', 1)))
    .option('--password-file <file>', 'file whose first line is the password (else $CHAT_PASSWORD)')
    .addOption(new Option('--timeout <seconds>', 'subcommands: how long to wait for the server').default(15).argParser(int('timeout', 1)))
    .option('--english', 'English group prefix "group[<id>]:" and English-only help', false)
    .option('--no-color', 'no colours (also when $NO_COLOR is set or output is not a terminal)')
    .option('--tls', 'connect with TLS (the server runs with --tls-cert/--tls-key)')
    .option('--ca <file>', 'with TLS: trust this CA certificate (PEM), e.g. a self-signed server certificate; implies --tls')
    .addOption(
      new Option('--max-frame <bytes>', "the server's --max-frame: a message whose frame is larger is refused before it is sent")
        .default(defaultOptions.maxFrame)
        .argParser(int('max-frame', 64)),
    )
    .option('--legacy', 'speak the original ClusterChatServer protocol (msgid 1-10) without asking the server first', false)
    .option('--keys-dir <dir>', 'where device keys for end-to-end encryption are kept, one file per user and server (default $CHAT_KEYS_DIR, else $XDG_CONFIG_HOME/clusterchat, else ~/.config/clusterchat)')
    .addHelpText('after', INTERACTIVE_HELP)
    .action(async (hostArg: string | undefined, portArg: number | undefined, flags: GlobalFlags) => {
      const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
      const code = await runInteractive({
        endpoint: endpoint(hostArg ?? flags.host ?? '127.0.0.1', portArg ?? flags.port ?? 6000, flags),
        english: flags.english,
        color: tty && flags.color && !process.env.NO_COLOR,
        tty,
        input: process.stdin,
        output: process.stdout,
        pageSize: 10,
        legacy: flags.legacy,
        probeMs: probeMs(),
        keysDir: flags.keysDir ?? defaultKeysDir(),
      });
      await flushAndExit(code);
    });

  program
    .command('register')
    .description('register a user; prints the new user id')
    .argument('<name>', 'user name')
    .action((name: string, _o: unknown, cmd: Command) => run(() => script.register(scriptOptions(cmd), name)));

  program
    .command('send')
    .description('send one message to a user (or, with --group, to a group) and exit once the server stored it')
    .argument('<to>', 'user id (group id with --group)', int('to', 1))
    .argument('<message...>', 'the text (words are joined with spaces)')
    .option('-g, --group', 'send to a group')
    .option('--json', 'print the server ack (conv, msgSeq, mid, ts) as JSON')
    .action((to: number, words: string[], o: { group?: boolean; json?: boolean }, cmd: Command) =>
      run(() => script.send({ ...scriptOptions(cmd), json: o.json === true }, to, o.group === true, words.join(' '))),
    );

  program
    .command('sendgroup')
    .description('send one message to a group (same as send --group)')
    .argument('<groupid>', 'group id', int('groupid', 1))
    .argument('<message...>', 'the text (words are joined with spaces)')
    .option('--json', 'print the server ack as JSON')
    .action((gid: number, words: string[], o: { json?: boolean }, cmd: Command) =>
      run(() => script.send({ ...scriptOptions(cmd), json: o.json === true }, gid, true, words.join(' '))),
    );

  program
    .command('tail')
    .description('print incoming messages (first those not yet delivered) until killed, or until --count')
    .option('--json', 'one JSON object per line (conv, seq, kind, mid, ts, time, from, text, recalled, groupid|toid, recalledSeq, own)')
    .addOption(new Option('-n, --count <n>', 'exit after printing n messages').argParser(int('count', 0)))
    .action((o: { json?: boolean; count?: number }, cmd: Command) =>
      run(() => script.tail({ ...scriptOptions(cmd), json: o.json === true, count: o.count })),
    );

  program
    .command('history')
    .description("print a conversation's latest messages, oldest first (conv: 13 for user 13, g5 for group 5)")
    .argument('<conv>', 'conversation')
    .option('--json', 'one JSON object per line')
    .addOption(new Option('--limit <n>', 'how many').default(20).argParser(int('limit', 1, 500)))
    .action((conv: string, o: { json?: boolean; limit: number }, cmd: Command) =>
      run(() => script.history({ ...scriptOptions(cmd), json: o.json === true, limit: o.limit }, conv)),
    );

  program
    .command('recall')
    .description('recall your message at seq in a conversation (conv: 13 for user 13, g5 for group 5)')
    .argument('<conv>', 'conversation')
    .argument('<seq>', 'the message seq', int('seq', 1))
    .action((conv: string, seq: number, _o: unknown, cmd: Command) => run(() => script.recall(scriptOptions(cmd), conv, seq)));

  await shortUsageErrors(program).parseAsync(argv);
}
