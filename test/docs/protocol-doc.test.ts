/**
 * Keeps docs/PROTOCOL.md and the code in step (the fastify `errors.test.js` way):
 * - the doc's one Errors table lists exactly the keys of `Errors`, with the same errno and errmsg;
 * - every MsgId has one section heading naming its number and its name, in number order;
 * - every msgid with a registered handler is documented as implemented (no "planned" heading);
 * - errnos are unique per code, except errno 1, shared by LOGIN_INVALID and NAME_EXISTS only.
 *
 * Each check returns a list of problems, so the last test can feed it a broken document or
 * table and show that it does fail.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Errors } from '../../lib/errors.js';
import { handlers } from '../../lib/handlers/index.js';
import { MsgId } from '../../lib/protocol/msgid.js';
import { cells, headings, section, type Heading } from './markdown.js';

const DOC = fileURLToPath(new URL('../../docs/PROTOCOL.md', import.meta.url));
const doc = readFileSync(DOC, 'utf8');

/** the errnos that more than one code may share, and which codes exactly */
const SHARED_ERRNOS: Record<number, string[]> = { 1: ['LOGIN_INVALID', 'NAME_EXISTS'] };

type ErrorTable = Record<string, { errno: number; errmsg: string }>;

interface Row {
  line: number;
  errno: string;
  code: string;
  errmsg: string;
}

/** `text` -> text (one pair of surrounding backticks) */
function unquote(cell: string): string {
  const m = /^`(.*)`$/.exec(cell);
  return m ? m[1]! : cell;
}

const HEADER = ['errno', 'code', 'errmsg', 'when'];

/** parses the one `errno | code | errmsg | when` table of the "Errors" section */
function parseErrorsTable(md: string): { rows: Row[]; problems: string[] } {
  const sec = section(md, /^Errors\b/);
  if (!sec) return { rows: [], problems: ['no "## Errors" section'] };
  const starts = sec.lines
    .map((l, i) => ({ l, i }))
    .filter(({ l }) => l.trim().startsWith('|') && cells(l).map((c) => c.toLowerCase()).join('|') === HEADER.join('|'));
  if (starts.length !== 1) {
    return { rows: [], problems: [`the Errors section has ${starts.length} tables with the columns ${HEADER.join(' | ')} (want exactly 1)`] };
  }
  const problems: string[] = [];
  const rows: Row[] = [];
  const first = starts[0]!.i;
  const sep = sec.lines[first + 1] ?? '';
  if (!/^\s*\|?\s*:?-{3,}/.test(sep)) problems.push('the Errors table header is not followed by a separator row');
  for (let i = first + 2; i < sec.lines.length && sec.lines[i]!.trim().startsWith('|'); i++) {
    const c = cells(sec.lines[i]!);
    const line = sec.start + i;
    if (c.length !== HEADER.length) {
      problems.push(`line ${line}: ${c.length} cells, want ${HEADER.length}`);
      continue;
    }
    rows.push({ line, errno: unquote(c[0]!), code: unquote(c[1]!), errmsg: unquote(c[2]!) });
  }
  if (rows.length === 0) problems.push('the Errors table has no rows');
  return { rows, problems };
}

/** the doc's table against the code's `Errors`: same keys, errnos and errmsgs, no duplicates */
function checkErrorsTable(rows: Row[], errors: ErrorTable): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.code)) problems.push(`${r.code}: listed twice (line ${r.line})`);
    seen.add(r.code);
    const e = Object.prototype.hasOwnProperty.call(errors, r.code) ? errors[r.code] : undefined;
    if (!e) {
      problems.push(`${r.code}: in the doc (line ${r.line}) but not a key of Errors`);
      continue;
    }
    if (!/^\d+$/.test(r.errno) || Number(r.errno) !== e.errno) problems.push(`${r.code}: doc errno ${r.errno}, code errno ${e.errno}`);
    if (r.errmsg !== e.errmsg) problems.push(`${r.code}: doc errmsg ${JSON.stringify(r.errmsg)}, code errmsg ${JSON.stringify(e.errmsg)}`);
  }
  for (const code of Object.keys(errors)) if (!seen.has(code)) problems.push(`${code}: a key of Errors missing from the doc`);
  return problems;
}

/** every errno belongs to one code, except the SHARED_ERRNOS exceptions, which must be exact */
function checkErrnoUnique(errors: ErrorTable): string[] {
  const byErrno = new Map<number, string[]>();
  for (const [code, e] of Object.entries(errors)) {
    const list = byErrno.get(e.errno) ?? [];
    list.push(code);
    byErrno.set(e.errno, list);
  }
  const problems: string[] = [];
  for (const [errno, codes] of byErrno) {
    const allowed = SHARED_ERRNOS[errno];
    if (allowed) {
      if ([...codes].sort().join(',') !== [...allowed].sort().join(',')) {
        problems.push(`errno ${errno} is shared by ${codes.join(', ')}; the one allowed sharing is ${allowed.join(', ')}`);
      }
    } else if (codes.length > 1) {
      problems.push(`errno ${errno} is used by ${codes.join(', ')}`);
    }
  }
  for (const errno of Object.keys(SHARED_ERRNOS)) {
    if (!byErrno.has(Number(errno))) problems.push(`errno ${errno} is meant to be shared but no code uses it`);
  }
  return problems;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** headings naming msgid `num` by both its number and its name, each as a whole token */
function msgidHeadings(hs: Heading[], name: string, num: number): Heading[] {
  const numRe = new RegExp(`(?<![\\w.])${num}(?![\\w.])`);
  const nameRe = new RegExp(`(?<![A-Za-z0-9_])${escapeRe(name)}(?![A-Za-z0-9_])`);
  return hs.filter((h) => numRe.test(h.text) && nameRe.test(h.text));
}

/** one heading per msgid, with its number and name, the sections in number order */
function checkMsgIdHeadings(md: string, ids: Record<string, number>): string[] {
  const hs = headings(md);
  const problems: string[] = [];
  let prev: { num: number; line: number } | null = null;
  for (const [name, num] of Object.entries(ids).sort((a, b) => a[1] - b[1])) {
    const found = msgidHeadings(hs, name, num);
    if (found.length !== 1) {
      problems.push(`${num} ${name}: ${found.length} headings name it (want exactly 1)`);
      continue;
    }
    const h = found[0]!;
    if (prev && h.line < prev.line) problems.push(`${num} ${name}: its section (line ${h.line}) comes before that of msgid ${prev.num}`);
    prev = { num, line: h.line };
  }
  return problems;
}

const PLANNED = /\bplanned\b/i;

/**
 * Every msgid with a handler has a heading that does not say "planned"; every heading that
 * says "planned" is for a msgid with no handler.
 */
function checkImplemented(md: string, ids: Record<string, number>, registered: Iterable<number>): string[] {
  const hs = headings(md);
  const problems: string[] = [];
  const have = new Set(registered);
  const nameOf = new Map(Object.entries(ids).map(([n, v]) => [v, n]));
  for (const num of have) {
    const name = nameOf.get(num);
    if (!name) {
      problems.push(`a handler is registered for msgid ${num}, which MsgId does not name`);
      continue;
    }
    const found = msgidHeadings(hs, name, num);
    if (found.length === 0) problems.push(`${num} ${name}: has a handler but no section`);
    for (const h of found) if (PLANNED.test(h.text)) problems.push(`${num} ${name}: has a handler but its section says planned (line ${h.line})`);
  }
  for (const [name, num] of Object.entries(ids)) {
    if (have.has(num)) continue;
    for (const h of msgidHeadings(hs, name, num)) {
      if (PLANNED.test(h.text)) continue;
      // a server-to-client message has no handler; its heading says so by its direction
      if (!/S\s*→\s*C|server\s*(→|to)\s*client/i.test(h.text)) {
        problems.push(`${num} ${name}: no handler, and its heading (line ${h.line}) says neither planned nor S→C`);
      }
    }
  }
  return problems;
}

const codeErrors = Errors as unknown as ErrorTable;
const ids = MsgId as unknown as Record<string, number>;

t.test('the Errors table has exactly the keys of Errors, with their errno and errmsg', async (t) => {
  const { rows, problems } = parseErrorsTable(doc);
  t.same(problems, [], 'the Errors table parses');
  t.same(checkErrorsTable(rows, codeErrors), [], 'docs/PROTOCOL.md Errors table = lib/errors.ts Errors');
  t.same(
    rows.map((r) => r.code).sort(),
    Object.keys(Errors).sort(),
    'same set of codes',
  );
});

t.test('every MsgId has one section heading with its number and name, in number order', async (t) => {
  t.same(checkMsgIdHeadings(doc, ids), []);
});

t.test('every registered handler is documented as implemented, not planned', async (t) => {
  t.ok(handlers.size > 0, 'handlers are registered');
  t.same(checkImplemented(doc, ids, handlers.keys()), []);
});

t.test('errnos are unique per code except errno 1 (LOGIN_INVALID and NAME_EXISTS)', async (t) => {
  t.same(checkErrnoUnique(codeErrors), [], 'in lib/errors.ts');
  const { rows } = parseErrorsTable(doc);
  const fromDoc: ErrorTable = {};
  for (const r of rows) fromDoc[r.code] = { errno: Number(r.errno), errmsg: r.errmsg };
  t.same(checkErrnoUnique(fromDoc), [], 'in docs/PROTOCOL.md');
});

t.test('each check fails on a broken document or table', async (t) => {
  const { rows } = parseErrorsTable(doc);
  const row = (code: string) => rows.find((r) => r.code === code)!;

  t.not(checkErrorsTable(rows.filter((r) => r.code !== 'OK'), codeErrors).length, 0, 'a missing row');
  t.not(checkErrorsTable([...rows, { line: 0, errno: '999', code: 'BOGUS', errmsg: 'x' }], codeErrors).length, 0, 'an extra row');
  t.not(checkErrorsTable([...rows, row('BAD_JSON')], codeErrors).length, 0, 'a row listed twice');
  t.not(
    checkErrorsTable(rows.map((r) => (r.code === 'LOGIN_INVALID' ? { ...r, errmsg: 'id or password is invalid' } : r)), codeErrors).length,
    0,
    'an errmsg that differs',
  );
  t.not(checkErrorsTable(rows.map((r) => (r.code === 'BAD_FIELD' ? { ...r, errno: '104' } : r)), codeErrors).length, 0, 'an errno that differs');

  const errorsRow = doc.split('\n').find((l) => /^\|\s*`?105`?\s*\|/.test(l))!;
  t.ok(errorsRow, 'found the NOT_LOGGED_IN row to break');
  t.not(parseErrorsTable(doc.replace(errorsRow, '| 105 | `NOT_LOGGED_IN` |')).problems.length, 0, 'a row with too few cells');
  t.not(parseErrorsTable(doc.replace(/^## Errors\b.*$/m, '## Failure codes')).problems.length, 0, 'no Errors section');

  const readHeading = headings(doc).find((h) => msgidHeadings([h], 'READ_MSG', 17).length === 1)!;
  t.ok(readHeading, 'found the READ_MSG heading to break');
  if (!readHeading) return;
  const lines = doc.split('\n');
  const withoutRead = lines.filter((_, i) => i !== readHeading.line - 1).join('\n');
  t.not(checkMsgIdHeadings(withoutRead, ids).length, 0, 'a msgid without a heading');
  t.not(checkMsgIdHeadings(`${doc}\n### 17 READ_MSG again\n`, ids).length, 0, 'a msgid with two headings');
  const swapped = lines
    .map((l, i) => (i === readHeading.line - 1 ? '' : l))
    .concat([`#${'#'.repeat(readHeading.level - 1)} ${readHeading.text}`])
    .join('\n');
  t.not(checkMsgIdHeadings(swapped, ids).length, 0, 'a section out of number order');

  const chatHeading = headings(doc).find((h) => msgidHeadings([h], 'ONE_CHAT_MSG', 6).length === 1)!;
  t.ok(chatHeading, 'found the ONE_CHAT_MSG heading to break');
  if (!chatHeading) return;
  const plannedChat = lines.map((l, i) => (i === chatHeading.line - 1 ? `${l} (planned)` : l)).join('\n');
  t.not(checkImplemented(plannedChat, ids, handlers.keys()).length, 0, 'a handler whose section says planned');
  t.not(checkImplemented(withoutRead, ids, handlers.keys()).length, 0, 'a handler without a section');
  // a request the server stops handling must be marked planned (or be server-to-client)
  const withoutQuery = [...handlers.keys()].filter((k) => k !== MsgId.MSG_STATUS_QUERY);
  t.not(checkImplemented(doc, ids, withoutQuery).length, 0, 'an unhandled request not marked planned');
  const queryHeading = headings(doc).find((h) => msgidHeadings([h], 'MSG_STATUS_QUERY', 24).length === 1)!;
  t.ok(queryHeading, 'found the MSG_STATUS_QUERY heading to break');
  if (!queryHeading) return;
  const plannedQuery = lines.map((l, i) => (i === queryHeading.line - 1 ? '### 24 MSG_STATUS_QUERY (planned)' : l)).join('\n');
  t.same(checkImplemented(plannedQuery, ids, withoutQuery), [], 'an unhandled request marked planned passes');
  t.not(checkImplemented(plannedQuery, ids, handlers.keys()).length, 0, 'a handler added while its section still says planned');

  t.not(checkErrnoUnique({ ...codeErrors, EXTRA: { errno: 100, errmsg: 'x' } }).length, 0, 'two codes on one errno');
  const { NAME_EXISTS: _n, ...withoutNameExists } = codeErrors;
  t.not(checkErrnoUnique(withoutNameExists).length, 0, 'errno 1 no longer shared exactly as allowed');
  t.not(checkErrnoUnique({ ...codeErrors, ALSO_ONE: { errno: 1, errmsg: 'x' } }).length, 0, 'a third code on errno 1');
});
