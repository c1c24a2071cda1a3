/**
 * `chatserver`: runs one server process; `chatserver migrate` applies the schema and exits.
 * Its flags are built from the option table (OPTIONS in lib/config.ts); every option has a CHAT_*
 * environment variable; flags win over the environment.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { buildStore, createApp } from '../app.js';
import { defaultOptions, envName, flagScale, flagValueProblem, optionName, OPTIONS, resolveOptions, type OptionSpec, type ServerOptions } from '../config.js';
import { checkPortFree } from './port.js';
import { shortUsageErrors } from './usage.js';

/** the commander option of one table entry, or null for a library-only option */
function flagOption(key: keyof ServerOptions, help = OPTIONS[key].help): Option | null {
  const spec: OptionSpec<unknown> = OPTIONS[key];
  if (!spec.flag) return null;
  const o = new Option(spec.short ? `${spec.short}, ${spec.flag}` : spec.flag, help).env(envName(key)!);
  // integers are checked as they are parsed; other values by resolveOptions, with the same messages
  if (spec.min !== undefined) o.argParser((v) => parseIntFlag(key, v));
  if (spec.default !== null) o.default(typeof spec.default === 'number' ? spec.default / flagScale(key) : spec.default);
  return o;
}

/** the CLI's flags, built from the option table: one per option that has a flag */
function serverOptions(cmd: Command): Command {
  for (const key of Object.keys(OPTIONS) as Array<keyof ServerOptions>) {
    const o = flagOption(key);
    if (o) cmd.addOption(o);
  }
  return cmd;
}

function parseIntFlag(key: keyof ServerOptions, v: string): number {
  const n = v.trim() === '' ? NaN : Number(v);
  const problem = flagValueProblem(key, n, JSON.stringify(v));
  if (problem) throw new InvalidArgumentError(problem);
  return n;
}

/** commander's values (by attribute name, in the flags' units) as options */
function toOptions(cmd: Command): ServerOptions {
  const flags = cmd.opts<Record<string, unknown>>();
  const byAttr = new Map(cmd.options.map((o) => [o.long, o.attributeName()]));
  const partial: Record<string, unknown> = {};
  for (const key of Object.keys(OPTIONS) as Array<keyof ServerOptions>) {
    const attr = byAttr.get(optionName(key));
    const v = attr === undefined ? undefined : flags[attr];
    if (v !== undefined) partial[key] = typeof v === 'number' ? v * flagScale(key) : v;
  }
  return resolveOptions(partial as Partial<ServerOptions>);
}

async function run(cmd: Command): Promise<void> {
  const opts = toOptions(cmd);
  await checkPortFree(opts.port, opts.host, '--port');
  if (opts.wsPort !== null) await checkPortFree(opts.wsPort, opts.host, '--ws-port');
  if (opts.metricsPort !== null) await checkPortFree(opts.metricsPort, opts.metricsHost, '--metrics-port');
  const app = createApp(opts);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('unhandledRejection', (err) => app.log.error({ err }, 'unhandled rejection'));
  await app.start();
}

interface MigrateFlags {
  db: string;
  mysql?: string;
}

async function migrate(flags: MigrateFlags): Promise<void> {
  const store = buildStore({ ...defaultOptions, db: flags.db, mysql: flags.mysql ?? null });
  await store.migrate();
  await store.close();
  console.log(`schema applied to ${flags.mysql ? new URL(flags.mysql).pathname.slice(1) || 'chat' : flags.db}`);
}

/** only what applies the schema; --redis is accepted (and unused) so a server's flags work here */
function migrateOptions(cmd: Command): Command {
  return cmd
    .addOption(flagOption('db', 'SQLite file of the embedded store (created if missing)')!)
    .addOption(flagOption('mysql', 'MySQL/MariaDB URL, e.g. mysql://root@127.0.0.1:3306/chat (the database is created if missing)')!)
    .addOption(flagOption('redis')!.hideHelp());
}

function fatal(err: unknown): never {
  console.error(`chatserver: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

export async function main(argv = process.argv): Promise<void> {
  const program = serverOptions(new Command('chatserver'))
    .description(
      'clusterchat server: newline-delimited JSON over TCP (the ClusterChatServer protocol and v2).\n' +
        'Embedded by default (a SQLite file, one process); cluster mode with --mysql and --redis.',
    )
    .enablePositionalOptions()
    .action((_flags: unknown, cmd: Command) => run(cmd).catch(fatal));
  migrateOptions(program.command('migrate'))
    .description('apply the database schema (creating the database if needed) and exit')
    .action((flags: MigrateFlags) => migrate(flags).catch(fatal));
  await shortUsageErrors(program).parseAsync(argv);
}
