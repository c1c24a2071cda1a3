/**
 * Keeps the option table (OPTIONS in lib/config.ts), `chatserver --help` and docs/OPERATING.md's
 * option tables in step: every option has one row in the table of its group whose option, flag
 * (with its bounds), environment variable and default cells are what the table says, and --help
 * shows every flag with its default and variable. The checks return lists of problems, so the
 * last test can feed them a broken document and show that they fail.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { envName, flagScale, OPTIONS, resolveOptions, type OptionGroup, type OptionSpec, type ServerOptions } from '../../lib/config.js';
import { spawnNode } from '../fixtures/harness.js';
import { cells, section } from './markdown.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(`${ROOT}/docs/OPERATING.md`, 'utf8');
const KEYS = Object.keys(OPTIONS) as Array<keyof ServerOptions>;
const GROUP_HEADINGS: Record<OptionGroup, string> = { where: 'Where it listens, where it stores', limits: 'Limits', operations: 'Operations' };

/** what the first four cells of an option's row must be (the default cell must start with the fourth) */
export function expectedCells(key: keyof ServerOptions): [string, string, string, string | RegExp] {
  const spec: OptionSpec<unknown> = OPTIONS[key];
  const bounds = spec.min === undefined ? '' : spec.max === undefined ? ` (${spec.min})` : ` (${spec.min} to ${spec.max})`;
  const flag = spec.flag ? `\`${spec.short ? `${spec.short}, ` : ''}${spec.flag}\`${bounds}` : 'none (library option)';
  const env = envName(key);
  const def = spec.default === null ? /^(none|off|random)\b/ : `\`${typeof spec.default === 'number' ? spec.default / flagScale(key) : String(spec.default)}\``;
  return [`\`${key}\``, flag, env ? `\`${env}\`` : 'none', def];
}

/** the option rows of the ### table of each group in the ## Options section of `md` */
function docRows(md: string): Map<string, { group: string; cells: string[] }> {
  const opts = section(md, /^Options$/);
  const rows = new Map<string, { group: string; cells: string[] }>();
  let group = '';
  for (const line of opts?.lines ?? []) {
    const h = /^### (.*)/.exec(line);
    if (h) group = h[1]!;
    else if (line.startsWith('| `')) {
      const c = cells(line);
      rows.set(c[0]!.replace(/`/g, ''), { group, cells: c });
    }
  }
  return rows;
}

function docProblems(md: string): string[] {
  const rows = docRows(md);
  const problems: string[] = [];
  for (const key of KEYS) {
    const row = rows.get(key);
    const want = expectedCells(key);
    if (!row) {
      problems.push(`${key}: no row in docs/OPERATING.md's options (want ${want.join(' | ')})`);
      continue;
    }
    if (row.group !== GROUP_HEADINGS[OPTIONS[key].group]) problems.push(`${key}: listed under "${row.group}", not "${GROUP_HEADINGS[OPTIONS[key].group]}"`);
    for (let i = 1; i < 3; i++) if (row.cells[i] !== want[i]) problems.push(`${key}: cell ${i + 1} is ${row.cells[i]}, want ${String(want[i])}`);
    const def = want[3];
    const cell = row.cells[3] ?? '';
    if (typeof def === 'string' ? !cell.startsWith(def) : !def.test(cell)) problems.push(`${key}: default cell is ${cell}, want it to start with ${String(def)}`);
  }
  for (const key of rows.keys()) if (!(key in OPTIONS)) problems.push(`${key}: a row for an option lib/config.ts does not have`);
  return problems;
}

function helpProblems(help: string): string[] {
  const flat = help.replace(/\s+/g, ' ');
  const problems: string[] = [];
  for (const key of KEYS) {
    const spec: OptionSpec<unknown> = OPTIONS[key];
    if (!spec.flag) continue;
    // commander quotes string defaults
    const def = spec.default === null ? '' : `default: ${typeof spec.default === 'string' ? JSON.stringify(spec.default) : String((spec.default as number) / flagScale(key))}, `;
    const want = `${spec.flag} ${spec.help} (${def}env: ${envName(key)})`;
    if (!flat.includes(want)) problems.push(`--help lacks "${want}"`);
  }
  return problems;
}

t.test('docs/OPERATING.md has one row per option, in its group, with its flag, bounds, variable and default', async (t) => {
  t.same(docProblems(doc), []);
});

t.test('chatserver --help shows every flag with its help, default and variable from the table', async (t) => {
  const child = spawnNode([`${ROOT}/bin/chatserver`, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let help = '';
  child.stdout!.on('data', (b: Buffer) => (help += b.toString()));
  await new Promise((r) => child.once('exit', r));
  t.same(helpProblems(help), []);
});

t.test('every default passes its own validation; values out of bounds are refused with the flag named', async (t) => {
  t.doesNotThrow(() => resolveOptions({}), 'the defaults');
  t.throws(() => resolveOptions({ maxFrame: 10 }), /^--max-frame must be an integer from 64 to \d+ \(not 10\)$/);
  t.throws(() => resolveOptions({ recallWindowMs: 1500 }), /--recall-window must be an integer from 0/, 'a recall window that is not whole seconds');
  t.throws(() => resolveOptions({ maxBatch: 0 }), /^maxBatch must be an integer from 1/, 'a library-only option is named by its key');
  t.throws(() => resolveOptions({ sync: 'sometimes' as 'full' }), /--sync must be one of normal, full \(not "sometimes"\)/);
  t.throws(() => resolveOptions({ scryptParams: 'ln=40,r=8,p=1' }), /ln/);
});

t.test('the checks fail on a document or a help that disagree', async (t) => {
  const broken = doc.replace('| `CHAT_MAX_FRAME` | `65536`', '| `CHAT_MAX_FRAME` | `1024`').replace(/^\| `maxFriends` .*\n/m, '');
  const problems = docProblems(broken);
  t.ok(problems.some((p) => p.startsWith('maxFrame: default cell')), 'a wrong default');
  t.ok(problems.some((p) => p.startsWith('maxFriends: no row')), 'a missing row');
  t.ok(docProblems(doc.replace('`--max-text <chars>` (1)', '`--max-text <chars>` (2)')).some((p) => p.startsWith('maxText: cell 2')), 'wrong bounds');
  t.ok(helpProblems('').length > 10, 'an empty --help');
});
