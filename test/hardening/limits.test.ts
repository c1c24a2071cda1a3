/**
 * Every limit of lib/config.ts that a client can run into, each answered with its own errno on
 * a v2 connection: connections per process (125), frames per second (118 for v2; a legacy
 * flood is slowed down, never dropped), text length (120), group size (123), friends (124),
 * and failed logins (answered later and later; a right password never waits). Then the
 * defaults: what they let through, read from lib/config.ts and the CLI's help, not by load.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { defaultOptions } from '../../lib/config.js';
import { barrier, delay, LineClient, register, ROOT, spawnNode, startServer, waitFor, type Json } from '../fixtures/harness.js';
import { requestV2, sendV2, user } from '../protocol/util.js';

t.test('connections per process: the 6th of --max-connections 5 gets errno 125 and is closed', async (t) => {
  const srv = await startServer(t, { maxConnections: 5 });
  const five: LineClient[] = [];
  for (let i = 0; i < 5; i++) {
    const c = await LineClient.connect(t, srv.port);
    c.send({ msgid: 28, v: 2, cmid: `p${i}` });
    await c.msg(29);
    five.push(c);
  }
  // the server cannot tell the flavour before the first frame: it waits for it
  const sixth = await LineClient.connect(t, srv.port);
  sixth.send({ msgid: 28, v: 2, cmid: 'sixth' });
  const refused = await sixth.msg(11);
  t.match(refused, { msgid: 11, v: 2, errno: 125, errmsg: 'server full, try another' }, 'a v2 sixth: errno 125 "server full"');
  await sixth.waitClosed();
  t.pass('and the connection is closed');
  const legacySixth = await LineClient.connect(t, srv.port);
  legacySixth.send({ msgid: 1, id: 1, password: 'x' });
  await legacySixth.waitClosed();
  t.same([...legacySixth.frames, ...legacySixth.junk], [], 'a legacy sixth is closed without a word it would not know');
  const silentSixth = await LineClient.connect(t, srv.port);
  await silentSixth.waitClosed(5000);
  t.same(silentSixth.frames, [], 'a sixth that says nothing is closed after a short wait');
  for (const [i, c] of five.entries()) {
    c.send({ msgid: 28, v: 2, cmid: `again${i}` });
    t.equal((await c.msg(29)).cmid, `again${i}`, `connection ${i + 1} is unaffected`);
  }
  five[0]!.close();
  await waitFor(() => srv.server.connectionCount === 4, 20_000);
  const next = await LineClient.connect(t, srv.port);
  next.send({ msgid: 28, v: 2, cmid: 'room' });
  t.equal((await next.msg(29)).cmid, 'room', 'once one leaves, a new connection is served');
});

t.test('frame rate: a v2 flood gets errno 118 past the burst, another connection is unaffected', async (t) => {
  const srv = await startServer(t, { frameRate: 50, frameBurst: 50 });
  const flooder = await user(t, srv.port, 'flooder', { v2: true });
  const other = await user(t, srv.port, 'other', { v2: true });
  await delay(1000); // the login frames' tokens are back
  const N = 200;
  flooder.c.raw(Array.from({ length: N }, (_, i) => JSON.stringify({ msgid: 28, v: 2, cmid: `f${i}` }) + '\n').join(''));
  // meanwhile the other connection goes on as usual
  for (let i = 0; i < 10; i++) {
    other.c.send({ msgid: 28, v: 2, cmid: `o${i}` });
    t.equal((await other.c.msg(29)).cmid, `o${i}`);
  }
  t.pass('the other connection got every PONG');
  await waitFor(() => flooder.c.frames.length >= N, 20_000, () => `${flooder.c.frames.length} answers of ${N}`);
  const pongs = flooder.c.frames.filter((f) => f.msgid === 29);
  const limited = flooder.c.frames.filter((f) => f.msgid === 11);
  t.comment(`${pongs.length} PONGs, ${limited.length} rate-limited`);
  t.equal(pongs.length + limited.length, N, 'every frame was answered');
  t.ok(pongs.length >= 50 && pongs.length <= 60, 'the burst of 50 (and what refilled meanwhile) went through');
  t.ok(
    limited.every((f) => f.errno === 118 && typeof f.errmsg === 'string' && f.errmsg.includes('50 frames/s')),
    'the rest got errno 118 "too many requests" naming the limit',
  );
  const passed = new Set(pongs.map((f) => f.cmid));
  t.same(
    limited.map((f) => f.cmid),
    Array.from({ length: N }, (_, i) => `f${i}`).filter((c) => !passed.has(c)),
    'each 118 reply echoes the cmid of the frame it refused (DESIGN §3: every error reply echoes it)',
  );
  t.ok(
    limited.every((f) => f.reqmsgid === 28),
    'and names its msgid',
  );
  // tokens come back at the configured rate
  await delay(300);
  flooder.c.frames.length = 0;
  flooder.c.send({ msgid: 28, v: 2, cmid: 'later' });
  t.match(await flooder.c.next((f) => f.cmid === 'later'), { msgid: 29 }, 'after a pause the flooder is served again');
});

t.test('frame rate: a legacy flood is slowed down, never dropped', async (t) => {
  const RATE = 50;
  const srv = await startServer(t, { frameRate: RATE, frameBurst: RATE });
  const sender = await user(t, srv.port, 'sender');
  const receiver = await user(t, srv.port, 'receiver');
  await new Promise((r) => setTimeout(r, 1000));
  const N = 150;
  const started = performance.now();
  // ten writes of 15 frames, 10 ms apart: 150 frames in 0.1 s, three times the burst
  for (let w = 0; w < 10; w++) {
    sender.c.raw(Array.from({ length: 15 }, (_, i) => JSON.stringify({ msgid: 6, id: sender.id, toid: receiver.id, msg: `m${w * 15 + i}` }) + '\n').join(''));
    await new Promise((r) => setTimeout(r, 10));
  }
  await waitFor(() => receiver.c.frames.length >= N, 15_000, () => `${receiver.c.frames.length} of ${N} arrived`);
  const took = performance.now() - started;
  t.same(
    receiver.c.frames.map((f) => f.msg),
    Array.from({ length: N }, (_, i) => `m${i}`),
    `all ${N} arrived, in order (in ${Math.round(took)} ms)`,
  );
  t.same(sender.c.frames, [], 'the legacy sender got nothing it does not know');
  const floor = ((N - RATE) / RATE) * 1000;
  t.ok(took >= floor * 0.8, `the flood was held to about ${RATE} frames/s: ${N} frames took ${Math.round(took)} ms (at least ~${floor} ms)`);
});

t.test('text length, group size and friends: errno 120, 123, 124', async (t) => {
  const srv = await startServer(t, { maxText: 100, maxGroupSize: 3, maxFriends: 2 });
  const [u1, u2, u3, u4] = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((n) => user(t, srv.port, n, { v2: true })));
  const legacy = await user(t, srv.port, 'old');

  // text
  const ok = await sendV2(u1!.c, { msgid: 6, toid: u2!.id, msg: 'x'.repeat(100) });
  t.match(ok, { msgid: 12, errno: 0 }, '100 characters are fine');
  const long = await sendV2(u1!.c, { msgid: 6, toid: u2!.id, msg: 'x'.repeat(101), cmid: 'too-long' });
  t.match(long, { msgid: 11, errno: 120, errmsg: /too long/, cmid: 'too-long', reqmsgid: 6 }, '101 characters: errno 120');
  legacy.c.send({ msgid: 6, id: legacy.id, toid: u2!.id, msg: 'y'.repeat(101) });
  legacy.c.send({ msgid: 6, id: legacy.id, toid: u2!.id, msg: 'short' });
  const pushes = [await u2!.c.msg(6), await u2!.c.msg(6)];
  t.same(
    pushes.map((f) => f.msg),
    ['x'.repeat(100), 'short'],
    'a legacy text over the limit is dropped (and logged), never delivered',
  );
  t.same(await barrier(legacy.c), [], 'the legacy sender got no reply it would not know');

  // group size: the creator is member 1
  const created = await requestV2(u1!.c, { msgid: 8, groupname: 'small', groupdesc: '' });
  const groupid = created.groupid as number;
  t.equal((await requestV2(u2!.c, { msgid: 9, groupid })).errno, 0, 'member 2 joins');
  t.equal((await requestV2(u3!.c, { msgid: 9, groupid })).errno, 0, 'member 3 joins');
  t.match(await requestV2(u4!.c, { msgid: 9, groupid }), { msgid: 11, errno: 123, errmsg: /group is full.*at most 3/ }, 'member 4: errno 123');
  t.equal((await requestV2(u2!.c, { msgid: 9, groupid })).errno, 0, 'joining again as a member is still fine');
  t.match(await requestV2(u4!.c, { msgid: 10, groupid, msg: 'let me in' }), { errno: 109 }, 'the refused user is not a member');

  // friends
  t.equal((await requestV2(u1!.c, { msgid: 7, friendid: u2!.id })).errno, 0, 'friend 1');
  t.equal((await requestV2(u1!.c, { msgid: 7, friendid: u3!.id })).errno, 0, 'friend 2');
  t.match(await requestV2(u1!.c, { msgid: 7, friendid: u4!.id }), { msgid: 11, errno: 124, errmsg: /too many friends/ }, 'friend 3: errno 124');
  t.equal((await requestV2(u1!.c, { msgid: 7, friendid: u2!.id })).errno, 0, 'adding an existing friend again is still fine');
  t.match(await requestV2(u4!.c, { msgid: 7, friendid: u1!.id }), { msgid: 11, errno: 124 }, 'befriending someone who is full: errno 124 too');
});

t.test('the defaults let a big deployment through (from lib/config.ts and the CLI help)', async (t) => {
  const d = defaultOptions;
  t.ok(d.maxConnections >= 10_000, `10,000 connections per process fit (default ${d.maxConnections})`);
  t.ok(d.maxGroupSize >= 1000, `1000-member groups fit (default ${d.maxGroupSize})`);
  t.ok(d.frameRate >= 1000 && d.frameBurst >= d.frameRate, `thousands of frames/s on one connection (default ${d.frameRate}/s, burst ${d.frameBurst})`);
  t.ok(d.maxFriends >= 1000, `friends (default ${d.maxFriends})`);
  t.ok(d.maxText >= 4096 && d.maxText * 3 + 1024 <= d.maxFrame, `a text of the longest length still fits a frame (maxText ${d.maxText}, maxFrame ${d.maxFrame})`);
  t.ok(d.maxOutBytes >= 1024 * 1024 && d.drainTimeoutMs >= 10_000, 'a briefly slow reader is not cut off');
  t.ok(d.idleTimeoutMs >= 60_000, `v2 idle timeout ${d.idleTimeoutMs} ms: well above the client's 30 s ping`);
  t.ok(d.loginAttemptsPerAccountAddress >= 5, `a few mistyped passwords are fine (${d.loginAttemptsPerAccountAddress} per account and address)`);
  t.ok(d.loginAttemptsPerAddress >= 10 * d.loginAttemptsPerAccountAddress, 'an address shared by many users (NAT) has room for their typos');

  // the CLI shows the same defaults
  const child = spawnNode([`${ROOT}/bin/chatserver`, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let help = '';
  child.stdout!.on('data', (b: Buffer) => (help += b.toString()));
  await new Promise((r) => child.once('exit', r));
  const flat = help.replace(/\s+/g, ' ');
  for (const [flag, value] of [
    ['--max-connections', d.maxConnections],
    ['--frame-rate', d.frameRate],
    ['--frame-burst', d.frameBurst],
    ['--max-group-size', d.maxGroupSize],
    ['--max-friends', d.maxFriends],
    ['--max-text', d.maxText],
    ['--max-frame', d.maxFrame],
    ['--max-out-bytes', d.maxOutBytes],
    ['--drain-timeout', d.drainTimeoutMs],
    ['--max-commit-queue', d.maxCommitQueue],
    ['--db-query-timeout', d.dbQueryTimeoutMs],
    ['--idle-timeout', d.idleTimeoutMs],
    ['--login-attempts-per-account-address', d.loginAttemptsPerAccountAddress],
    ['--login-attempts-per-address', d.loginAttemptsPerAddress],
    ['--login-attempts-per-account', d.loginAttemptsPerAccount],
    ['--login-window', d.loginWindowMs],
    ['--registrations-per-address', d.registrationsPerAddress],
    ['--registration-window', d.registrationWindowMs],
    ['--scrypt-params', d.scryptParams],
    ['--max-sessions', d.maxSessions],
    ['--session-ttl', d.sessionTtlMs],
    ['--recall-window', d.recallWindowMs / 1000],
  ] as const) {
    // commander quotes string defaults
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    t.match(flat, new RegExp(`${flag} <[^>]+> .*?\\(default: ${shown}, env: CHAT_`), `${flag} defaults to ${shown}`);
  }

  // docs/OPERATING.md has a row for every option, with its default, and every flag of --help
  const doc = readFileSync(path.join(ROOT, 'docs/OPERATING.md'), 'utf8');
  const rows = new Map(doc.split('\n').filter((l) => l.startsWith('| `')).map((l) => [/^\| `([^`]+)`/.exec(l)![1]!, l]));
  const undocumented: string[] = [];
  const wrongDefault: string[] = [];
  for (const [key, value] of Object.entries(d)) {
    const row = rows.get(key);
    if (!row) undocumented.push(key);
    else if (typeof value === 'number' && !row.includes(`\`${value}\``) && !row.includes(`\`${value / 1000}\``)) wrongDefault.push(`${key}=${value}`);
    else if (typeof value === 'string' && !row.includes(`\`${value}\``)) wrongDefault.push(`${key}=${value}`);
  }
  t.same(undocumented, [], 'every option of lib/config.ts has a row in docs/OPERATING.md');
  t.same(wrongDefault, [], 'with the default of lib/config.ts');
  const flags = [...help.matchAll(/(--[a-z-]+)/g)].map((m) => m[1]!).filter((f) => f !== '--help' && f !== '--version');
  t.same(
    [...new Set(flags)].filter((f) => !doc.includes(`\`${f}`) && !doc.includes(`, ${f} `)),
    [],
    'every flag of chatserver --help is in docs/OPERATING.md',
  );
});
