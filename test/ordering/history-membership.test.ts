/**
 * History paging (SYNC after / before, limits, `more`) inside each member's window, and what
 * leaving, being removed and unfriending change: a member reads a group's log from the seq at
 * which they joined; one who left or was removed reads up to that point and gets no more
 * pushes; a non-member reads nothing (109); only the creator removes (113); unfriending
 * (REMOVE_FRIEND 23; 119 when not a friend) removes the contact only.
 */
import t from 'tap';
import type { Test } from 'tap';
import { startServer, type Json, type LineClient } from '../fixtures/harness.js';
import { marker, pairConv, pushedUpTo, pushesOf, range, rawLogin, registerUser, reqV2 } from './util.js';

t.setTimeout(30_000);

const seqs = (page: Json) => (page.events as Json[]).map((e) => e.msgSeq as number);

async function sync(c: LineClient, conv: string, opts: Json): Promise<Json> {
  return reqV2(c, { msgid: 15, conv, ...opts });
}

/** walks SYNC forward (after) or backward (before) until `more` is false */
async function walk(c: LineClient, conv: string, dir: 'after' | 'before', limit: number): Promise<{ seqs: number[]; pages: number }> {
  const out: number[] = [];
  let pages = 0;
  let cursor = dir === 'after' ? 0 : Number.MAX_SAFE_INTEGER;
  for (;;) {
    const page = await sync(c, conv, { [dir]: cursor, limit });
    if (page.msgid !== 16) throw new Error(JSON.stringify(page));
    pages++;
    const s = seqs(page);
    if (dir === 'after') out.push(...s);
    else out.unshift(...s);
    if (!page.more) break;
    cursor = dir === 'after' ? s[s.length - 1]! : s[0]!;
  }
  return { seqs: out, pages };
}

async function users(t: Test, port: number, names: string[]): Promise<Record<string, { id: number; c: LineClient }>> {
  const ids = await Promise.all(names.map((n) => registerUser(t, port, n)));
  const out: Record<string, { id: number; c: LineClient }> = {};
  for (const [i, n] of names.entries()) out[n] = { id: ids[i]!, c: (await rawLogin(t, port, ids[i]!, true)).c };
  return out;
}

t.test('paging a group inside the member windows; leave and remove end the window', async (t) => {
  const srv = await startServer(t);
  const u = await users(t, srv.port, ['cre', 'mem', 'rem', 'oth', 'out']);
  const { cre, mem, rem, oth, out } = u as Required<typeof u>;
  const gid = (await reqV2(cre!.c, { msgid: 8, groupname: 'history', groupdesc: '' })).groupid as number;
  const conv = `g:${gid}`;
  const say = async (from: LineClient, n: number, tag: string) => {
    for (let i = 0; i < n; i++) {
      const ack = await reqV2(from, { msgid: 10, groupid: gid, msg: `${tag} ${i}` });
      if (ack.msgid !== 12) throw new Error(JSON.stringify(ack));
    }
  };
  await say(cre!.c, 10, 'before mem'); // 1..10
  t.match(await reqV2(mem!.c, { msgid: 9, groupid: gid }), { msgid: 13, errno: 0, conv, joinedSeq: 10, joined: true }, 'mem joins at 10');
  t.match(await reqV2(mem!.c, { msgid: 9, groupid: gid }), { errno: 0, joinedSeq: 10, joined: false }, 'joining again changes nothing');
  await say(cre!.c, 10, 'before rem'); // 11..20
  t.match(await reqV2(rem!.c, { msgid: 9, groupid: gid }), { errno: 0, joinedSeq: 20 }, 'rem joins at 20');
  t.match(await reqV2(oth!.c, { msgid: 9, groupid: gid }), { errno: 0, joinedSeq: 20 });
  await say(cre!.c, 10, 'all in'); // 21..30

  // forward pages for mem, window 11..30
  const p1 = await sync(mem!.c, conv, { after: 0, limit: 5 });
  t.match(p1, { msgid: 16, errno: 0, conv, lastSeq: 30, joinedSeq: 10, more: true }, 'after 0: starts at the join');
  t.same(seqs(p1), [11, 12, 13, 14, 15]);
  t.same(seqs(await sync(mem!.c, conv, { after: 15, limit: 5 })), [16, 17, 18, 19, 20]);
  const last = await sync(mem!.c, conv, { after: 25, limit: 10 });
  t.same(seqs(last), [26, 27, 28, 29, 30], 'the last page stops at lastSeq');
  t.equal(last.more, false, 'and says there is no more');
  const exact = await sync(mem!.c, conv, { after: 20, limit: 10 });
  t.same(seqs(exact), range(21, 30));
  t.equal(exact.more, false, 'a page ending exactly at lastSeq: more is false');
  const past = await sync(mem!.c, conv, { after: 30, limit: 10 });
  t.same(seqs(past), [], 'after the last seq: empty');
  t.equal(past.more, false);
  t.same(seqs(await sync(mem!.c, conv, { after: 1000 })), [], 'far past the end: empty');
  t.same(seqs(await sync(mem!.c, conv, {})), range(11, 30), 'no cursor: from the start of the window, default limit');

  // backward pages for mem
  const b1 = await sync(mem!.c, conv, { before: 31, limit: 8 });
  t.same(seqs(b1), range(23, 30), 'before 31: the newest 8');
  t.equal(b1.more, true);
  const b2 = await sync(mem!.c, conv, { before: 23, limit: 8 });
  t.same(seqs(b2), range(15, 22));
  t.equal(b2.more, true);
  const b3 = await sync(mem!.c, conv, { before: 15, limit: 8 });
  t.same(seqs(b3), range(11, 14), 'the oldest page stops at the join');
  t.equal(b3.more, false, 'and says there is no more');
  const b4 = await sync(mem!.c, conv, { before: 11, limit: 5 });
  t.same(seqs(b4), [], 'before the join: nothing');
  t.equal(b4.more, false);
  t.same(seqs(await sync(mem!.c, conv, { before: 1000, limit: 3 })), [28, 29, 30], 'before far past the end: the newest');

  // whole walks, both ways, several page sizes: each seq of the window exactly once
  for (const limit of [1, 3, 7, 20, 500]) {
    const fw = await walk(mem!.c, conv, 'after', limit);
    const bw = await walk(mem!.c, conv, 'before', limit);
    t.same(fw.seqs, range(11, 30), `forward walk, limit ${limit}: 11..30 once (${fw.pages} pages)`);
    t.same(bw.seqs, range(11, 30), `backward walk, limit ${limit}: 11..30 once (${bw.pages} pages)`);
  }
  t.same((await walk(cre!.c, conv, 'after', 7)).seqs, range(1, 30), 'the creator reads from 1');
  t.same((await walk(rem!.c, conv, 'before', 4)).seqs, range(21, 30), 'rem reads from 21');
  const evs = (await sync(mem!.c, conv, { after: 10, limit: 1 })).events as Json[];
  t.match(evs[0], { msgid: 10, v: 2, conv, msgSeq: 11, groupid: gid, id: cre!.id, name: 'cre', msg: 'before rem 0' }, 'events carry the push shape');

  // bad paging requests
  for (const bad of [{ after: 1, before: 5 }, { limit: 0 }, { limit: 501 }, { after: -1 }, { before: 'x' }]) {
    t.match(await sync(mem!.c, conv, bad), { msgid: 11, errno: 103 }, `${JSON.stringify(bad)}: 103`);
  }

  // pushes: each member got exactly its window
  await pushedUpTo(mem!.c, conv, 30);
  await pushedUpTo(rem!.c, conv, 30);
  t.same(
    pushesOf(mem!.c, conv).map((f) => f.msgSeq),
    range(11, 30),
    'mem was pushed 11..30',
  );
  t.same(
    pushesOf(rem!.c, conv).map((f) => f.msgSeq),
    range(21, 30),
    'rem was pushed 21..30',
  );

  // ---- mem leaves at 30
  t.match(await reqV2(mem!.c, { msgid: 21, groupid: gid }), { msgid: 13, errno: 0, groupid: gid }, 'mem leaves');
  t.match(await reqV2(mem!.c, { msgid: 21, groupid: gid }), { msgid: 11, errno: 109 }, 'leaving again: 109');
  await say(cre!.c, 5, 'after mem left'); // 31..35
  await marker(cre!.c, mem!.id, mem!.c);
  t.equal(pushesOf(mem!.c, conv).length, 20, 'no pushes after leaving');
  const gone = await sync(mem!.c, conv, { after: 25, limit: 100 });
  t.same(seqs(gone), range(26, 30), 'sync stops at the leave');
  t.match(gone, { lastSeq: 30, more: false });
  t.same(seqs(await sync(mem!.c, conv, { before: 1000, limit: 3 })), [28, 29, 30], 'backwards too');
  const list = (await reqV2(mem!.c, { msgid: 26 })).convs as Json[];
  t.match(
    list.find((c) => c.conv === conv),
    { lastSeq: 30, leftSeq: 30, joinedSeq: 10 },
    'the conversation list shows where the window ended',
  );
  t.match(await reqV2(mem!.c, { msgid: 10, groupid: gid, msg: 'still here?' }), { msgid: 11, errno: 109 }, 'a former member cannot send');

  // ---- removing: only the creator, never the creator
  t.match(await reqV2(rem!.c, { msgid: 22, groupid: gid, userid: oth!.id }), { msgid: 11, errno: 113 }, 'a member cannot remove another: 113');
  t.match(await reqV2(rem!.c, { msgid: 22, groupid: gid, userid: cre!.id }), { msgid: 11, errno: 113 }, 'nor the creator: 113');
  t.match(await reqV2(cre!.c, { msgid: 22, groupid: gid, userid: cre!.id }), { msgid: 11, errno: 113 }, 'the creator cannot remove itself: 113');
  t.match(await reqV2(cre!.c, { msgid: 22, groupid: gid, userid: out!.id }), { msgid: 11, errno: 109 }, 'removing a non-member: 109');
  t.match(await reqV2(cre!.c, { msgid: 22, groupid: 999_999, userid: rem!.id }), { msgid: 11, errno: 108 }, 'no such group: 108');
  t.match(await reqV2(cre!.c, { msgid: 22, groupid: gid, userid: rem!.id }), { msgid: 13, errno: 0, groupid: gid, userid: rem!.id }, 'the creator removes rem');
  t.match(await reqV2(cre!.c, { msgid: 22, groupid: gid, userid: rem!.id }), { msgid: 11, errno: 109 }, 'twice: 109');
  await say(cre!.c, 3, 'after rem removed'); // 36..38
  await marker(cre!.c, rem!.id, rem!.c);
  await pushedUpTo(oth!.c, conv, 38);
  t.same(
    pushesOf(rem!.c, conv).map((f) => f.msgSeq),
    range(21, 35),
    'rem got pushes up to its removal, none after',
  );
  const remPage = await sync(rem!.c, conv, { after: 30, limit: 100 });
  t.same(seqs(remPage), range(31, 35), 'rem reads up to its removal');
  t.match(remPage, { lastSeq: 35, more: false });
  t.same(seqs(await sync(rem!.c, conv, { after: 35 })), [], 'and nothing after it');
  t.match(await reqV2(rem!.c, { msgid: 10, groupid: gid, msg: 'let me in' }), { msgid: 11, errno: 109 }, 'a removed member cannot send');
  t.same(
    pushesOf(oth!.c, conv).map((f) => f.msgSeq),
    range(21, 38),
    'the others go on',
  );

  // ---- a non-member reads nothing
  for (const opts of [{ after: 0 }, { before: 1000 }]) {
    t.match(await sync(out!.c, conv, opts), { msgid: 11, errno: 109 }, `a non-member's sync ${JSON.stringify(opts)}: 109`);
  }
  t.match(await sync(out!.c, pairConv(cre!.id, mem!.id), { after: 0 }), { msgid: 11, errno: 109 }, "someone else's pair: 109");
  t.match(await sync(out!.c, 'g:999999', { after: 0 }), { msgid: 11, errno: 109 }, 'a group that does not exist: 109');
  t.match(await reqV2(out!.c, { msgid: 10, groupid: gid, msg: 'hi' }), { msgid: 11, errno: 109 }, 'a non-member cannot send');
  await marker(cre!.c, out!.id, out!.c);
  t.equal(pushesOf(out!.c, conv).length, 0, 'and was pushed nothing');
});

t.test('unfriending removes the contact on both sides; one-to-one chat goes on', async (t) => {
  const srv = await startServer(t);
  const u = await users(t, srv.port, ['amy', 'bea', 'cid']);
  const { amy, bea, cid } = u as Required<typeof u>;
  t.match(await reqV2(amy!.c, { msgid: 7, friendid: bea!.id }), { msgid: 13, errno: 0 });
  t.match(await reqV2(amy!.c, { msgid: 7, friendid: cid!.id }), { msgid: 13, errno: 0 });
  const friendsOf = async (id: number, v2: boolean) => {
    const { c, ack } = await rawLogin(t, srv.port, id, v2);
    c.close();
    return ((ack.friends ?? []) as unknown[]).map((f) => ((typeof f === 'string' ? JSON.parse(f) : f) as Json).id as number);
  };
  t.same(await friendsOf(bea!.id, true), [amy!.id], 'bea has amy (friendship is both ways)');
  t.match(await reqV2(amy!.c, { msgid: 6, toid: bea!.id, msg: 'as friends' }), { msgid: 12, msgSeq: 1 });

  t.match(await reqV2(amy!.c, { msgid: 23, friendid: bea!.id }), { msgid: 13, errno: 0, friendid: bea!.id }, 'amy removes bea');
  t.match(await reqV2(amy!.c, { msgid: 23, friendid: bea!.id }), { msgid: 11, errno: 119 }, 'again: 119 not a friend');
  t.match(await reqV2(bea!.c, { msgid: 23, friendid: amy!.id }), { msgid: 11, errno: 119 }, 'from the other side too: the contact is gone both ways');
  t.match(await reqV2(bea!.c, { msgid: 23, friendid: 999_999 }), { msgid: 11, errno: 119 }, 'a stranger: 119');
  t.match(await reqV2(bea!.c, { msgid: 23, friendid: bea!.id }), { msgid: 11, errno: 119 }, 'oneself: 119');
  t.match(await reqV2(bea!.c, { msgid: 23 }), { msgid: 11, errno: 103 }, 'no friendid: 103');

  t.same(await friendsOf(amy!.id, true), [cid!.id], "amy's list (v2 login) keeps cid only");
  t.same(await friendsOf(bea!.id, true), [], "bea's list is empty");

  // chatting needs no friendship
  t.match(await reqV2(amy!.c, { msgid: 6, toid: bea!.id, msg: 'still talking' }), { msgid: 12, errno: 0, msgSeq: 2 }, 'amy -> bea after unfriending');
  t.match(await reqV2(bea!.c, { msgid: 6, toid: amy!.id, msg: 'sure' }), { msgid: 12, errno: 0, msgSeq: 3 }, 'bea -> amy');
  await marker(cid!.c, bea!.id, bea!.c);
  t.same(
    pushesOf(bea!.c, pairConv(amy!.id, bea!.id)).map((f) => [f.msgSeq, f.msg]),
    [
      [1, 'as friends'],
      [2, 'still talking'],
    ],
    'bea was pushed both, in order',
  );
  t.same(
    (await walk(bea!.c, pairConv(amy!.id, bea!.id), 'after', 2)).seqs,
    [1, 2, 3],
    'and still reads the whole pair, from before the unfriending too',
  );
  // befriending again works
  t.match(await reqV2(bea!.c, { msgid: 7, friendid: amy!.id }), { msgid: 13, errno: 0 }, 'friends again');
  t.same(await friendsOf(amy!.id, true), [bea!.id, cid!.id].sort((a, b) => a - b));
});
