/**
 * Usage errors of both command lines: commander's one-line error prefixed with the program's
 * name, then a hint naming the --help that lists the options, instead of the whole help.
 */
import type { Command } from 'commander';

export function shortUsageErrors(program: Command): Command {
  const name = program.name();
  const hint = (cmd: Command, path: string): void => {
    cmd.showHelpAfterError(`(${path} --help lists the options)`);
    cmd.configureOutput({ outputError: (str, write) => write(`${name}: ${str.replace(/^error: /, '')}`) });
    for (const sub of cmd.commands) hint(sub, `${path} ${sub.name()}`);
  };
  hint(program, name);
  return program;
}
