/**
 * Group member lists (rosters) read once and shared. Every login of a big group's member lists
 * the group (its reply shows each member), and so does every delivery to it: a storm of logins
 * after a restart would read the same 1,000 rows once per member. A read of a group's roster in
 * flight is shared by every caller that comes meanwhile; with `keep` (the store has one writer,
 * this process: embedded) the roster also stays until this store changes the group's
 * membership. In a cluster another process may change it at any moment, so only reads in
 * flight are shared there.
 *
 * The arrays returned are shared: callers must not modify them.
 */
import type { GroupMember, Store } from './types.js';

/** rosters kept at most (embedded); the oldest read goes first */
const MAX_KEPT = 10_000;

export function withRosters(store: Store, keep: boolean): Store {
  const rosters = new Map<number, Promise<GroupMember[]>>();
  const changed = (groupId: number): void => {
    rosters.delete(groupId);
  };
  const listMembers = (groupId: number): Promise<GroupMember[]> => {
    const hit = rosters.get(groupId);
    if (hit) return hit;
    const read = store.listMembers(groupId);
    rosters.set(groupId, read);
    // a membership change during the read removed it (or a newer read replaced it): not ours to touch
    const mine = (): boolean => rosters.get(groupId) === read;
    read.then(
      () => {
        if (!mine()) return;
        if (!keep) rosters.delete(groupId);
        else if (rosters.size > MAX_KEPT) rosters.delete(rosters.keys().next().value as number);
      },
      () => {
        if (mine()) rosters.delete(groupId);
      },
    );
    return read;
  };
  const after =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>, groupOf: (...args: A) => number) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } finally {
        // also after a failure: the write may have committed before the error came back
        changed(groupOf(...args));
      }
    };
  const own: Partial<Store> = {
    listMembers,
    joinGroup: after((groupId: number, userId: number) => store.joinGroup(groupId, userId), (groupId) => groupId),
    leaveGroup: after((groupId: number, userId: number) => store.leaveGroup(groupId, userId), (groupId) => groupId),
    // a roster read of the id before the group existed (empty) must not outlive its creation
    createGroup: async (name: string, desc: string, creatorId: number) => {
      const group = await store.createGroup(name, desc, creatorId);
      if (group) changed(group.id);
      return group;
    },
  };
  return overriding(store, own);
}

/**
 * `target` with some methods replaced; the others run on `target` itself (its #private fields).
 * A method assigned later (a test injecting a failure) replaces the outer one.
 */
export function overriding<T extends object>(target: T, own: Partial<T>): T {
  const mine = own as Record<string | symbol, unknown>;
  const bound = new Map<string | symbol, unknown>();
  return new Proxy(target, {
    get(obj, key) {
      if (Object.hasOwn(mine, key)) return mine[key];
      const v: unknown = Reflect.get(obj, key, obj);
      if (typeof v !== 'function') return v;
      let fn = bound.get(key);
      if (fn === undefined) bound.set(key, (fn = (v as (...args: unknown[]) => unknown).bind(obj)));
      return fn;
    },
    set(_obj, key, value: unknown) {
      mine[key] = value;
      return true;
    },
  });
}
