/**
 * The interactive client's console: one node:readline interface, a queue of typed lines, and
 * one way to print. On a terminal, a line that arrives while the user is typing is printed
 * above the prompt and the prompt is redrawn with the half-typed input (cursor kept). On a
 * pipe nothing is redrawn and nothing is coloured; prompts are still printed (programs drive
 * the client that way, as they drive the original), and a line that would land after a
 * dangling command prompt starts on a fresh line.
 */
import readline from 'node:readline';

export interface ScreenOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** a terminal on both ends: line editing and redrawing */
  tty: boolean;
  color: boolean;
}

const STYLES = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2 } as const;
export type Style = keyof typeof STYLES;

type Waiter = (line: string | null) => void;

export class Screen {
  readonly tty: boolean;
  readonly color: boolean;
  readonly #rl: readline.Interface;
  readonly #out: ScreenOptions['output'];
  readonly #lines: string[] = [];
  #waiter: Waiter | null = null;
  #ended = false;
  /** a prompt is on screen and the user may be typing after it */
  #prompting = false;
  /** pipe mode: the command prompt was written and no newline followed yet */
  #dangling = false;
  #muted = false;
  #interrupt: (() => void) | null = null;

  constructor(opts: ScreenOptions) {
    this.tty = opts.tty;
    this.color = opts.color;
    this.#out = opts.output;
    this.#rl = readline.createInterface({ input: opts.input, output: opts.output, terminal: opts.tty, historySize: opts.tty ? 100 : 0 });
    if (opts.tty) {
      // hides what is typed at a password prompt (readline echoes through this method)
      const rl = this.#rl as unknown as { _writeToOutput: (s: string) => void };
      const write = rl._writeToOutput.bind(this.#rl);
      rl._writeToOutput = (s: string) => {
        if (!this.#muted) return write(s);
        const prompt = this.#rl.getPrompt();
        if (s.startsWith(prompt)) write(prompt);
        else if (s === '\r\n' || s === '\n') write(s);
      };
    }
    this.#rl.on('line', (line) => {
      this.#prompting = false;
      if (this.#muted) {
        this.#muted = false;
      }
      const text = line.replace(/\r$/, '');
      if (this.#waiter) {
        const w = this.#waiter;
        this.#waiter = null;
        w(text);
      } else this.#lines.push(text);
    });
    this.#rl.on('close', () => {
      this.#ended = true;
      // Ctrl+D (or Ctrl+C) at a prompt: the shell's prompt must not follow ours on its line
      if (this.tty && this.#prompting) this.#out.write('\n');
      this.#prompting = false;
      if (this.#waiter) {
        const w = this.#waiter;
        this.#waiter = null;
        w(null);
      }
    });
    this.#rl.on('SIGINT', () => {
      if (this.#interrupt) this.#interrupt();
      else this.#rl.close();
    });
  }

  /** what Ctrl+C does (default: like end of input) */
  onInterrupt(fn: () => void): void {
    this.#interrupt = fn;
  }

  get ended(): boolean {
    return this.#ended && this.#lines.length === 0;
  }

  style(style: Style, text: string): string {
    return this.color ? `\x1b[${STYLES[style]}m${text}\x1b[0m` : text;
  }

  /** writes text as is (menus and the original's prompts, which stay on their line) */
  write(text: string): void {
    if (this.#dangling && text.length > 0) {
      this.#out.write('\n');
      this.#dangling = false;
    }
    this.#out.write(text);
  }

  /** prints whole lines, at any time, without disturbing what the user is typing */
  print(text: string): void {
    const body = text.endsWith('\n') ? text : `${text}\n`;
    if (this.tty && this.#prompting) {
      const { rows } = this.#rl.getCursorPos();
      readline.moveCursor(this.#out, 0, -rows);
      readline.cursorTo(this.#out, 0);
      readline.clearScreenDown(this.#out);
      this.#out.write(body);
      // redraws the prompt and the half-typed line, cursor where it was
      this.#rl.prompt(true);
      return;
    }
    if (this.#dangling) {
      this.#out.write('\n');
      this.#dangling = false;
    }
    this.#out.write(body);
  }

  /** prints an error line (red on a terminal) */
  error(text: string): void {
    this.print(this.style('red', text));
  }

  /** prints a notice line (yellow on a terminal) */
  notice(text: string): void {
    this.print(this.style('yellow', text));
  }

  /**
   * Shows `prompt` and resolves the next typed line (null at end of input). `command` marks
   * the chat prompt, after which pipe output starts on a fresh line; `hidden` does not echo.
   */
  ask(prompt: string, opts: { command?: boolean; hidden?: boolean } = {}): Promise<string | null> {
    if (this.#lines.length > 0 || this.#ended) {
      // the answer was typed ahead (or piped): show the prompt as the original would, then answer
      if (this.#dangling) {
        this.#out.write('\n');
        this.#dangling = false;
      }
      const line = this.#lines.shift() ?? null;
      // a terminal echoed the line when it was typed; show it again after its prompt
      if (this.tty) this.#out.write(`${prompt}${line === null || opts.hidden ? '' : line}\n`);
      else this.#out.write(prompt);
      if ((opts.command || line === null) && !this.tty) this.#dangling = true;
      return Promise.resolve(line);
    }
    if (this.#dangling) {
      this.#out.write('\n');
      this.#dangling = false;
    }
    this.#rl.setPrompt(prompt);
    this.#prompting = true;
    // (keeps anything typed ahead on the line, cursor where it was)
    this.#rl.prompt(true);
    if (opts.command && !this.tty) this.#dangling = true;
    if (opts.hidden && this.tty) this.#muted = true;
    return new Promise((resolve) => {
      this.#waiter = (line) => {
        // pipe mode: a prompt answered by the end of input still needs its line ended
        this.#dangling = !this.tty && (this.#dangling || line === null);
        resolve(line);
      };
    });
  }

  close(): void {
    this.#prompting = false;
    this.#rl.close();
  }

  /** ends a dangling prompt's line (pipe mode) before the process exits */
  finish(): void {
    if (this.#dangling) this.#out.write('\n');
    this.#dangling = false;
  }
}
