/**
 * Shared group rosters (lib/store/rosters.ts) over a real SQLite store: the store contract
 * passes through them; reads in flight are shared; kept rosters (embedded) follow every
 * membership change made through the store, also one made while a read was in flight; and a
 * legacy group's JSON built from them is byte for byte what JSON.stringify made before.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { legacyGroupJson, type State } from '../../lib/models/contacts.js';
import { overriding, withRosters } from '../../lib/store/rosters.js';
import { SqliteStore } from '../../lib/store/sqlite/index.js';
import type { GroupMember, Store } from '../../lib/store/types.js';
import { storeContract, storeHandle } from '../fixtures/store-contract.js';

async function sqlite(): Promise<{ store: SqliteStore; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'chat-rosters-'));
  const store = new SqliteStore({ file: join(dir, 'chat.db') });
  await store.migrate();
  return {
    store,
    remove: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** the store, with its listMembers calls counted */
function counted(store: Store): { store: Store; reads: () => number } {
  let n = 0;
  const inner = overriding(store, {
    listMembers: (groupId: number) => {
      n++;
      return store.listMembers(groupId);
    },
  });
  return { store: inner, reads: () => n };
}

storeContract(t, 'sqlite behind kept rosters', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chat-rosters-'));
  const file = join(dir, 'chat.db');
  return storeHandle(
    async () => {
      const store = new SqliteStore({ file });
      await store.migrate();
      return withRosters(store, true);
    },
    () => rm(dir, { recursive: true, force: true }),
  );
});

async function users(store: Store, n: number, prefix: string): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((await store.createUser(`${prefix}${i}`, 'x'))!);
  return ids;
}

t.test('kept rosters: one read, then every change through the store shows', async (t) => {
  const { store: raw, remove } = await sqlite();
  t.teardown(remove);
  const { store: inner, reads } = counted(raw);
  const store = withRosters(inner, true);
  const [a, b, c] = await users(store, 3, 'k');
  const g = (await store.createGroup('kept', 'd', a!))!;
  const ids = async () => (await store.listMembers(g.id)).map((m) => m.id);
  const [first, second] = await Promise.all([store.listMembers(g.id), store.listMembers(g.id)]);
  t.equal(first, second, 'reads at the same time share one array');
  t.same(await ids(), [a], 'the creator');
  t.equal(reads(), 1, 'one read of the store so far');
  await store.joinGroup(g.id, b!);
  t.same(await ids(), [a, b], 'a join shows at once');
  await store.joinGroup(g.id, c!);
  await store.leaveGroup(g.id, a!);
  t.same(await ids(), [b, c], 'a leave shows at once');
  const reads0 = reads();
  await ids();
  await ids();
  t.equal(reads(), reads0, 'unchanged rosters are not read again');
});

t.test('a join while a read is in flight: that read is not kept', async (t) => {
  const { store: raw, remove } = await sqlite();
  t.teardown(remove);
  const [a, b] = await users(raw, 2, 'f');
  const g = (await raw.createGroup('flight', 'd', a!))!;
  // the first read is held until the join committed
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  const slow = overriding<Store>(raw, {
    listMembers: async (groupId: number) => {
      const rows = await raw.listMembers(groupId);
      if (calls++ === 0) await gate;
      return rows;
    },
  });
  const store = withRosters(slow, true);
  const stale = store.listMembers(g.id);
  await store.joinGroup(g.id, b!);
  release();
  t.same((await stale).map((m) => m.id), [a], 'the read that began before the join');
  t.same((await store.listMembers(g.id)).map((m) => m.id), [a, b], 'the next read sees the join');
});

t.test('a roster read before its group existed does not outlive the creation', async (t) => {
  const { store: raw, remove } = await sqlite();
  t.teardown(remove);
  const store = withRosters(raw, true);
  const [a] = await users(store, 1, 'c');
  t.same(await store.listMembers(1), [], 'no group 1 yet');
  const g = (await store.createGroup('created', 'd', a!))!;
  t.equal(g.id, 1);
  t.same((await store.listMembers(g.id)).map((m) => m.id), [a]);
});

t.test('shared only while in flight (cluster): a later read reads again', async (t) => {
  const { store: raw, remove } = await sqlite();
  t.teardown(remove);
  const { store: inner, reads } = counted(raw);
  const store = withRosters(inner, false);
  const [a] = await users(store, 1, 's');
  const g = (await store.createGroup('shared', 'd', a!))!;
  const [x, y] = await Promise.all([store.listMembers(g.id), store.listMembers(g.id)]);
  t.equal(x, y, 'shared while in flight');
  t.equal(reads(), 1);
  await store.listMembers(g.id);
  t.equal(reads(), 2, 'read again once the first read was done');
});

t.test('a legacy group: the bytes JSON.stringify gave, whatever the names, both states', async (t) => {
  const members: GroupMember[] = [
    { id: 7, name: 'alice', role: 'creator' },
    { id: 8, name: 'bo"b\\ \u00e9\u4e2d \n\u2028 \ud83d\ude00', role: 'normal' },
    { id: 9, name: '', role: 'normal' },
  ];
  const group = { id: 42, name: 'g "quoted"', desc: 'line\nbreak \u0000', creatorId: 7 };
  const naive = (state: (id: number) => State) =>
    JSON.stringify({
      groupdesc: group.desc,
      groupname: group.name,
      id: group.id,
      users: members.map((u) => JSON.stringify({ id: u.id, name: u.name, role: u.role, state: state(u.id) })),
    });
  const view = { group, members };
  const states: Array<(id: number) => State> = [() => 'online', () => 'offline', (id) => (id === 8 ? 'online' : 'offline'), (id) => (id === 8 ? 'offline' : 'online')];
  // twice each: the second time from the entries kept for this roster
  for (const state of [...states, ...states]) t.equal(legacyGroupJson(view, state), naive(state));
  t.equal(legacyGroupJson({ group, members: [] }, () => 'online'), JSON.stringify({ groupdesc: group.desc, groupname: group.name, id: group.id, users: [] }), 'an empty roster');
});
