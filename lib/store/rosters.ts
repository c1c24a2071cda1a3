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

/** members of all kept rosters at most (embedded: ~100 bytes each); past it the oldest rosters go */
const MAX_KEPT_MEMBERS = 500_000;

interface Entry {
  read: Promise<GroupMember[]>;
  /** its members once read (0 while in flight) */
  size: number;
}

export function withRosters(store: Store, keep: boolean): Store {
  const rosters = new Map<number, Entry>();
  let kept = 0;
  const drop = (groupId: number): void => {
    const e = rosters.get(groupId);
    if (!e) return;
    kept -= e.size;
    rosters.delete(groupId);
  };
  const changed = drop;
  const listMembers = (groupId: number): Promise<GroupMember[]> => {
    const hit = rosters.get(groupId);
    if (hit) return hit.read;
    const entry: Entry = { read: store.listMembers(groupId), size: 0 };
    rosters.set(groupId, entry);
    // a membership change during the read removed it (or a newer read replaced it): not ours to touch
    const mine = (): boolean => rosters.get(groupId) === entry;
    entry.read.then(
      (members) => {
        if (!mine()) return;
        if (!keep) return drop(groupId);
        entry.size = members.length;
        kept += members.length;
        for (const oldest of rosters.keys()) {
          if (kept <= MAX_KEPT_MEMBERS || oldest === groupId) break;
          drop(oldest);
        }
      },
      () => {
        if (mine()) drop(groupId);
      },
    );
    return entry.read;
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
