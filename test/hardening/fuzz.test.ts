/**
 * Fuzzing a real server process: FUZZ_FRAMES bad frames (default 20,000; `make fuzz` runs
 * 100,000) from test/fixtures/fuzz-gen.ts over several connections of both flavours, logged
 * in so the frames reach the handlers, while a well-behaved pair keeps chatting. Afterwards the
 * process is alive, every message of the pair arrived in order, its log has no uncaught
 * exception, unhandled rejection, `handler failed` or anything at error level, and it still
 * answers. FUZZ_SEED replays a run (the seed is printed).
 */
import path from 'node:path';
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { fuzzFrames, turnsV2, type Flavour, type FuzzTargets } from '../fixtures/fuzz-gen.js';
import { barrier, delay, LineClient, login, register, spawnServer, tempDir, waitFor } from '../fixtures/harness.js';
import { badLogEntries, logEntries } from './util.js';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 20_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FLAVOURS: Flavour[] = ['v2', 'v2', 'v2', 'legacy', 'legacy', 'legacy'];
const MAX_FRAME = 64 * 1024;
/** frames between two barriers (a round trip that proves the connection's frames were handled) */
const BARRIER_EVERY = 100;

t.setTimeout(Math.max(110_000, FRAMES * 10));

t.test(`${FRAMES} fuzzed frames: the server stays up, correct and quiet`, async (t) => {
  t.comment(`FUZZ_SEED=${SEED} FUZZ_FRAMES=${FRAMES}`);
  const dir = tempDir(t);
  const srv = await spawnServer(t, [
    '--db', path.join(dir, 'chat.db'),
    // the frames should reach the handlers, not the rate limit or the login throttle
    '--frame-rate', '1000000', '--frame-burst', '1000000',
    '--login-attempts-per-account-address', '0',
    '--login-attempts-per-address', '0',
  ]);

  // the fuzzing users, a group, some history. The fuzzer knows the password 'pw', so its LOGINs
  // can succeed; the legacy connections' users have another one, so that a fuzzed LOGIN cannot
  // take their account (a legacy login is refused while the account has any session)
  const setup = await LineClient.connect(t, srv.port);
  const users: number[] = [];
  const passwordOf = (i: number) => (FLAVOURS[i - 1] === 'legacy' ? 'legacy-pw' : 'pw');
  for (let i = 0; i < FLAVOURS.length + 2; i++) users.push(await register(setup, `fuzz${i}`, passwordOf(i)));
  t.equal((await login(setup, users[0]!, 'pw', true)).errno, 0);
  setup.send({ msgid: 8, v: 2, groupname: 'fuzzers', groupdesc: 'x', cmid: 'g' });
  const groupid = (await setup.next((f) => f.cmid === 'g')).groupid as number;
  for (const u of users.slice(1)) setup.send({ msgid: 6, v: 2, toid: u, msg: 'seed', cmid: `seed${u}` });
  await barrier(setup, true);
  setup.close();

  // the well-behaved pair: a password the fuzzer does not know, so it cannot log in as them
  const ann = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false });
  const bob = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false });
  t.teardown(() => {
    ann.close();
    bob.close();
  });
  ann.on('error', (err) => t.fail(`ann: ${err.message}`));
  bob.on('error', (err) => t.fail(`bob: ${err.message}`));
  const annId = await ann.register('ann', 'ann-secret');
  const bobId = await bob.register('bob', 'bob-secret');
  await ann.login(annId, 'ann-secret');
  await bob.login(bobId, 'bob-secret');
  const annGot: ChatEvent[] = [];
  const bobGot: ChatEvent[] = [];
  ann.on('event', (e) => annGot.push(e));
  bob.on('event', (e) => bobGot.push(e));

  const targets: FuzzTargets = {
    users: [...users, annId, bobId],
    groups: [groupid],
    convs: [`g:${groupid}`, ...users.slice(1).map((u) => `p:${users[0]}:${u}`), `p:${Math.min(annId, bobId)}:${Math.max(annId, bobId)}`],
    password: 'pw',
  };

  const kinds = new Map<string, number>();
  let reconnects = 0;
  let sentTotal = 0;
  const perConn = Math.ceil(FRAMES / FLAVOURS.length);

  const drive = async (i: number, flavour: Flavour): Promise<void> => {
    const v2 = flavour === 'v2';
    const userId = users[i + 1]!;
    const gen = fuzzFrames(SEED + i, { targets, flavour, maxFrame: MAX_FRAME, systematic: i === 0 || i === 3 });
    const open = async (): Promise<LineClient> => {
      for (;;) {
        const c = await LineClient.connect(t, srv.port);
        const ack = await login(c, userId, passwordOf(i + 1), v2);
        if (ack.errno === 0) return c;
        c.close();
        await delay(50); // a legacy login waits for the old session to be gone
      }
    };
    let c = await open();
    for (let n = 0; n < perConn; ) {
      const { value } = gen.next();
      if (!value) break;
      if (!v2 && turnsV2(value.bytes)) continue;
      c.raw(Buffer.concat([value.bytes, Buffer.from('\n')]));
      kinds.set(value.kind, (kinds.get(value.kind) ?? 0) + 1);
      n++;
      sentTotal++;
      if (n % BARRIER_EVERY === 0 || value.kind === 'oversize') {
        // back in a known state: logged in (a fuzzed LOGINOUT may have ended the session)
        if (!c.closed) c.send({ msgid: 1, id: userId, password: passwordOf(i + 1), ...(v2 ? { v: 2 } : {}) });
        const closed = new Promise<boolean>((resolve) => (c.closed ? resolve(false) : c.socket.once('close', () => resolve(false))));
        const alive = await Promise.race([barrier(c, v2).then(() => true), closed]).catch(() => false);
        if (!alive || c.closed) {
          c.close();
          reconnects++;
          c = await open();
        }
      }
    }
    if (!c.closed) await barrier(c, v2).catch(() => undefined);
    c.close();
  };

  // the pair chats all along, one message each way at a time
  let fuzzing = true;
  let rounds = 0;
  const chat = (async () => {
    while (fuzzing) {
      await Promise.all([ann.sendTo(bobId, `a${rounds}`), bob.sendTo(annId, `b${rounds}`)]);
      rounds++;
      await delay(5);
    }
  })();
  const started = performance.now();
  await Promise.all(FLAVOURS.map((f, i) => drive(i, f)));
  fuzzing = false;
  await chat;
  const took = performance.now() - started;
  t.comment(`${sentTotal} frames in ${Math.round(took)} ms over ${FLAVOURS.length} connections (${reconnects} reconnects: after an oversize frame or a barrier that timed out)`);
  t.comment(`by kind: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  t.ok(sentTotal >= FRAMES * 0.99, `${sentTotal} frames sent`);

  t.equal(srv.child.exitCode, null, 'the server process is alive');
  // the pair: every message, in order, once
  await waitFor(
    () => bobGot.filter((e) => e.from.id === annId).length >= rounds && annGot.filter((e) => e.from.id === bobId).length >= rounds,
    10_000,
    () => 'the pair to get every message',
  );
  t.ok(rounds > 10, `the pair chatted throughout (${rounds} rounds)`);
  t.same(
    bobGot.filter((e) => e.from.id === annId).map((e) => e.text),
    Array.from({ length: rounds }, (_, i) => `a${i}`),
    'bob got every message from ann, in order, once',
  );
  t.same(
    annGot.filter((e) => e.from.id === bobId).map((e) => e.text),
    Array.from({ length: rounds }, (_, i) => `b${i}`),
    'ann got every message from bob, in order, once',
  );
  const pairConv = `p:${Math.min(annId, bobId)}:${Math.max(annId, bobId)}`;
  const seqs = bobGot.filter((e) => e.conv === pairConv).map((e) => e.seq);
  t.same(
    seqs,
    seqs.map((_, i) => i + 1),
    'the pair conversation has no holes and no repeats (fuzzed frames aimed at it changed nothing)',
  );

  // the log: nothing but the expected
  const entries = logEntries(srv.logs());
  const bad = badLogEntries(srv.logs());
  t.comment(`${entries.length} log entries; levels: ${JSON.stringify(countBy(entries.map((e) => String(e.level))))}`);
  t.same(
    bad.slice(0, 5).map((e) => ({ level: e.level, msg: e.msg, err: (e.err as { message?: string } | undefined)?.message })),
    [],
    'no uncaught exception, unhandled rejection, handler failure or error-level entry',
  );

  // and it still answers, as before
  const fresh = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false });
  t.teardown(() => fresh.close());
  const freshId = await fresh.register('after-fuzz', 'pw2');
  await fresh.login(freshId, 'pw2');
  t.type(await fresh.ping(), 'number', 'a new client registers, logs in and pings');
  const ack = await fresh.sendTo(annId, 'still fine?');
  t.equal(ack.msgSeq, 1, 'and sends');
  await waitFor(() => annGot.some((e) => e.text === 'still fine?'), 20_000);
  t.pass('and it is delivered');
});

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
