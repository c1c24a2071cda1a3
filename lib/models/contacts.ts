/**
 * The friend and group lists of a login reply, with each user's online state: one presence
 * lookup for every friend and every member of every group, and each group's roster as the store
 * shares it (lib/store/rosters.ts). A legacy reply shows every member of every group, so a login
 * costs O(members); the member entries are serialised once per roster (legacyGroupJson), not
 * once per login.
 */
import type { Presence } from '../bus/types.js';
import type { GroupMember, GroupRecord, Store, UserRef } from '../store/types.js';

export type State = 'online' | 'offline';

export interface FriendView extends UserRef {
  state: State;
}

export interface GroupView {
  group: GroupRecord;
  /** shared with other readers of the roster: never modified */
  members: readonly GroupMember[];
}

export interface Contacts {
  friends: FriendView[];
  groups: GroupView[];
  state: (userId: number) => State;
}

export async function loadContacts(store: Store, presence: Presence, userId: number): Promise<Contacts> {
  const [friends, groups] = await Promise.all([store.listFriends(userId), store.listUserGroups(userId)]);
  const members = await Promise.all(groups.map((g) => store.listMembers(g.id)));
  const ids = new Set<number>(friends.map((f) => f.id));
  for (const list of members) for (const m of list) ids.add(m.id);
  ids.delete(userId);
  const online = await presence.sessionsOf([...ids]);
  const state = (id: number): State => (id === userId || online.has(id) ? 'online' : 'offline');
  return {
    friends: friends.map((f) => ({ id: f.id, name: f.name, state: state(f.id) })),
    groups: groups.map((group, i) => ({ group, members: members[i]! })),
    state,
  };
}

/** a v2 reply's members, each with its state */
export function membersWithState(g: GroupView, state: (userId: number) => State): Array<GroupMember & { state: State }> {
  return g.members.map((m) => ({ ...m, state: state(m.id) }));
}

/** per roster: each member's legacy entry, already a JSON string literal, by state */
const legacyEntries = new WeakMap<readonly GroupMember[], Record<State, Array<string | undefined>>>();

/**
 * A legacy group, the original's shape: a JSON text whose `users` holds one JSON text per
 * member. The bytes are those of JSON.stringify({ groupdesc, groupname, id, users }); each
 * member's entry is serialised once per roster and state, not once per login.
 */
export function legacyGroupJson(g: GroupView, state: (userId: number) => State): string {
  let cache = legacyEntries.get(g.members);
  if (!cache) legacyEntries.set(g.members, (cache = { online: [], offline: [] }));
  const parts = new Array<string>(g.members.length);
  for (let i = 0; i < g.members.length; i++) {
    const m = g.members[i]!;
    const st = state(m.id);
    parts[i] = cache[st][i] ??= JSON.stringify(JSON.stringify({ id: m.id, name: m.name, role: m.role, state: st }));
  }
  return `{"groupdesc":${JSON.stringify(g.group.desc)},"groupname":${JSON.stringify(g.group.name)},"id":${JSON.stringify(g.group.id)},"users":[${parts.join(',')}]}`;
}
