/**
 * Just enough markdown for the doc tests: headings (outside fenced code), the lines of a
 * section, fenced blocks with the prose before each, and GitHub's heading anchors.
 */

export interface Heading {
  line: number;
  level: number;
  text: string;
}

const FENCE = /^\s*(```|~~~)/;

export function headings(md: string): Heading[] {
  const out: Heading[] = [];
  let fenced = false;
  md.split('\n').forEach((raw, i) => {
    if (FENCE.test(raw)) fenced = !fenced;
    const m = fenced ? null : /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(raw);
    if (m) out.push({ line: i + 1, level: m[1]!.length, text: m[2]! });
  });
  return out;
}

/** the cells of a markdown table row; `\|` is a literal bar */
export function cells(line: string): string[] {
  const parts = line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/);
  return parts.map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** the lines of the section under the level-2 heading `title`, up to the next level-1/2 heading */
export function section(md: string, title: RegExp): { start: number; lines: string[] } | null {
  const lines = md.split('\n');
  const hs = headings(md);
  const h = hs.find((x) => x.level === 2 && title.test(x.text));
  if (!h) return null;
  const next = hs.find((x) => x.line > h.line && x.level <= 2);
  return { start: h.line + 1, lines: lines.slice(h.line, next ? next.line - 1 : lines.length) };
}

export interface Fence {
  /** 1-based line of the opening fence, counted in the text given */
  line: number;
  body: string[];
  /** the non-blank lines between the previous fence (or the start) and this one, joined */
  before: string;
}

export function fences(lines: string[]): Fence[] {
  const out: Fence[] = [];
  let prose: string[] = [];
  let open: Fence | null = null;
  lines.forEach((l, i) => {
    if (FENCE.test(l)) {
      if (open) {
        out.push(open);
        open = null;
      } else {
        open = { line: i + 1, body: [], before: prose.join(' ') };
        prose = [];
      }
    } else if (open) {
      open.body.push(l);
    } else if (l.trim() !== '') {
      prose.push(l.trim());
    }
  });
  return out;
}

/**
 * The anchor GitHub gives a heading: lower case, punctuation other than `-` and `_` dropped,
 * spaces to `-`; a repeated one gets `-1`, `-2`, ...
 */
export function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of headings(md)) {
    const base = h.text
      .replace(/`/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}
