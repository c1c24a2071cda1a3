/**
 * The original ChatClient's start menu (1 login, 2 register, 3 quit), its prompts and words,
 * shared by the v2 client and the original-protocol one: they differ in what login and
 * register do.
 */
import { parseId } from './conv.js';
import { Exit } from './errors.js';
import { CHOICE_PROMPT, START_MENU } from './format.js';
import type { Screen } from './screen.js';

/** how a logged-in session ended: the quit command, the end of input, or loginout */
export type Outcome = 'quit' | 'eof' | 'loginout';

export interface MenuActions {
  login(id: number, password: string): Promise<Outcome | void>;
  register(name: string, password: string): Promise<void>;
  /** ends the client with this exit code */
  exit(code: number): Promise<number>;
}

/** runs the start menu until quit or the end of input; resolves what `exit` does */
export async function startMenu(screen: Screen, a: MenuActions): Promise<number> {
  for (;;) {
    screen.write(START_MENU);
    const choice = await screen.ask(CHOICE_PROMPT);
    if (choice === null) return a.exit(Exit.OK);
    switch (choice.trim()) {
      case '1': {
        const idText = await screen.ask('userid:');
        if (idText === null) return a.exit(Exit.OK);
        const id = parseId(idText);
        if (id === null) {
          screen.error('invalid userid! (a number, as register printed it)');
          break;
        }
        const password = await screen.ask('userpassword:', { hidden: true });
        if (password === null) return a.exit(Exit.OK);
        const r = await a.login(id, password);
        if (r === 'eof' || r === 'quit') return a.exit(Exit.OK);
        break;
      }
      case '2': {
        const name = await screen.ask('username:');
        if (name === null) return a.exit(Exit.OK);
        const password = await screen.ask('userpassword:', { hidden: true });
        if (password === null) return a.exit(Exit.OK);
        await a.register(name, password);
        break;
      }
      case '3':
        return a.exit(Exit.OK);
      default:
        screen.print('invalid input!');
    }
  }
}

/** closes the connection and the console, writes out what is buffered, and exits with `code` */
export async function endClient(screen: Screen, code: number, close: () => void): Promise<never> {
  close();
  screen.close();
  screen.finish();
  await new Promise<void>((resolve) => process.stdout.write('', () => process.stderr.write('', () => resolve())));
  process.exit(code);
}
