/**
 * Ordering under concurrency, two server processes on one MariaDB and one Redis: many senders
 * on both processes write at once into one group and into many one-to-one conversations.
 * Every recipient, v2 (ChatClient) and legacy (raw line client), gets exactly 1..N in order
 * (legacy: without its own messages), nothing missing, nothing twice, each sender's messages
 * in the order it sent them.
 */
import t from 'tap';
import type { ChatClient, ChatEvent } from '../../lib/client/client.js';
import { clusterEnv } from '../fixtures/cluster.js';
import type { LineClient } from '../fixtures/harness.js';
import {
  barrier,
  chatClient,
  fromEvents,
  fromFrames,
  mysqlLog,
  pairConv,
  PW,
  pushesOf,
  range,
  rawLogin,
  recordStream,
  registerUser,
  sendOrderProblem,
  streamProblem,
  until,
} from './util.js';

t.setTimeout(60_000);

interface Member {
  id: number;
  node: number;
  legacy: LineClient | null;
  v2: (ChatClient & { errors: Error[] }) | null;
  stream: Map<string, ChatEvent[]> | null;
}

t.test('a group of 8 and 10 pairs spread over two processes, everyone sending at once', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const nodes = await Promise.all([env.node(), env.node()]);
  const port = (node: number) => nodes[node]!.port;

  const GROUP = 8;
  const PER_MEMBER = 100;
  const PAIRS = 10;
  const PER_SIDE = 200;
  const legacyMember = (i: number) => [0, 1, 4, 5].includes(i);
  // pair p: side A on node 0, side B on node 1; p % 3: 0 both v2, 1 A legacy + B v2, 2 both legacy
  const pairLegacy = (p: number, side: 0 | 1) => p % 3 === 2 || (p % 3 === 1 && side === 0);

  const gIds = await Promise.all(range(0, GROUP - 1).map((i) => registerUser(t, port(i % 2), `member${i}`)));
  const pIds = await Promise.all(range(0, 2 * PAIRS - 1).map((k) => registerUser(t, port(k % 2), `pair${k >> 1}${'ab'[k % 2]}`)));

  const connect = async (id: number, node: number, legacy: boolean): Promise<Member> => {
    if (legacy) return { id, node, legacy: (await rawLogin(t, port(node), id)).c, v2: null, stream: null };
    const c = await chatClient(t, port(node));
    const stream = recordStream(c);
    await c.login(id, PW);
    return { id, node, legacy: null, v2: c, stream };
  };
  const members = await Promise.all(gIds.map((id, i) => connect(id, i % 2, legacyMember(i))));
  const pairs = await Promise.all(
    range(0, PAIRS - 1).map(async (p) => {
      const [a, b] = await Promise.all([connect(pIds[2 * p]!, 0, pairLegacy(p, 0)), connect(pIds[2 * p + 1]!, 1, pairLegacy(p, 1))]);
      return [a, b] as const;
    }),
  );

  // the group: created by a v2 member, joined by the rest (legacy joins have no reply: barrier)
  const creator = members.find((m) => m.v2)!;
  const gid = await creator.v2!.createGroup('ordering', 'eight members');
  const gconv = `g:${gid}`;
  await Promise.all(
    members
      .filter((m) => m !== creator)
      .map(async (m) => {
        if (m.v2) await m.v2.joinGroup(gid);
        else {
          m.legacy!.send({ msgid: 9, groupid: gid });
          await barrier(m.legacy!);
        }
      }),
  );

  // everyone sends at once
  const acks: Array<Promise<unknown>> = [];
  const send = (m: Member, to: { groupid: number } | { toid: number }, tag: string, n: number) => {
    for (let k = 0; k < n; k++) {
      const msg = `${tag}:${k}`;
      if (m.v2) acks.push('groupid' in to ? m.v2.sendGroup(to.groupid, msg) : m.v2.sendTo(to.toid, msg));
      else m.legacy!.send({ msgid: 'groupid' in to ? 10 : 6, ...to, msg });
    }
  };
  const started = Date.now();
  members.forEach((m, i) => send(m, { groupid: gid }, `g${i}`, PER_MEMBER));
  pairs.forEach(([a, b], p) => {
    send(a, { toid: b.id }, `p${p}a`, PER_SIDE);
    send(b, { toid: a.id }, `p${p}b`, PER_SIDE);
  });
  await Promise.all(acks);

  // what each recipient must end up with
  const N = GROUP * PER_MEMBER;
  const expectCount = (m: Member, conv: string, total: number, own: number) => (m.v2 ? total : total - own);
  const received = (m: Member, conv: string) => (m.v2 ? (m.stream!.get(conv) ?? []).length : pushesOf(m.legacy!, conv).length);
  const wanted: Array<{ m: Member; conv: string; n: number; label: string }> = [
    ...members.map((m, i) => ({ m, conv: gconv, n: expectCount(m, gconv, N, PER_MEMBER), label: `member${i} (${m.v2 ? 'v2' : 'legacy'}, node ${m.node})` })),
    ...pairs.flatMap(([a, b], p) =>
      [a, b].map((m, s) => ({
        m,
        conv: pairConv(a.id, b.id),
        n: expectCount(m, pairConv(a.id, b.id), 2 * PER_SIDE, PER_SIDE),
        label: `pair${p}${'ab'[s]} (${m.v2 ? 'v2' : 'legacy'}, node ${m.node})`,
      })),
    ),
  ];
  await until(
    () => wanted.every((w) => received(w.m, w.conv) >= w.n),
    30_000,
    () =>
      wanted
        .filter((w) => received(w.m, w.conv) < w.n)
        .map((w) => `${w.label}: ${received(w.m, w.conv)}/${w.n}`)
        .join('; '),
  );
  t.comment(`${N + PAIRS * 2 * PER_SIDE} messages sent and received everywhere in ${Date.now() - started} ms`);
  // one more line in every conversation, from each side of a pair: a second copy of anything
  // before it would come first (each recipient gets a conversation in seq order)
  const texts = (m: Member, conv: string) => (m.v2 ? (m.stream!.get(conv) ?? []).map((e) => e.text) : pushesOf(m.legacy!, conv).map((f) => f.msg));
  const sendEnd = async (m: Member, to: { groupid: number } | { toid: number }) => {
    if (m.v2) await ('groupid' in to ? m.v2.sendGroup(to.groupid, 'end') : m.v2.sendTo(to.toid, 'end'));
    else m.legacy!.send({ msgid: 'groupid' in to ? 10 : 6, ...to, msg: 'end' });
  };
  await sendEnd(creator, { groupid: gid });
  for (const [a, b] of pairs) await Promise.all([sendEnd(a, { toid: b.id }), sendEnd(b, { toid: a.id })]);
  const ends = (w: (typeof wanted)[number]) => texts(w.m, w.conv).filter((x) => x === 'end').length;
  const endsWanted = (w: (typeof wanted)[number]) => (w.conv === gconv ? 1 : w.m.v2 ? 2 : 1);
  await until(
    () => wanted.every((w) => ends(w) >= endsWanted(w)),
    30_000,
    () =>
      wanted
        .filter((w) => ends(w) < endsWanted(w))
        .map((w) => w.label)
        .join('; '),
  );
  const upTo = <T extends { seq: number }>(xs: T[], last: number) => xs.filter((x) => x.seq <= last);

  const fullGlog = await mysqlLog(env.mysql, gconv);
  t.same(
    fullGlog.map((r) => r.seq),
    range(1, N + 1),
    `the group log holds 1..${N} and the end line, no hole, no repeat`,
  );
  const glog = upTo(fullGlog, N);
  t.equal(sendOrderProblem(glog, PER_MEMBER), null, "the group log keeps each sender's send order");
  for (const w of wanted.filter((w) => w.conv === gconv)) {
    const want = w.m.v2 ? glog : glog.filter((r) => r.sender !== w.m.id);
    const got = w.m.v2 ? fromEvents(w.m.stream!.get(gconv)!) : fromFrames(pushesOf(w.m.legacy!, gconv));
    t.equal(streamProblem(upTo(got, N), want), null, `${w.label} gets the group exactly once, in order`);
  }

  for (const [p, [a, b]] of pairs.entries()) {
    const conv = pairConv(a.id, b.id);
    const fullLog = await mysqlLog(env.mysql, conv);
    t.same(
      fullLog.map((r) => r.seq),
      range(1, 2 * PER_SIDE + 2),
      `pair ${p}: the log holds 1..${2 * PER_SIDE} and the two end lines`,
    );
    const log = upTo(fullLog, 2 * PER_SIDE);
    t.equal(sendOrderProblem(log, PER_SIDE), null, `pair ${p}: each side's send order kept`);
    for (const [s, m] of [a, b].entries()) {
      const want = m.v2 ? log : log.filter((r) => r.sender !== m.id);
      const got = m.v2 ? fromEvents(m.stream!.get(conv)!) : fromFrames(pushesOf(m.legacy!, conv));
      t.equal(
        streamProblem(upTo(got, 2 * PER_SIDE), want),
        null,
        `pair${p}${'ab'[s]} (${m.v2 ? 'v2' : 'legacy'}) gets 1..${2 * PER_SIDE}${m.v2 ? '' : ' minus its own'}, in order, once`,
      );
    }
  }
  for (const m of [...members, ...pairs.flat()]) {
    if (m.v2) t.same(m.v2.errors.map((e) => e.message), [], `no background errors in v2 client of user ${m.id}`);
  }
});
