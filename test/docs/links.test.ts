/**
 * Every file, folder and heading that README.md, docs/PROTOCOL.md and docs/OPERATING.md point
 * to exists: markdown links to repo files (relative to the doc), `#anchors` to headings (in the
 * doc itself or in the linked doc), and backticked repo paths such as `lib/protocol/validate.ts`
 * (relative to the repo root; `{a,b}` is expanded, globs are left alone), and any other
 * relative path to a file of the kinds the repo holds (so a doc cannot cite a file it lacks).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ROOT } from '../fixtures/harness.js';
import { anchors } from './markdown.js';

const DOCS = ['README.md', 'docs/PROTOCOL.md', 'docs/OPERATING.md'];
/** a repo path: under a top-level folder of the repo, or any relative path to a file of the kinds it holds */
const REPO_PATH = /^(?:(?:lib|test|bench|sql|scripts|examples|docs|bin|\.ci)\/[\w.{},/-]*|[\w.-]+(?:\/[\w.{},-]+)+\.(?:md|ts|js|sql|sh|json|conf|template))$/;

/** the doc's lines outside fenced code, each with its 1-based number */
function prose(md: string): Array<{ n: number; l: string }> {
  let fenced = false;
  const out: Array<{ n: number; l: string }> = [];
  md.split('\n').forEach((l, i) => {
    if (/^\s*(```|~~~)/.test(l)) fenced = !fenced;
    else if (!fenced) out.push({ n: i + 1, l });
  });
  return out;
}

/** `lib/store/{sqlite,mysql}` -> lib/store/sqlite, lib/store/mysql */
function expand(p: string): string[] {
  const m = /\{([^{}]*)\}/.exec(p);
  if (!m) return [p];
  return m[1]!.split(',').flatMap((alt) => expand(p.slice(0, m.index) + alt + p.slice(m.index + m[0].length)));
}

/**
 * The problems of one doc: `file` is its repo path, `read(file)` gives a doc's text (for the
 * anchors of another doc), `exists(repoPath)` says whether a repo path is there.
 */
function checkDoc(file: string, md: string, read: (f: string) => string, exists: (p: string) => boolean): string[] {
  const problems: string[] = [];
  const dir = path.posix.dirname(file);
  for (const { n, l } of prose(md)) {
    const where = `${file}:${n}`;
    for (const m of l.matchAll(/`([^`]+)`/g)) {
      const code = m[1]!;
      if (!REPO_PATH.test(code) || code.includes('*')) continue;
      for (const p of expand(code)) if (!exists(p.replace(/\/$/, ''))) problems.push(`${where}: \`${p}\` is not in the repo`);
    }
    for (const m of l.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [rel = '', anchor] = target.split('#');
      const linked = rel === '' ? file : path.posix.normalize(path.posix.join(dir, rel));
      if (rel !== '' && !exists(linked.replace(/\/$/, ''))) {
        problems.push(`${where}: link to ${target}: ${linked} is not in the repo`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!linked.endsWith('.md')) problems.push(`${where}: link to ${target}: an anchor into a file that is not markdown`);
      else if (!anchors(linked === file ? md : read(linked)).has(anchor)) problems.push(`${where}: link to ${target}: ${linked} has no heading #${anchor}`);
    }
  }
  return problems;
}

const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');
const exists = (p: string) => existsSync(path.join(ROOT, p));

for (const file of DOCS) {
  t.test(`${file}: every linked file, path and heading exists`, async (t) => {
    const md = read(file);
    t.same(checkDoc(file, md, read, exists), []);
    t.ok(md.includes('](') || md.includes('`lib/'), 'the doc has links or paths to check');
  });
}

t.test('the check fails on a broken link, path or anchor', async (t) => {
  const check = (md: string, file = 'docs/X.md') => checkDoc(file, md, read, exists);
  t.same(check('[ops](OPERATING.md#limits) [up](../README.md) [here](#a) `lib/store/{sqlite,mysql}`\n# A\n'), [], 'a good doc passes');
  t.equal(check('[p](PROTOCOL.md)').length, 0, 'a link relative to the doc');
  t.equal(check('[p](docs/PROTOCOL.md)').length, 1, 'a link resolved from the wrong folder');
  t.equal(check('[p](OPERATING.md#no-such-heading)').length, 1, 'an anchor the linked doc lacks');
  t.equal(check('[p](#nowhere)\n# Somewhere\n').length, 1, 'an anchor this doc lacks');
  t.equal(check('see `shared/reference/original-protocol.md` and `lib/nope.ts`').length, 2, 'repo paths that are not there');
  t.equal(check('`text/plain` `a/b` `p:1:2`').length, 0, 'code that is not a file path');
  t.equal(check('`lib/store/{sqlite,nope}`').length, 1, 'one alternative of a brace that is not there');
  t.equal(check('```\n[x](missing.md)\n```\n').length, 0, 'fenced code is not checked');
  t.equal(check('`[x](missing.md)`').length, 0, 'a link inside inline code is not a link');
  t.equal(check('[x](https://example.com/missing.md)').length, 0, 'web links are not checked');
});
