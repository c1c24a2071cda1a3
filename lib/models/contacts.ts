/** The friend and group lists of a login reply, with each user's online state. */
import type { Presence } from '../bus/types.js';
import type { GroupMember, GroupRecord, Store, UserRef } from '../store/types.js';

export type State = 'online' | 'offline';

export interface FriendView extends UserRef {
  state: State;
}

export interface GroupView {
  group: GroupRecord;
  users: Array<GroupMember & { state: State }>;
}

export async function loadContacts(store: Store, presence: Presence, userId: number): Promise<{ friends: FriendView[]; groups: GroupView[] }> {
  const [friends, groups] = await Promise.all([store.listFriends(userId), store.listUserGroups(userId)]);
  const members = await Promise.all(groups.map((g) => store.listMembers(g.id)));
  const ids = new Set<number>(friends.map((f) => f.id));
  for (const list of members) for (const m of list) ids.add(m.id);
  ids.add(userId);
  const online = await presence.sessionsOf([...ids]);
  const state = (id: number): State => (id === userId || online.has(id) ? 'online' : 'offline');
  return {
    friends: friends.map((f) => ({ id: f.id, name: f.name, state: state(f.id) })),
    groups: groups.map((group, i) => ({ group, users: members[i]!.map((m) => ({ ...m, state: state(m.id) })) })),
  };
}
