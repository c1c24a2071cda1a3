/**
 * The interactive client's texts: the original ChatClient's menu, overview block, help and
 * message lines (in its exact words), plus ours. Message lines:
 *
 *   <time> [<id>]<name> said: <msg> #<seq>                       one-to-one, from the peer
 *   群消息[<groupid>]:<time> [<id>]<name> said: <msg> #<seq>      group (`group[<id>]:` with --english)
 *   <time> [<id>]<name> said to [<peer>]<name>: <msg> #<seq> (sent)   your own one-to-one message
 *   <time> [<id>]<name> recalled #<seq>                          a recall (with the group prefix in groups)
 *   <time> #<seq> expired                                        a disappearing message is gone
 *   <time> [<id>]<name> set disappearing messages to <n> s       a conversation's timer (or "turned ... off")
 *
 * An end-to-end encrypted message's <msg> is `[e2e] <text>`, or says it cannot be read here.
 *
 * `#<seq>` is the message's position in its conversation; recall, read and status take it.
 */
import type { ChatEvent, LoginInfo } from '../../client/core.js';
import type { LegacyMessage } from '../../client/legacy.js';

export const START_MENU = ['========================', '1. login', '2. register', '3. quit', '========================', ''].join('\n');
export const CHOICE_PROMPT = 'choice:';

export type OwnStatus = 'sending' | 'sent' | 'delivered' | 'read' | 'recalled';

export interface Names {
  name(id: number): string | undefined;
  groupName(id: number): string | undefined;
}

export function userLabel(id: number, names: Names): string {
  return `[${id}]${names.name(id) ?? ''}`;
}

export function groupPrefix(groupid: number, english: boolean): string {
  return english ? `group[${groupid}]:` : `群消息[${groupid}]:`;
}

/** what the user sees for one conversation: `[13]li si` or `group[5]team` */
export function convLabel(conv: string, me: number, names: Names): string {
  const g = /^g:(\d+)$/.exec(conv);
  if (g) {
    const id = Number(g[1]);
    const n = names.groupName(id);
    return `group[${id}]${n ?? ''}`;
  }
  const p = /^p:(\d+):(\d+)$/.exec(conv);
  if (p) {
    const a = Number(p[1]);
    return userLabel(a === me ? Number(p[2]) : a, names);
  }
  return conv;
}

/** the original's overview block after a login */
export function overview(info: Pick<LoginInfo, 'id' | 'name' | 'friends' | 'groups'>): string {
  const out = [
    '======================login user======================',
    `current login user => id:${info.id} name:${info.name}`,
    '----------------------friend list---------------------',
  ];
  for (const f of info.friends) out.push(`${f.id} ${f.name} ${f.state}`);
  out.push('----------------------group list----------------------');
  for (const g of info.groups) {
    out.push(`${g.id} ${g.groupname} ${g.groupdesc}`);
    for (const u of g.users) out.push(`${u.id} ${u.name} ${u.state} ${u.role}`);
  }
  out.push('======================================================');
  return out.join('\n');
}

/** an end-to-end encrypted message's text as shown */
const SEALED_WORDS: Record<NonNullable<ChatEvent['sealed']>, (text: string) => string> = {
  ok: (text) => `[e2e] ${text}`,
  'no-copy': () => '[encrypted, not for this device]',
  failed: () => '[encrypted, undecryptable: not shown]',
};

/** a chat message's text as shown: an end-to-end encrypted one marked, or why it is not shown */
export function shownText(ev: ChatEvent): string {
  return ev.sealed ? SEALED_WORDS[ev.sealed](ev.text) : ev.text;
}

/** one event of the live stream (or of a history page) as a line */
export function eventLine(ev: ChatEvent, o: { me: number; names: Names; english: boolean; status?: OwnStatus; history?: boolean }): string {
  const prefix = ev.groupid !== undefined ? groupPrefix(ev.groupid, o.english) : '';
  const who = `[${ev.from.id}]${ev.from.name}`;
  if (ev.kind === 'recall') return `${prefix}${ev.time} ${who} recalled #${ev.recalledSeq ?? '?'}`;
  if (ev.kind === 'expire') return `${prefix}${ev.time} #${ev.expiredSeq ?? '?'} expired`;
  if (ev.kind === 'timer') {
    return `${prefix}${ev.time} ${who} ${ev.ttl ? `set disappearing messages to ${ev.ttl} s` : 'turned disappearing messages off'}`;
  }
  const text = ev.recalled ? '[recalled]' : ev.expired ? '[expired]' : shownText(ev);
  const to = ev.own && !o.history && ev.groupid === undefined && ev.toid !== undefined ? ` to ${userLabel(ev.toid, o.names)}` : '';
  const status = o.status && !ev.recalled ? ` (${o.status})` : '';
  return `${prefix}${ev.time} ${who} said${to}: ${text} #${ev.seq}${status}`;
}

/** a chat line in the original protocol (no seq): the original client's words exactly */
export function legacyLine(m: LegacyMessage, english: boolean): string {
  const prefix = m.groupid !== undefined ? groupPrefix(m.groupid, english) : '';
  return `${prefix}${m.time} [${m.from.id}]${m.from.name} said: ${m.text}`;
}

/** `#4,#5` */
export function seqList(seqs: number[]): string {
  return seqs.map((s) => `#${s}`).join(',');
}

interface HelpEntry {
  name: string;
  en: string;
  zh: string;
}

/** the original's seven commands first (its words), then ours */
const HELP: HelpEntry[] = [
  { name: 'help', en: 'show all commands, format help', zh: '显示所有支持的命令，格式help' },
  { name: 'chat', en: 'one-to-one chat, format chat:friendid:message', zh: '一对一聊天，格式chat:friendid:message' },
  { name: 'addfriend', en: 'add a friend, format addfriend:friendid', zh: '添加好友，格式addfriend:friendid' },
  { name: 'creategroup', en: 'create a group, format creategroup:groupname:groupdesc', zh: '创建群组，格式creategroup:groupname:groupdesc' },
  { name: 'addgroup', en: 'join a group, format addgroup:groupid', zh: '加入群组，格式addgroup:groupid' },
  { name: 'groupchat', en: 'group chat, format groupchat:groupid:message', zh: '群聊，格式groupchat:groupid:message' },
  { name: 'loginout', en: 'log out (back to the start menu), format loginout', zh: '注销，格式loginout' },
  {
    name: 'recall',
    en: 'recall a message, format recall:seq (current conversation) or recall:conv:seq',
    zh: '撤回消息，格式recall:seq 或 recall:conv:seq',
  },
  {
    name: 'history',
    en: 'show a conversation, newest page first, format history:conv (then more)',
    zh: '查看聊天记录，格式history:conv（更早的用more）',
  },
  { name: 'more', en: 'the next older page of the last history, format more', zh: '更早的聊天记录，格式more' },
  {
    name: 'read',
    en: 'mark read: read (every conversation), read:conv, or read:conv:seq',
    zh: '标记已读，格式read、read:conv 或 read:conv:seq',
  },
  {
    name: 'status',
    en: "a message's status and who has read it, format status:seq or status:conv:seq",
    zh: '查看消息状态（谁已读），格式status:seq 或 status:conv:seq',
  },
  { name: 'convs', en: 'list conversations with unread counts, format convs', zh: '会话列表与未读数，格式convs' },
  {
    name: 'encrypt',
    en: 'end-to-end encrypt my messages in a conversation, format encrypt:conv (encrypt:conv:off to stop)',
    zh: '端到端加密我在会话中的消息，格式encrypt:conv（encrypt:conv:off 关闭）',
  },
  {
    name: 'fingerprint',
    en: "key fingerprints to compare: fingerprint (this device) or fingerprint:userid (that user's devices)",
    zh: '密钥指纹，格式fingerprint（本设备）或 fingerprint:userid',
  },
  { name: 'quit', en: 'quit the client, format quit', zh: '退出，格式quit' },
];

export const COMMANDS = new Set(HELP.map((h) => h.name));

/** the commands against a server of the original protocol: the original's seven, and quit */
export const LEGACY_COMMANDS = new Set(['help', 'chat', 'addfriend', 'creategroup', 'addgroup', 'groupchat', 'loginout', 'quit']);

/** the help; `legacy`: only LEGACY_COMMANDS */
export function helpText(english: boolean, legacy = false): string {
  const lines = ['show command list >>> '];
  for (const h of HELP) {
    if (!legacy || LEGACY_COMMANDS.has(h.name)) lines.push(english ? `${h.name} : ${h.en}` : `${h.name} : ${h.en} | ${h.zh}`);
  }
  if (legacy) return lines.join('\n');
  lines.push(
    'conv: 13 (the conversation with user 13), g5 (group 5), or p:12:13 / g:5',
    'current conversation: the one you last sent to or opened with history',
    'every message line ends with #<seq>, its position in its conversation (recall, read and status take it)',
    'your own messages show (sent), then "delivered to" and "read by" lines as the recipients get and read them',
  );
  return lines.join('\n');
}
