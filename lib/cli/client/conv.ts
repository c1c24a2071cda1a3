/**
 * Conversation references as the user types them: `13` (the one-to-one conversation with user
 * 13), `g5` or `g:5` (group 5), or a wire id `p:12:13` / `g:5`.
 */

export type ConvRef = { conv: string; kind: 'pair'; peer: number } | { conv: string; kind: 'group'; groupid: number };

export function pairConv(a: number, b: number): string {
  return a < b ? `p:${a}:${b}` : `p:${b}:${a}`;
}

export function groupRef(groupid: number): ConvRef {
  return { conv: `g:${groupid}`, kind: 'group', groupid };
}

export function pairRef(me: number, peer: number): ConvRef {
  return { conv: pairConv(me, peer), kind: 'pair', peer };
}

/** a positive integer id, or null */
export function parseId(text: string): number | null {
  const t = text.trim();
  if (!/^\d{1,15}$/.test(t)) return null;
  const n = Number(t);
  return n > 0 && Number.isSafeInteger(n) ? n : null;
}

/** a wire conversation id as a reference (null when it is not one) */
export function refOfConv(conv: string, me: number): ConvRef | null {
  const g = /^g:(\d+)$/.exec(conv);
  if (g) return groupRef(Number(g[1]));
  const p = /^p:(\d+):(\d+)$/.exec(conv);
  if (p) {
    const a = Number(p[1]);
    const b = Number(p[2]);
    return { conv, kind: 'pair', peer: a === me ? b : a };
  }
  return null;
}

/** `13`, `g5`, `g:5`, `p:12:13` -> a reference; null when the text is none of these */
export function parseConvRef(text: string, me: number): ConvRef | null {
  const t = text.trim();
  const id = parseId(t);
  if (id !== null) return pairRef(me, id);
  const g = /^g:?(\d+)$/i.exec(t);
  if (g) {
    const gid = parseId(g[1]!);
    return gid === null ? null : groupRef(gid);
  }
  const p = /^p:(\d+):(\d+)$/.exec(t);
  if (p) {
    const a = Number(p[1]);
    const b = Number(p[2]);
    if (a === b || (a !== me && b !== me)) return null;
    return { conv: pairConv(a, b), kind: 'pair', peer: a === me ? b : a };
  }
  return null;
}

/**
 * `<conv>:<n>` where the conversation part may itself hold colons (`g:5:7`, `p:12:13:4`):
 * the last field is the number. Returns null when it does not parse.
 */
export function parseConvAndNumber(text: string, me: number): { ref: ConvRef; n: number } | null {
  const i = text.lastIndexOf(':');
  if (i === -1) return null;
  const ref = parseConvRef(text.slice(0, i), me);
  const n = parseId(text.slice(i + 1));
  return ref && n !== null ? { ref, n } : null;
}

/**
 * `<id>:<text>` as chat and groupchat take it (the text may hold colons); the error message
 * in the original's words when it does not parse (`cmd`: chat or groupchat).
 */
export function parseIdAndText(rest: string, cmd: 'chat' | 'groupchat'): { id: number; text: string } | { error: string } {
  const j = rest.indexOf(':');
  const id = j === -1 ? null : parseId(rest.slice(0, j));
  if (id === null) return { error: `${cmd} command invalid!` };
  const text = rest.slice(j + 1);
  if (text.trim() === '') return { error: `${cmd} command invalid! (no message after ${cmd}:${cmd === 'chat' ? 'friendid' : 'groupid'}:)` };
  return { id, text };
}
