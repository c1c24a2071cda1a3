/**
 * Conversation ids: `p:<lower id>:<higher id>` for two users, `g:<groupid>` for a group.
 * The pair form is canonical (ordered ids, plain decimal), so one pair has exactly one id.
 */
/** A conversation id: `p:<lower id>:<higher id>` (one-to-one) or `g:<groupid>` (group). */
export type ConvId = string;

export type ParsedConv = { kind: 'pair'; a: number; b: number } | { kind: 'group'; groupId: number };

const PAIR = /^p:([1-9][0-9]{0,15}):([1-9][0-9]{0,15})$/;
const GROUP = /^g:([1-9][0-9]{0,15})$/;

export function pairConv(a: number, b: number): ConvId {
  return a <= b ? `p:${a}:${b}` : `p:${b}:${a}`;
}

export function groupConv(groupId: number): ConvId {
  return `g:${groupId}`;
}

/** null for anything that is not a canonical conversation id */
export function parseConv(conv: string): ParsedConv | null {
  const pair = PAIR.exec(conv);
  if (pair) {
    const a = Number(pair[1]);
    const b = Number(pair[2]);
    return Number.isSafeInteger(b) && a <= b ? { kind: 'pair', a, b } : null;
  }
  const group = GROUP.exec(conv);
  if (group) {
    const groupId = Number(group[1]);
    return Number.isSafeInteger(groupId) ? { kind: 'group', groupId } : null;
  }
  return null;
}

/** the two users of a `p:` conversation, or null for any other id */
export function pairMembers(conv: ConvId): [number, number] | null {
  const parsed = parseConv(conv);
  return parsed?.kind === 'pair' ? [parsed.a, parsed.b] : null;
}
