/**
 * kill -9 of a server process in the middle of a run. v2 clients reach the cluster through
 * nginx; those on the killed process reconnect (landing on the survivor), resume their session
 * with its token, resend what was not acked with the same cmid, and resync. Afterwards every
 * message whose ack its sender got is in every recipient's stream, every send is stored once,
 * and no stream holds anything twice. Legacy members on the survivor get everything but their
 * own, in order, once.
 */
import t from 'tap';
import type { ChatClient, ChatEvent, SendAck } from '../../lib/client/client.js';
import { clusterEnv, startNginx } from '../fixtures/cluster.js';
import { delay, type Json, type LineClient, type ServerProcess } from '../fixtures/harness.js';
import {
  barrier,
  captureWires,
  chatClient,
  dropFrames,
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
  streamProblem,
  until,
  type LogRow,
} from './util.js';

t.setTimeout(60_000);

type Client = ChatClient & { errors: Error[] };

interface V2User {
  id: number;
  name: string;
  c: Client;
  stream: Map<string, ChatEvent[]>;
  reconnects: number;
}

/** which process each user logged in to, from the processes' logs */
function loginNode(nodes: ServerProcess[], id: number): number {
  for (const [i, n] of nodes.entries()) {
    for (const line of n.logs().split('\n')) {
      if (!line.includes('"logged in"')) continue;
      try {
        if ((JSON.parse(line) as Json).user === id) return i;
      } catch {
        // a partial line
      }
    }
  }
  return -1;
}

t.test('kill -9 of one of two processes mid-run: acked messages reach everyone, resends do not duplicate', async (t) => {
  const env = await clusterEnv(t, { nginx: true });
  if (!env) return;
  const nodes = await Promise.all([env.node(['--session-ttl', '3000']), env.node(['--session-ttl', '3000'])]);
  const lb = await startNginx(
    t,
    nodes.map((n) => n.port),
  );

  const GROUP_V2 = 8;
  const PAIRS = 4;
  const PER_MEMBER = 60;
  const PER_SIDE = 40;
  const names = [...range(0, GROUP_V2 - 1).map((i) => `m${i}`), ...range(0, 2 * PAIRS - 1).map((k) => `p${k >> 1}${'ab'[k % 2]}`)];
  const ids = await Promise.all(names.map((name, i) => registerUser(t, nodes[i % 2]!.port, name)));
  // v2 clients connect through nginx, one after another, so least_conn spreads them
  const users: V2User[] = [];
  const capture = captureWires();
  t.teardown(capture.restore);
  for (const [i, id] of ids.entries()) {
    const c = await chatClient(t, lb.port);
    const u: V2User = { id, name: names[i]!, c, stream: recordStream(c), reconnects: 0 };
    c.on('reconnected', () => u.reconnects++);
    await c.login(id, PW);
    users.push(u);
  }
  // users[i] talks over capture.wires[i] until it reconnects
  const firstWires = capture.wires.slice();
  capture.restore();
  // (the processes' log lines arrive through a pipe, a moment after the login replies)
  await until(
    () => users.every((u) => loginNode(nodes, u.id) !== -1),
    5000,
    () => `logins missing from the process logs: ${users.filter((u) => loginNode(nodes, u.id) === -1).map((u) => u.name)}`,
  );
  const where = users.map((u) => loginNode(nodes, u.id));
  const perNode = [0, 1].map((n) => where.filter((w) => w === n).length);
  const victim = perNode[0]! >= perNode[1]! ? 0 : 1;
  const survivor = 1 - victim;
  t.ok(perNode[victim]! > 0, `v2 clients on the process to be killed: ${perNode[victim]} of ${users.length}`);

  // two legacy members straight on the survivor
  const legacyIds = await Promise.all([0, 1].map((i) => registerUser(t, nodes[survivor]!.port, `legacy${i}`)));
  const legacy: Array<{ id: number; c: LineClient }> = [];
  for (const id of legacyIds) legacy.push({ id, c: (await rawLogin(t, nodes[survivor]!.port, id)).c });

  const members = users.slice(0, GROUP_V2);
  const gid = await members[0]!.c.createGroup('crash', '');
  const gconv = `g:${gid}`;
  for (const m of members.slice(1)) await m.c.joinGroup(gid);
  for (const l of legacy) {
    l.c.send({ msgid: 9, groupid: gid });
    await barrier(l.c);
  }
  const pairs = range(0, PAIRS - 1).map((p) => [users[GROUP_V2 + 2 * p]!, users[GROUP_V2 + 2 * p + 1]!] as const);

  // the run: every sender paces its messages; the victim dies once a third is acked
  const sent: Array<{ text: string; ack: Promise<SendAck> }> = [];
  let acked = 0;
  const track = (text: string, p: Promise<SendAck>) => {
    sent.push({ text, ack: p });
    void p.then(() => acked++, () => undefined);
  };
  const totalV2 = GROUP_V2 * PER_MEMBER + PAIRS * 2 * PER_SIDE;
  const loops: Array<Promise<void>> = [];
  const pace = async (n: number, one: (k: number) => void) => {
    for (let k = 0; k < n; k++) {
      one(k);
      await delay(8);
    }
  };
  for (const [i, m] of members.entries()) loops.push(pace(PER_MEMBER, (k) => track(`m${i}:${k}`, m.c.sendGroup(gid, `m${i}:${k}`))));
  for (const [p, [a, b]] of pairs.entries()) {
    loops.push(pace(PER_SIDE, (k) => track(`p${p}a:${k}`, a.c.sendTo(b.id, `p${p}a:${k}`))));
    loops.push(pace(PER_SIDE, (k) => track(`p${p}b:${k}`, b.c.sendTo(a.id, `p${p}b:${k}`))));
  }
  for (const [i, l] of legacy.entries()) loops.push(pace(PER_MEMBER, (k) => l.c.send({ msgid: 10, groupid: gid, msg: `legacy${i}:${k}` })));

  await until(() => acked >= totalV2 / 3, 20_000, () => `${acked} acked`);
  // acks lost in the crash: the clients of the victim stop seeing acks a moment before it
  // dies, so what it committed meanwhile is resent after the reconnect (same cmid)
  let droppedAcks = 0;
  const loseAck = (f: Json) => {
    if (f.msgid !== 12) return false;
    droppedAcks++;
    return true;
  };
  for (const [i, w] of firstWires.entries()) if (where[i] === victim) dropFrames(w, loseAck);
  await until(() => droppedAcks >= 10, 10_000, () => `acks to drop: ${droppedAcks}`);
  const killedAt = Date.now();
  await nodes[victim]!.stop('SIGKILL');
  t.comment(`killed process ${victim} after ${acked} of ${totalV2} v2 sends were acked (${droppedAcks} acks lost)`);
  await Promise.all(loops);
  const acks = await Promise.all(sent.map((s) => s.ack));
  const duplicates = acks.filter((a) => a.duplicate).length;
  t.comment(`every send acked ${Date.now() - killedAt} ms after the kill`);
  t.ok(duplicates > 0, `resends of messages stored before the crash were answered as duplicates (${duplicates})`);

  // a last line from the survivor side, after everything else
  legacy[0]!.c.send({ msgid: 10, groupid: gid, msg: `legacy0:${PER_MEMBER}` });
  await until(
    () => (legacy[1]!.c.frames.some((f) => f.msg === `legacy0:${PER_MEMBER}`)),
    10_000,
    () => 'the last line to be stored and pushed',
  );

  const glog = await mysqlLog(env.mysql, gconv);
  const plogs = await Promise.all(pairs.map(([a, b]) => mysqlLog(env.mysql, pairConv(a.id, b.id))));
  const allRows = [...glog, ...plogs.flat()];

  // stored once: every send is in the log exactly once, where its ack said
  t.equal(glog.length, GROUP_V2 * PER_MEMBER + legacy.length * PER_MEMBER + 1, 'the group log holds every group send once');
  t.same(
    glog.map((r) => r.seq),
    range(1, glog.length),
    'group log: 1..N without holes',
  );
  for (const [p, log] of plogs.entries()) {
    t.same(
      log.map((r) => r.seq),
      range(1, 2 * PER_SIDE),
      `pair ${p}: every send once, 1..${2 * PER_SIDE}`,
    );
  }
  const cmids = allRows.filter((r) => r.cmid !== null).map((r) => r.cmid);
  t.equal(new Set(cmids).size, cmids.length, 'no cmid stored twice');
  const byMid = new Map(allRows.map((r) => [r.mid, r]));
  const wrong = sent.filter((s, i) => {
    const row = byMid.get(acks[i]!.mid);
    return !row || row.seq !== acks[i]!.msgSeq || row.text !== s.text;
  });
  t.same(
    wrong.map((s) => s.text),
    [],
    'every ack names the stored message with that text at that seq',
  );

  // every recipient converges on exactly the log
  interface Check {
    label: string;
    /** legacy; group: v2 on the survivor; pair: v2 on the survivor; moved: v2, was on the killed process */
    kind: 'legacy' | 'group' | 'pair' | 'moved';
    got: () => Array<{ seq: number; sender: number; text: string }>;
    want: LogRow[];
  }
  const v2Check = (u: V2User, conv: string, want: LogRow[], label: string, kind: 'group' | 'pair'): Check => {
    const moved = where[users.indexOf(u)] === victim;
    return { label: `${label} (v2, ${moved ? 'was on the killed process' : 'on the survivor'})`, kind: moved ? 'moved' : kind, got: () => fromEvents(u.stream.get(conv) ?? []), want };
  };
  const checks: Check[] = [
    ...members.map((m) => v2Check(m, gconv, glog, `group member ${m.name}`, 'group')),
    ...legacy.map((l, i): Check => ({ label: `group member legacy${i} (legacy, on the survivor)`, kind: 'legacy', got: () => fromFrames(pushesOf(l.c, gconv)), want: glog.filter((r) => r.sender !== l.id) })),
    ...pairs.flatMap(([a, b], p) => [a, b].map((m) => v2Check(m, pairConv(a.id, b.id), plogs[p]!, m.name, 'pair'))),
  ];
  const behind = (cs: Check[]) =>
    cs
      .filter((c) => c.got().length < c.want.length)
      .map((c) => `${c.label}: ${c.got().length}/${c.want.length}`)
      .join('; ');
  const caughtUp = (c: Check) => c.got().length >= c.want.length;
  // everyone but the survivor's pair clients: the group had a later line (so the survivor
  // filled every gap), and the clients of the killed process resynced after their resume
  await until(() => checks.filter((c) => c.kind !== 'pair').every(caughtUp), 20_000, () => behind(checks));
  // A v2 client on the survivor whose conversation ends with messages the killed process
  // stored but never published is told of them by nobody (see the report of issue #4). Give
  // them a bounded wait, then judge.
  const stalled = await until(() => checks.every(caughtUp), 20_000, () => '').then(
    () => false,
    () => true,
  );
  if (stalled) {
    t.comment(`stalled: ${behind(checks)}`);
  } else {
    t.comment(`all recipients caught up ${Date.now() - killedAt} ms after the kill`);
  }
  await delay(400);
  for (const c of checks) {
    t.equal(streamProblem(c.got(), c.want), null, `${c.label}: exactly the log, in order, once`);
  }
  t.same(
    users.flatMap((u) => u.c.errors.map((e) => `${u.name}: ${e.message}`)).filter((m) => !/ECONNREFUSED|ECONNRESET|disconnected|not connected/.test(m)),
    [],
    'no background errors in the clients but the connection loss itself',
  );
  t.comment(`client errors: ${[...new Set(users.flatMap((u) => u.c.errors.map((e) => e.message)))].join(' | ') || 'none'}`);
  // nothing was lost: one more line in each pair from the survivor side, and the survivor's
  // clients have every message of the pair (a later push fills what was never pushed)
  const flush = await Promise.all(
    pairs.map(([a, b]) => {
      const [s, peer] = where[users.indexOf(a)] === survivor ? [a, b] : [b, a];
      return s.c.sendTo(peer.id, 'flush:0');
    }),
  );
  t.ok(flush.every((f) => f.msgSeq === 2 * PER_SIDE + 1), 'the flush lines come after every earlier send');
  const plogs2 = await Promise.all(pairs.map(([a, b]) => mysqlLog(env.mysql, pairConv(a.id, b.id))));
  const survivorPairs = pairs.flatMap(([a, b], p) =>
    [a, b].filter((u) => where[users.indexOf(u)] === survivor).map((u) => ({ u, conv: pairConv(a.id, b.id), want: plogs2[p]! })),
  );
  await until(
    () => survivorPairs.every((x) => (x.u.stream.get(x.conv) ?? []).length >= x.want.length),
    10_000,
    () => survivorPairs.map((x) => `${x.u.name}: ${(x.u.stream.get(x.conv) ?? []).length}/${x.want.length}`).join('; '),
  );
  for (const x of survivorPairs) {
    t.equal(streamProblem(fromEvents(x.u.stream.get(x.conv)!), x.want), null, `${x.u.name} (v2, on the survivor): the whole pair after one more line`);
  }
  // whatever the client library does, the server has it all for them: a plain sync after
  // the resume returns exactly the log
  for (const [i, u] of users.entries()) {
    if (where[i] !== victim) continue;
    const conv = i < GROUP_V2 ? gconv : pairConv(...pairs[(i - GROUP_V2) >> 1]!.map((x) => x.id) as [number, number]);
    const want = i < GROUP_V2 ? glog : plogs2[(i - GROUP_V2) >> 1]!;
    const got: ChatEvent[] = [];
    let after = 0;
    for (;;) {
      const page = await u.c.history(conv, { after, limit: 500 });
      for (const e of page.events) if (!('gap' in e)) got.push(e);
      if (!page.more || page.events.length === 0) break;
      after = page.events[page.events.length - 1]!.seq;
    }
    t.equal(streamProblem(fromEvents(got), want), null, `${u.name}: a sync after the resume returns the whole log`);
  }
  const moved = users.filter((_, i) => where[i] === victim);
  t.ok(
    moved.every((u) => u.reconnects >= 1 && u.c.connected),
    'the clients of the killed process reconnected',
  );
  t.ok(
    moved.every((u) => loginNode([nodes[survivor]!], u.id) === 0),
    'and resumed on the survivor',
  );
});
