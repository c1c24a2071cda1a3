/**
 * The netcat sessions the docs show, parsed out of the markdown and replayed line by line
 * against a server with a new database, as a reader would type them. A replay returns its
 * problems, so a test can feed it a broken document and see that it fails.
 */
import type { Test } from 'tap';
import { delay, LineClient, type Json } from '../fixtures/harness.js';
import { fences, section } from './markdown.js';

export type Step =
  | { kind: 'connect'; term: string }
  | { kind: 'send'; term: string; line: string }
  | { kind: 'expect'; term: string; line: string; doc: number };

export interface Parsed {
  steps: Step[];
  problems: string[];
}

/** fields whose values differ on every run; the doc's values are not compared, their presence is */
const VARYING = new Set(['time', 'ts', 'token', 'mid']);

function normalise(frame: Json): string {
  return JSON.stringify(frame, (k, v: unknown) => (VARYING.has(k) ? '<varies>' : v));
}

/**
 * README.md, section "Install and run": each fenced block with JSON lines belongs to the
 * terminal its prose names ("Terminal 2 ..."); `$ nc` connects it, a line starting with
 * `{"msgid"` is typed, any other JSON line is the server's.
 */
export function readmeSteps(md: string): Parsed {
  const sec = section(md, /^Install and run$/);
  if (!sec) return { steps: [], problems: ['README.md has no "## Install and run" section'] };
  const steps: Step[] = [];
  const problems: string[] = [];
  for (const f of fences(sec.lines)) {
    if (!f.body.some((l) => l.startsWith('{') || l.startsWith('$ nc '))) continue;
    const term = /\bterminal (\d+)/i.exec(f.before)?.[1];
    if (!term) {
      problems.push(`README.md line ${sec.start + f.line - 1}: a netcat block whose prose names no terminal`);
      continue;
    }
    f.body.forEach((l, i) => {
      const doc = sec.start + f.line + i;
      if (l.startsWith('$ nc ')) steps.push({ kind: 'connect', term });
      else if (l.startsWith('{"msgid"')) steps.push({ kind: 'send', term, line: l });
      else if (l.startsWith('{')) steps.push({ kind: 'expect', term, line: l, doc });
      else if (l.trim() !== '') problems.push(`README.md line ${doc}: neither nc, typed nor received: ${l}`);
    });
  }
  return { steps, problems };
}

/**
 * docs/PROTOCOL.md, section "A netcat session": "Terminal N (name)" names the users; a block
 * whose lines are `name: {...}` is what those terminals received; an unprefixed block right
 * after another block is what the previous sender received; any other unprefixed block is
 * typed by the user its prose names first.
 */
export function protocolSteps(md: string): Parsed {
  const sec = section(md, /^A netcat session$/);
  if (!sec) return { steps: [], problems: ['docs/PROTOCOL.md has no "## A netcat session" section'] };
  const names = new Set([...sec.lines.join('\n').matchAll(/Terminal \d+ \((\w+)\)/g)].map((m) => m[1]!.toLowerCase()));
  const steps: Step[] = [];
  const problems: string[] = [];
  let sender: string | null = null;
  for (const f of fences(sec.lines)) {
    const body = f.body.map((l, i) => ({ l, doc: sec.start + f.line + i })).filter(({ l }) => l.trim() !== '');
    if (!body.some(({ l }) => /^(\w+:\s+)?\{/.test(l))) continue;
    const prefixed = body.map(({ l, doc }) => ({ m: /^(\w+):\s+(\{.*)$/.exec(l), doc }));
    if (prefixed.every(({ m }) => m && names.has(m[1]!))) {
      for (const { m, doc } of prefixed) steps.push({ kind: 'expect', term: m![1]!, line: m![2]!, doc });
      continue;
    }
    if (f.before === '') {
      if (!sender) problems.push(`PROTOCOL.md line ${sec.start + f.line - 1}: replies before anyone typed`);
      else for (const { l, doc } of body) steps.push({ kind: 'expect', term: sender, line: l, doc });
      continue;
    }
    const prose = f.before.toLowerCase();
    const named = [...names].map((n) => ({ n, at: prose.search(new RegExp(`\\b${n}\\b`)) })).filter((x) => x.at !== -1);
    named.sort((a, b) => a.at - b.at);
    if (named.length === 0) {
      problems.push(`PROTOCOL.md line ${sec.start + f.line - 1}: a typed block whose prose names no user`);
      continue;
    }
    sender = named[0]!.n;
    for (const { l } of body) steps.push({ kind: 'send', term: sender, line: l });
  }
  if (names.size === 0) problems.push('PROTOCOL.md: no "Terminal N (name)" in the netcat session');
  return { steps, problems };
}

/**
 * Types each `send` on its terminal's connection (opened at `connect` or at its first use) a
 * moment after the previous step, and
 * takes each `expect` as that terminal's next line; at the end no terminal may hold a line the
 * doc does not show.
 */
export async function replay(t: Test, port: number, steps: Step[]): Promise<string[]> {
  const terms = new Map<string, LineClient>();
  const problems: string[] = [];
  const term = async (name: string) => {
    let c = terms.get(name);
    if (!c) terms.set(name, (c = await LineClient.connect(t, port)));
    return c;
  };
  for (const s of steps) {
    if (s.kind === 'connect') {
      terms.set(s.term, await LineClient.connect(t, port));
      continue;
    }
    const c = await term(s.term);
    if (s.kind === 'send') {
      // one line at a time, as the docs say to paste them: a line's pushes to other terminals
      // go out before the next line is typed (two lines in one write may cross)
      await delay(150);
      c.send(s.line);
      continue;
    }
    let want: string;
    try {
      want = normalise(JSON.parse(s.line) as Json);
    } catch {
      problems.push(`line ${s.doc}: not JSON: ${s.line}`);
      continue;
    }
    const got = await c.next(() => true, 5000).catch(() => null);
    if (!got) {
      problems.push(`line ${s.doc}: ${s.term} got nothing, the doc shows ${s.line}`);
      break;
    }
    if (normalise(got) !== want) problems.push(`line ${s.doc}: ${s.term} got ${normalise(got)}, the doc shows ${want}`);
  }
  await delay(300);
  for (const [name, c] of terms) {
    const extra = [...c.frames.map(normalise), ...c.junk];
    if (extra.length > 0) problems.push(`${name} got lines the doc does not show: ${extra.join(' ')}`);
  }
  return problems;
}
