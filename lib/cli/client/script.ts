/**
 * The non-interactive commands, for scripts: no menus, no prompts; results on stdout, one
 * sentence on stderr when something fails, and an exit code that says what (errors.ts Exit).
 */
import { readFileSync } from 'node:fs';
import { ChatClient, ChatReplyError, FrameTooLargeError, type ChatEvent, type ClientOptions, type LoginInfo } from '../../client/client.js';
import { parseConvRef, type ConvRef } from './conv.js';
import { ConsoleE2E } from './e2e.js';
import { describeConnectError, describeError, Exit, isLoginRefusal } from './errors.js';
import { eventLine, type Names } from './format.js';

export class ExitError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Credentials {
  user?: number | undefined;
  passwordFile?: string | undefined;
}

export interface ScriptOptions extends Credentials {
  endpoint: ClientOptions;
  /** seconds to wait for the server's answer (connect, login, request) */
  timeout: number;
  english: boolean;
  /**
   * where the interactive client keeps each user's device key (./keys.ts): a user with a key
   * file opens sealed messages, and `send` seals in the conversations the file lists
   */
  keysDir?: string | undefined;
}

/** the password: the first line of --password-file, else $CHAT_PASSWORD */
export function readPassword(c: Credentials): string {
  if (c.passwordFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(c.passwordFile, 'utf8');
    } catch (err) {
      throw new ExitError(Exit.USAGE, `cannot read the password file ${c.passwordFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    return text.split(/\r?\n/, 1)[0] ?? '';
  }
  const env = process.env.CHAT_PASSWORD;
  if (env !== undefined) return env;
  throw new ExitError(Exit.USAGE, 'no password: give --password-file <file> or set CHAT_PASSWORD');
}

function needUser(c: Credentials): number {
  if (c.user === undefined) throw new ExitError(Exit.USAGE, 'this command needs --user <id>');
  return c.user;
}

/** resolves `p`, or fails with exit code 2 after `seconds` */
function deadline<T>(p: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ExitError(Exit.CONNECT, `no answer from the server within ${seconds} s (${what})`)), seconds * 1000);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function connect(o: ScriptOptions): Promise<ChatClient> {
  try {
    return await ChatClient.connect(o.endpoint);
  } catch (err) {
    throw new ExitError(Exit.CONNECT, `cannot connect to ${o.endpoint.host}:${o.endpoint.port}: ${describeConnectError(err)}`);
  }
}

/** a refused request as exit 4, a lost connection as exit 2 */
function refused(err: unknown, what: string, context?: 'register'): ExitError {
  if (err instanceof ExitError) return err;
  if (err instanceof ChatReplyError) return new ExitError(Exit.REFUSED, `${what}: ${describeError(err, context)}`);
  if (err instanceof FrameTooLargeError) return new ExitError(Exit.USAGE, `${what}: ${describeError(err)}`);
  return new ExitError(Exit.CONNECT, `${what}: ${describeError(err)}`);
}

/** connects and logs in; `before` runs between the two (to listen before the backlog comes) */
async function session(o: ScriptOptions, before?: (c: ChatClient) => void): Promise<{ client: ChatClient; info: LoginInfo }> {
  const user = needUser(o);
  const password = readPassword(o);
  const client = await connect(o);
  client.on('error', () => undefined);
  before?.(client);
  if (o.keysDir !== undefined) {
    try {
      await new ConsoleE2E(o.keysDir, o.endpoint.host, o.endpoint.port).beforeLogin(client, user);
    } catch (err) {
      client.close();
      throw new ExitError(Exit.USAGE, `cannot use the device key: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  try {
    const info = await deadline(client.login(user, password), o.timeout, 'login');
    return { client, info };
  } catch (err) {
    client.close();
    if (isLoginRefusal(err)) throw new ExitError(Exit.LOGIN, `login refused: ${describeError(err, 'login')}`);
    throw refused(err, 'login failed');
  }
}

function namesOf(info: LoginInfo): Names & { learn(id: number, name: string): void } {
  const users = new Map<number, string>([[info.id, info.name]]);
  const groups = new Map<number, string>();
  for (const f of info.friends) users.set(f.id, f.name);
  for (const g of info.groups) {
    groups.set(g.id, g.groupname);
    for (const u of g.users) users.set(u.id, u.name);
  }
  return {
    name: (id) => users.get(id),
    groupName: (id) => groups.get(id),
    learn: (id, name) => users.set(id, name),
  };
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** the event as one NDJSON line (the library's ChatEvent without the client's own cmid) */
export function eventJson(ev: ChatEvent): string {
  const { cmid: _cmid, ...rest } = ev;
  return JSON.stringify(rest);
}

// ---- the commands

export async function register(o: ScriptOptions, name: string): Promise<void> {
  const password = readPassword(o);
  const client = await connect(o);
  client.on('error', () => undefined);
  try {
    const id = await deadline(client.register(name, password), o.timeout, 'register');
    out(String(id));
  } catch (err) {
    throw refused(err, `cannot register ${name}`, 'register');
  } finally {
    client.close();
  }
}

export async function send(o: ScriptOptions & { json: boolean }, to: number, group: boolean, text: string): Promise<void> {
  const { client } = await session(o);
  try {
    // a dropped connection is reopened and the message resent with the same cmid: never twice
    const ack = await deadline(group ? client.sendGroup(to, text) : client.sendTo(to, text), o.timeout, 'send');
    if (o.json) out(JSON.stringify(ack));
  } catch (err) {
    throw refused(err, `cannot send to ${group ? 'group ' : ''}${to}`);
  } finally {
    client.close();
  }
}

export async function recall(o: ScriptOptions, peer: string, seq: number): Promise<void> {
  const { client, info } = await session(o);
  try {
    const ref = convArg(peer, info.id);
    const r = await deadline(client.recall(ref.conv, seq), o.timeout, 'recall');
    if (r.already === true) out(`#${seq} was already recalled`);
  } catch (err) {
    throw refused(err, `cannot recall #${seq}`);
  } finally {
    client.close();
  }
}

function convArg(text: string, me: number): ConvRef {
  const ref = parseConvRef(text, me);
  if (!ref) throw new ExitError(Exit.USAGE, `not a conversation: ${text} (13 for user 13, g5 for group 5)`);
  return ref;
}

export async function history(o: ScriptOptions & { json: boolean; limit: number }, peer: string): Promise<void> {
  const { client, info } = await session(o);
  try {
    const ref = convArg(peer, info.id);
    const names = namesOf(info);
    const r = await deadline(client.history(ref.conv, { before: Number.MAX_SAFE_INTEGER, limit: o.limit }), o.timeout, 'history');
    for (const ev of r.events) {
      if ('gap' in ev) continue;
      if (o.json) out(eventJson(ev));
      else if (ev.kind === 'chat') out(eventLine(ev, { me: info.id, names, english: o.english, history: true }));
    }
  } catch (err) {
    throw refused(err, `cannot show the history of ${peer}`);
  } finally {
    client.close();
  }
}

/**
 * Prints what arrives (the backlog not yet delivered, then live events) until killed, or
 * until `count` events were printed. Reconnects through outages; says so on stderr.
 */
export async function tail(o: ScriptOptions & { json: boolean; count?: number | undefined }): Promise<void> {
  let printed = 0;
  let finish: (() => void) | null = null;
  const done = new Promise<void>((r) => (finish = r));
  let names: ReturnType<typeof namesOf> | null = null;
  const pending: ChatEvent[] = [];
  let me = 0;
  const show = (ev: ChatEvent) => {
    if (o.count !== undefined && printed >= o.count) return;
    if (!ev.own) names?.learn(ev.from.id, ev.from.name);
    out(o.json ? eventJson(ev) : eventLine(ev, { me, names: names!, english: o.english }));
    printed++;
    if (o.count !== undefined && printed >= o.count) finish?.();
  };
  let offline = false;
  const { client, info } = await session(o, (c) => {
    c.on('event', (ev) => (names ? show(ev) : pending.push(ev)));
    c.on('disconnected', () => {
      if (!offline) process.stderr.write('[connection lost, reconnecting…]\n');
      offline = true;
    });
    c.on('reconnected', () => {
      if (offline) process.stderr.write('[reconnected]\n');
      offline = false;
    });
  });
  me = info.id;
  names = namesOf(info);
  for (const ev of pending.splice(0)) show(ev);
  if (o.count === 0) finish!();
  const stop = () => finish?.();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await done;
  client.close();
}
