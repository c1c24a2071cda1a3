/**
 * The interactive client against a server of the original protocol (the original C++
 * ClusterChatServer; clusterchat's legacy flavour too), on LegacyClient: the original
 * ChatClient's menu, overview, commands and lines, in its words. What the original protocol
 * does not have (seq, recall, history, read markers, receipts, answers to requests) is said
 * once, at the first login; the commands that would need it say they are not available.
 */
import { ChatReplyError } from '../../client/client.js';
import { LegacyClient, type LegacyMessage } from '../../client/legacy.js';
import { parseId, parseIdAndText } from './conv.js';
import { describeError, Exit } from './errors.js';
import { COMMANDS, helpText, LEGACY_COMMANDS, legacyLine, overview } from './format.js';
import type { InteractiveOptions } from './interactive.js';
import { endClient, startMenu, type Outcome } from './menu.js';
import type { Screen } from './screen.js';

/** said once, after the first login's overview */
export const LEGACY_NOTE = [
  'this server speaks the original ClusterChatServer protocol: its commands only (help, chat, addfriend,',
  'creategroup, addgroup, groupchat, loginout) and quit; no #seq, recall, history, read markers or receipts,',
  'and the server does not answer chat, addfriend, creategroup, addgroup or loginout',
].join('\n');

/** how long quitting waits for typed frames still in the client's queue */
const UNSENT_WAIT_MS = 5000;

export class LegacyInteractive {
  readonly #client: LegacyClient;
  readonly #screen: Screen;
  readonly #opts: InteractiveOptions;
  #told = false;
  #loggedIn = false;
  #offline = false;

  constructor(client: LegacyClient, screen: Screen, opts: InteractiveOptions) {
    this.#client = client;
    this.#screen = screen;
    this.#opts = opts;
    client.on('message', (m) => this.#show(m));
    client.on('disconnected', () => {
      if (this.#offline || !this.#loggedIn) return;
      this.#offline = true;
      this.#screen.notice('[connection lost, reconnecting…]');
    });
    client.on('reconnected', () => {
      if (!this.#offline) return;
      this.#offline = false;
      this.#screen.notice('[reconnected]');
    });
    client.on('error', (err) => {
      if (err instanceof ChatReplyError) this.#screen.error(`[reconnected, but could not log in again: ${loginRefusal(err)}; use loginout]`);
    });
    screen.onInterrupt(() => void this.#exit(Exit.OK));
  }

  run(): Promise<number> {
    return startMenu(this.#screen, {
      login: (id, password) => this.#login(id, password),
      register: (name, password) => this.#register(name, password),
      exit: (code) => this.#exit(code),
    });
  }

  #show(m: LegacyMessage): void {
    const line = legacyLine(m, this.#opts.english);
    this.#screen.print(m.groupid !== undefined ? this.#screen.style('cyan', line) : line);
  }

  #connected(): boolean {
    if (this.#client.connected) return true;
    this.#screen.error('not connected to the server right now (reconnecting…); try again in a moment');
    return false;
  }

  async #register(name: string, password: string): Promise<void> {
    if (!this.#connected()) return;
    try {
      const id = await this.#client.register(name, password);
      this.#screen.print(`name register success, userid is ${id}, do not forget it!`);
    } catch (err) {
      this.#screen.error(describeError(err, 'register'));
    }
  }

  async #login(id: number, password: string): Promise<Outcome | void> {
    if (!this.#connected()) return;
    try {
      const info = await this.#client.login(id, password);
      this.#loggedIn = true;
      this.#screen.print(overview(info));
      for (const m of info.offline) this.#show(m);
    } catch (err) {
      this.#screen.error(loginRefusal(err));
      return;
    }
    if (!this.#told) this.#screen.notice(LEGACY_NOTE);
    this.#told = true;
    this.#screen.print('type help to list the commands');
    for (;;) {
      const line = await this.#screen.ask(this.#screen.style('green', '> '), { command: true });
      if (line === null) return 'eof';
      const r = this.#command(line);
      if (r === 'loginout') {
        this.#loggedIn = false;
        return;
      }
      if (r) return r;
    }
  }

  #command(raw: string): Outcome | void {
    const line = raw.replace(/^\s+/, '');
    if (line.trim() === '') return;
    const i = line.indexOf(':');
    const cmd = (i === -1 ? line : line.slice(0, i)).trim();
    const rest = i === -1 ? '' : line.slice(i + 1);
    const c = this.#client;
    if (!LEGACY_COMMANDS.has(cmd)) {
      if (COMMANDS.has(cmd)) this.#screen.error(`${cmd} is not available: this server speaks the original protocol`);
      else this.#screen.error('invalid input command!');
      return;
    }
    if (!c.connected && cmd !== 'help' && cmd !== 'quit') this.#screen.notice('[not connected: sent when the connection is back]');
    switch (cmd) {
      case 'help':
        this.#screen.print(helpText(this.#opts.english, true));
        return;
      case 'chat': {
        const p = parseIdAndText(rest, 'chat');
        if ('error' in p) return this.#screen.error(p.error);
        return c.sendTo(p.id, p.text);
      }
      case 'groupchat': {
        const p = parseIdAndText(rest, 'groupchat');
        if ('error' in p) return this.#screen.error(p.error);
        return c.sendGroup(p.id, p.text);
      }
      case 'addfriend': {
        const id = parseId(rest);
        if (id === null) return this.#screen.error('addfriend command invalid!');
        c.addFriend(id);
        return this.#screen.print(`asked to add friend ${id} (your friend list shows it at your next login)`);
      }
      case 'creategroup': {
        const j = rest.indexOf(':');
        const name = (j === -1 ? rest : rest.slice(0, j)).trim();
        if (name === '') return this.#screen.error('creategroup command invalid!');
        c.createGroup(name, j === -1 ? '' : rest.slice(j + 1));
        return this.#screen.print(`asked to create group ${name} (its id shows in your group list at your next login)`);
      }
      case 'addgroup': {
        const gid = parseId(rest);
        if (gid === null) return this.#screen.error('addgroup command invalid!');
        c.joinGroup(gid);
        return this.#screen.print(`asked to join group ${gid}`);
      }
      case 'loginout':
        c.logout();
        return 'loginout';
      default:
        return 'quit';
    }
  }

  async #exit(code: number): Promise<number> {
    const until = Date.now() + UNSENT_WAIT_MS;
    while (this.#client.unsent > 0 && this.#client.connected && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (this.#client.unsent > 0) {
      this.#screen.error(`[${this.#client.unsent} request(s) could not be sent]`);
      code = code === Exit.OK ? Exit.CONNECT : code;
    }
    return endClient(this.#screen, code, () => this.#client.close());
  }
}

/** a refused login in the server's words (the original client prints its errmsg) */
function loginRefusal(err: unknown): string {
  if (err instanceof ChatReplyError && typeof err.reply.errmsg === 'string') return err.reply.errmsg;
  return describeError(err, 'login');
}
