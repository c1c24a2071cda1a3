/**
 * Rendering of the browser client: the conversation list, the open conversation's messages with
 * their #seq and status, and one line per notice or error.
 */
import { userLabel } from '../cli/client/format.js';
import { el } from './dom.js';
import type { ChatModel, Conv, Msg } from './model.js';

const TICKS = { sent: '✓', delivered: '✓✓', read: '✓✓' } as const;

export interface MsgActions {
  recall(conv: string, seq: number): void;
  who(conv: string, seq: number): void;
}

/** the conversation list, most recent first, with unread counts */
export function renderConvs(list: HTMLElement, model: ChatModel, open: string | null, onOpen: (conv: string) => void): void {
  const convs = [...model.convs.values()].sort((a, b) => lastTs(b) - lastTs(a) || a.conv.localeCompare(b.conv));
  list.replaceChildren(
    ...convs.map((c) => {
      const unread = model.unread(c.conv);
      const li = el('li', `conv${c.conv === open ? ' open' : ''}`, '', { 'data-conv': c.conv });
      li.append(el('span', 'label', model.label(c.conv)), el('span', 'last', `#${c.lastSeq}`));
      if (unread > 0) li.append(el('span', 'unread', String(unread), { title: `${unread} unread` }));
      li.addEventListener('click', () => onOpen(c.conv));
      return li;
    }),
  );
}

function lastTs(c: Conv): number {
  return c.msgs.get(c.lastSeq)?.ts ?? 0;
}

/** the open conversation's messages in seq order */
export function renderMessages(list: HTMLElement, model: ChatModel, c: Conv, actions: MsgActions): void {
  const seqs = [...c.msgs.keys()].sort((a, b) => a - b);
  list.replaceChildren(...seqs.map((s) => messageItem(model, c.conv, c.msgs.get(s)!, actions)));
}

function messageItem(model: ChatModel, conv: string, m: Msg, actions: MsgActions): HTMLElement {
  const li = el('li', `msg${m.own ? ' own' : ''}${m.recalled ? ' recalled' : ''}${m.kind !== 'chat' ? ' event' : ''}`, '', { 'data-seq': String(m.seq) });
  li.append(el('span', 'seq', `#${m.seq}`), el('span', 'time', m.time), el('span', 'from', userLabel(m.from.id, model)));
  if (m.kind === 'recall') {
    li.append(el('span', 'text', `recalled #${m.recalledSeq ?? '?'}`));
    return li;
  }
  li.append(el('span', 'text', m.recalled ? '[recalled]' : m.text));
  const r = model.receipt(conv, m);
  if (r) {
    const st = el('span', `status ${r.status}`, `${TICKS[r.status]} ${r.status}`, { 'data-status': r.status });
    li.append(st);
    if (r.members !== undefined) {
      const counts = el('button', 'counts', `read ${r.readBy!.length}/${r.members}`, { type: 'button', title: 'who has it, who read it' });
      counts.addEventListener('click', () => actions.who(conv, m.seq));
      li.append(counts);
      if (r.readBy!.length > 0) li.append(el('span', 'readby', `read by ${r.readBy!.map((id) => userLabel(id, model)).join(', ')}`));
    }
  }
  if (model.canRecall(conv, m, Date.now())) {
    const b = el('button', 'recall', 'recall', { type: 'button' });
    b.addEventListener('click', () => actions.recall(conv, m.seq));
    li.append(b);
  }
  return li;
}

/** a line in the log under the page: `kind` is notice or error */
export function logLine(list: HTMLElement, kind: 'notice' | 'error', text: string): void {
  const time = new Date().toTimeString().slice(0, 8);
  list.append(el('li', kind, `${time} ${text}`));
  while (list.children.length > 200) list.firstElementChild?.remove();
  list.scrollTop = list.scrollHeight;
}
