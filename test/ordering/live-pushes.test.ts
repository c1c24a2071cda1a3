/**
 * Live pushes alone, with no sync to paper over anything: two processes on one MariaDB and one
 * Redis, raw v2 connections that only read. Every session gets every seq of every
 * conversation it is in exactly once, in order (its own sends as acks, the rest as pushes), and
 * never gets its own message pushed back, before or after its ack. Each check waits for a
 * marker message sent after everything else, so a slow server cannot make it pass.
 */
import t from 'tap';
import { clusterEnv } from '../fixtures/cluster.js';
import { waitFor, type Json, type LineClient } from '../fixtures/harness.js';
import { barrier, newCmid, pairConv, range, rawLogin, registerUser, reqV2, strictlyIncreasing } from './util.js';

t.setTimeout(180_000);

/** sends a v2 chat frame (no wait) and returns its cmid */
function send(c: LineClient, to: { toid: number } | { groupid: number }, msg: string): string {
  const cmid = newCmid('live');
  c.send({ msgid: 'toid' in to ? 6 : 10, v: 2, ...to, msg, cmid });
  return cmid;
}

/** the CHAT_ACK of `cmid` (waits; removes only the ack) */
async function ackOf(c: LineClient, cmid: string): Promise<Json> {
  const ack = await c.next((f) => (f.msgid === 12 || f.msgid === 11) && f.cmid === cmid, 30_000);
  if (ack.msgid !== 12) throw new Error(`send ${cmid} refused: ${JSON.stringify(ack)}`);
  return ack;
}

/** chat pushes of `conv` in arrival order (kept in `frames`) */
function pushes(c: LineClient, conv: string): Json[] {
  return c.frames.filter((f) => (f.msgid === 6 || f.msgid === 10) && f.conv === conv);
}

/** waits (without removing anything) until `c` has the push of `cmid` */
function pushArrives(c: LineClient, cmid: string, what: string): Promise<void> {
  return waitFor(() => c.frames.some((f) => (f.msgid === 6 || f.msgid === 10) && f.cmid === cmid), 30_000, () => `${what}: ${JSON.stringify(c.frames.slice(-5))}`);
}

t.test('two users on two processes write to each other at the same moment', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const [na, nb] = await Promise.all([env.node(), env.node()]);
  const N = 15;
  const xs = await Promise.all(range(0, N - 1).map((i) => registerUser(t, na!.port, `x${i}`)));
  const ys = await Promise.all(range(0, N - 1).map((i) => registerUser(t, nb!.port, `y${i}`)));
  const xc = (await Promise.all(xs.map((id) => rawLogin(t, na!.port, id, true)))).map((l) => l.c);
  const yc = (await Promise.all(ys.map((id) => rawLogin(t, nb!.port, id, true)))).map((l) => l.c);
  const problems: string[] = [];

  /** x and y send at once, then each sends a marker; each must have had the other's message before it */
  const exchange = async (x: LineClient, xid: number, y: LineClient, yid: number, label: string) => {
    const conv = pairConv(xid, yid);
    const before = { x: pushes(x, conv).length, y: pushes(y, conv).length };
    const cx = send(x, { toid: yid }, `${label} x`);
    const cy = send(y, { toid: xid }, `${label} y`);
    const [ax, ay] = await Promise.all([ackOf(x, cx), ackOf(y, cy)]);
    const mx = send(x, { toid: yid }, `${label} x marker`);
    const my = send(y, { toid: xid }, `${label} y marker`);
    const [amx, amy] = await Promise.all([ackOf(x, mx), ackOf(y, my)]);
    await Promise.all([pushArrives(x, my, `${label}: x waits for y's marker`), pushArrives(y, mx, `${label}: y waits for x's marker`)]);
    const gotX = pushes(x, conv).slice(before.x);
    const gotY = pushes(y, conv).slice(before.y);
    const want = (a: Json, b: Json) => [a.msgSeq as number, b.msgSeq as number];
    if (JSON.stringify(gotX.map((f) => f.msgSeq)) !== JSON.stringify(want(ay, amy))) {
      problems.push(`${label} ${conv}: x got pushes ${JSON.stringify(gotX.map((f) => f.msgSeq))}, y's seqs are ${JSON.stringify(want(ay, amy))}`);
    }
    if (JSON.stringify(gotY.map((f) => f.msgSeq)) !== JSON.stringify(want(ax, amx))) {
      problems.push(`${label} ${conv}: y got pushes ${JSON.stringify(gotY.map((f) => f.msgSeq))}, x's seqs are ${JSON.stringify(want(ax, amx))}`);
    }
  };

  // every x meets every y once (N rounds, nobody twice in a round): N * N new conversations
  for (let r = 0; r < N; r++) {
    await Promise.all(range(0, N - 1).map((i) => exchange(xc[i]!, xs[i]!, yc[(i + r) % N]!, ys[(i + r) % N]!, `round ${r}`)));
  }
  t.same(problems, [], `${N * N} new conversations: every push arrived, in order, none twice`);

  // an existing conversation right after x logs in again (a fresh session on the same process)
  const again: LineClient[] = [];
  for (let i = 0; i < N; i++) {
    xc[i]!.close();
    again.push((await rawLogin(t, na!.port, xs[i]!, true)).c);
  }
  await Promise.all(range(0, N - 1).map((i) => exchange(again[i]!, xs[i]!, yc[i]!, ys[i]!, 'after login')));
  t.same(problems, [], 'after a new login: every push arrived, in order, none twice');

  const echoes = [...again.map((c, i) => [c, xs[i]!] as const), ...yc.map((c, i) => [c, ys[i]!] as const)].flatMap(([c, id]) =>
    c.frames.filter((f) => (f.msgid === 6 || f.msgid === 10) && f.id === id),
  );
  t.same(echoes, [], 'no session got its own message pushed back');
});

t.test('four senders on two processes into one group: every member gets exactly 1..N live', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const nodes = await Promise.all([env.node(), env.node()]);
  const port = (i: number) => nodes[i % 2]!.port;
  // members 0-3 send (two per process), 4 and 5 only read (v2), 6 is a legacy reader
  const ids = await Promise.all(range(0, 6).map((i) => registerUser(t, port(i), `g${i}`)));
  const setup = await Promise.all(ids.map((id, i) => rawLogin(t, port(i), id, i < 6).then((l) => l.c)));
  const GROUPS = 4;
  const PER_SENDER = 40;
  const groups: Array<{ id: number; conv: string }> = [];
  for (let g = 0; g < GROUPS; g++) {
    const made = await reqV2(setup[0]!, { msgid: 8, groupname: `live-${g}-${process.pid}`, groupdesc: '' });
    const id = made.groupid as number;
    for (let i = 1; i < 6; i++) t.equal((await reqV2(setup[i]!, { msgid: 9, groupid: id })).errno, 0);
    setup[6]!.send({ msgid: 9, groupid: id });
    await barrier(setup[6]!);
    groups.push({ id, conv: `g:${id}` });
  }
  // everyone comes back in a new session: the groups are known from before, not from a join
  for (const c of setup) c.close();
  const conns = await Promise.all(ids.map((id, i) => rawLogin(t, port(i), id, i < 6).then((l) => l.c)));

  // all groups at once, every sender pipelining its messages: fresh conversations filling up
  // from both processes concurrently
  const sent = new Map<number, string[]>(range(0, 3).map((i) => [i, []]));
  for (let k = 0; k < PER_SENDER; k++) {
    for (const g of groups) for (let i = 0; i < 4; i++) sent.get(i)!.push(send(conns[i]!, { groupid: g.id }, `m${i}:${k}`));
  }
  const acks = new Map<number, Json[]>();
  for (let i = 0; i < 4; i++) acks.set(i, await Promise.all(sent.get(i)!.map((cmid) => ackOf(conns[i]!, cmid))));
  const markers = groups.map((g) => send(conns[0]!, { groupid: g.id }, 'marker'));
  acks.get(0)!.push(...(await Promise.all(markers.map((cmid) => ackOf(conns[0]!, cmid)))));
  for (let i = 1; i < 6; i++) for (const m of markers) await pushArrives(conns[i]!, m, `member ${i} waits for the marker`);
  await waitFor(() => groups.every((g) => conns[6]!.frames.some((f) => f.conv === g.conv && f.msg === 'marker')), 30_000, () => 'the legacy member waits for the markers');

  const total = GROUPS * (4 * PER_SENDER + 1);
  let checked = 0;
  for (const g of groups) {
    const n = 4 * PER_SENDER + 1;
    for (let i = 0; i < 7; i++) {
      const c = conns[i]!;
      const got = pushes(c, g.conv).map((f) => f.msgSeq as number);
      const ownSeqs = (acks.get(i) ?? []).filter((a) => a.conv === g.conv).map((a) => a.msgSeq as number);
      t.ok(strictlyIncreasing(got), `member ${i}, ${g.conv}: pushes in order`);
      t.same(
        [...got, ...ownSeqs].sort((a, b) => a - b),
        range(1, n),
        `member ${i}, ${g.conv}: pushes and own acks are exactly 1..${n}`,
      );
      t.same(
        pushes(c, g.conv).filter((f) => f.id === ids[i]),
        [],
        `member ${i}, ${g.conv}: none of its own messages pushed back`,
      );
      checked += n;
    }
  }
  t.equal(checked, 7 * total);
});
