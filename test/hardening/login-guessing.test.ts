/**
 * Password guessing and account-creation floods (issue 12, items 1 and 5): attempts are bounded
 * before any password work, per account and address, per address, and per account across
 * addresses and processes; the owner still logs in while a stranger attacks.
 */
import t, { type Test } from 'tap';
import { closeConnection, createConnection } from '../../lib/bus/redis/connection.js';
import { silentLog } from '../../lib/bus/redis/log.js';
import { defaultOptions } from '../../lib/config.js';
import { addressKey, AuthLimits } from '../../lib/core/auth-limits.js';
import { clusterEnv } from '../fixtures/cluster.js';
import { LineClient, refusedPort, register, startServer, type Json } from '../fixtures/harness.js';

t.setTimeout(120_000);

const LOGIN = (id: number, password: string, cmid: string): Json => ({ msgid: 1, v: 2, id, password, cmid });

/** one LOGIN on a fresh connection from `from`; the ack */
async function tryLogin(t: Test, port: number, id: number, password: string, from = '127.0.0.1'): Promise<Json> {
  const c = await LineClient.connect(t, port, '127.0.0.1', from);
  c.send(LOGIN(id, password, 'try'));
  const ack = await c.msg(2);
  c.close();
  return ack;
}

/**
 * The attack as it was reported: twelve connections from one address, each sending one guess
 * and taking "no reply within 400 ms" as a wrong password, through a list of 120 guesses with
 * the right one at position 100. Returns what it saw.
 */
async function guess(t: Test, port: number, id: number, right: string) {
  const words = Array.from({ length: 120 }, (_, i) => (i === 100 ? right : `guess-${i}`));
  const conns = await Promise.all(Array.from({ length: 12 }, () => LineClient.connect(t, port)));
  const seen = { found: false, wrong: 0, refused: 0, silent: 0, retryAfterMs: 0 };
  let next = 0;
  const started = Date.now();
  await Promise.all(
    conns.map(async (c, k) => {
      while (!seen.found && next < words.length && Date.now() - started < 4000) {
        const i = next++;
        c.send(LOGIN(id, words[i]!, `g${k}-${i}`));
        const ack = await c.next((f) => f.msgid === 2 && f.cmid === `g${k}-${i}`, 400).catch(() => null);
        if (ack === null) seen.silent++;
        else if (ack.errno === 0) seen.found = true;
        else if (ack.errno === 118) {
          seen.refused++;
          seen.retryAfterMs = ack.retryAfterMs as number;
        } else seen.wrong++;
      }
    }),
  );
  for (const c of conns) c.close();
  return seen;
}

t.test('guessing with twelve connections from one address: bounded attempts, the password is not found, the owner gets in', async (t) => {
  const app = await startServer(t, { metricsPort: 0 });
  const reg = await LineClient.connect(t, app.port);
  const id = await register(reg, 'victim', 'hunter2-correct', true);
  // the owner logs in from another address while the attack runs
  const attack = guess(t, app.port, id, 'hunter2-correct');
  const owner = tryLogin(t, app.port, id, 'hunter2-correct', '127.0.0.2');
  const [seen, ownerAck] = await Promise.all([attack, owner]);
  t.comment(`attacker: ${JSON.stringify(seen)}`);
  t.notOk(seen.found, 'the right password at guess 100 is never accepted');
  t.ok(seen.wrong <= app.opts.loginAttemptsPerAccountAddress, `at most ${app.opts.loginAttemptsPerAccountAddress} guesses were checked (${seen.wrong})`);
  t.ok(seen.refused > 50, `the rest are refused at once, not left unanswered (${seen.refused} refused, ${seen.silent} silent)`);
  t.ok(seen.retryAfterMs > 60_000, `the refusal says when to try again (${seen.retryAfterMs} ms)`);
  t.equal(ownerAck.errno, 0, 'the owner, from another address, logs in during the attack');

  const after = await tryLogin(t, app.port, id, 'hunter2-correct');
  t.match(after, { errno: 118, errmsg: /too many login attempts \(account at address\)/ }, 'from the attacking address even the right password waits for the window');
  const c = await LineClient.connect(t, app.port, '127.0.0.1', '127.0.0.3');
  c.send({ msgid: 1, id, password: 'hunter2-correct' });
  t.match(await c.msg(2), { errno: 0, id }, 'a legacy login from a third address works too');
  c.close();

  const metrics = await fetch(`http://127.0.0.1:${app.metricsAddress!.port}/metrics`).then((r) => r.text());
  t.match(metrics, /chat_auth_refused_total\{limit="account at address"\} \d+/, 'refusals are counted by budget');
});

t.test('a legacy client past the budget gets the original reply shape with a reason it can print', async (t) => {
  const app = await startServer(t, { loginAttemptsPerAccountAddress: 2 });
  const reg = await LineClient.connect(t, app.port);
  const id = await register(reg, 'old', 'right');
  const c = await LineClient.connect(t, app.port);
  for (let i = 0; i < 2; i++) {
    c.send({ msgid: 1, id, password: `wrong${i}` });
    t.same(await c.msg(2), { errmsg: 'id or password is invalid!', errno: 1, msgid: 2 });
  }
  c.send({ msgid: 1, id, password: 'right' });
  const refused = await c.msg(2);
  t.same(Object.keys(refused).sort(), ['errmsg', 'errno', 'msgid'], 'the three keys of the original');
  t.match(refused, { errno: 1, errmsg: /too many login attempts.*try again in \d+ s/ });
});

t.test('a typo or two does not count against the owner: a right password clears the account-at-address count', async (t) => {
  const app = await startServer(t, { loginAttemptsPerAccountAddress: 3 });
  const reg = await LineClient.connect(t, app.port);
  const id = await register(reg, 'typist', 'right', true);
  for (let round = 0; round < 4; round++) {
    t.equal((await tryLogin(t, app.port, id, 'rigth')).errno, 1, `round ${round}: a typo`);
    t.equal((await tryLogin(t, app.port, id, 'rihgt')).errno, 1, `round ${round}: another`);
    t.equal((await tryLogin(t, app.port, id, 'right')).errno, 0, `round ${round}: then the right one logs in`);
  }
});

t.test('many addresses guessing one account: its budget runs out for new addresses, not for the owner\'s', async (t) => {
  const app = await startServer(t, { loginAttemptsPerAccountAddress: 5, loginAttemptsPerAccount: 20 });
  const reg = await LineClient.connect(t, app.port);
  const id = await register(reg, 'target', 'right', true);
  t.equal((await tryLogin(t, app.port, id, 'right', '127.0.0.2')).errno, 0, 'the owner logged in from 127.0.0.2 before');
  let checked = 0;
  for (let a = 10; a < 16; a++) {
    for (let i = 0; i < 5; i++) if ((await tryLogin(t, app.port, id, `w${a}-${i}`, `127.0.1.${a}`)).errno === 1) checked++;
  }
  t.equal(checked, 20, 'six addresses with five guesses each: 20 checked in all, the account\'s budget');
  t.match(await tryLogin(t, app.port, id, 'right', '127.0.2.1'), { errno: 118, errmsg: /\(account\)/ }, 'a new address is refused while the budget is spent');
  t.equal((await tryLogin(t, app.port, id, 'right', '127.0.0.2')).errno, 0, 'the owner\'s known address still logs in');
});

t.test('one address spraying guesses over many accounts is bounded per address', async (t) => {
  const app = await startServer(t, { loginAttemptsPerAddress: 15 });
  const reg = await LineClient.connect(t, app.port);
  const ids: number[] = [];
  for (let i = 0; i < 20; i++) ids.push(await register(reg, `spray${i}`, 'right', true));
  const errnos = [];
  for (const id of ids) errnos.push((await tryLogin(t, app.port, id, 'password1', '127.0.3.1')).errno);
  t.same(errnos, [...Array<number>(15).fill(1), ...Array<number>(5).fill(118)], '15 checked, then refused');
  t.equal((await tryLogin(t, app.port, ids[0]!, 'right', '127.0.3.2')).errno, 0, 'other addresses are not affected');
});

t.test('cluster: one budget for all processes, kept in Redis', async (t) => {
  const env = await clusterEnv(t);
  if (!env) return;
  const [n1, n2] = await Promise.all([env.node(['--login-attempts-per-account-address', '6']), env.node(['--login-attempts-per-account-address', '6'])]);
  const reg = await LineClient.connect(t, n1!.port);
  const id = await register(reg, 'shared', 'right', true);
  const errnos: number[] = [];
  for (let i = 0; i < 12; i++) errnos.push((await tryLogin(t, i % 2 === 0 ? n1!.port : n2!.port, id, `wrong${i}`)).errno as number);
  t.same(errnos, [...Array<number>(6).fill(1), ...Array<number>(6).fill(118)], 'guesses alternating between two processes: six checked in all');
  t.match(await tryLogin(t, n2!.port, id, 'right'), { errno: 118 }, 'the right password from that address waits on both');
  t.equal((await tryLogin(t, n1!.port, id, 'right', '127.0.0.2')).errno, 0, 'another address logs in');
});

t.test('registration flood: bounded per address, refused before any hashing', async (t) => {
  const app = await startServer(t, { registrationsPerAddress: 5, scryptParams: 'ln=14,r=8,p=1' });
  const c = await LineClient.connect(t, app.port, '127.0.0.1', '127.0.4.1');
  const acks: Json[] = [];
  for (let i = 0; i < 5; i++) {
    c.send({ msgid: 4, v: 2, name: `flood${i}`, password: 'pw', cmid: `r${i}` });
    acks.push(await c.msg(5));
  }
  t.same(acks.map((a) => a.errno), [0, 0, 0, 0, 0], 'five registrations');
  const started = performance.now();
  for (let i = 5; i < 105; i++) c.send({ msgid: 4, v: 2, name: `flood${i}`, password: 'pw', cmid: `r${i}` });
  const refused: Json[] = [];
  for (let i = 5; i < 105; i++) refused.push(await c.next((f) => f.msgid === 5 && f.cmid === `r${i}`));
  const ms = performance.now() - started;
  t.ok(refused.every((a) => a.errno === 118 && (a.retryAfterMs as number) > 0 && a.id === undefined), 'the next 100: errno 118 with retryAfterMs, no id');
  t.match(refused[0], { errmsg: /too many registrations from your address/ });
  // 100 hashes at ln=14 would take seconds of CPU; refusals take none
  t.ok(ms < 2000, `answered without hashing (${Math.round(ms)} ms for 100)`);
  const legacy = await LineClient.connect(t, app.port, '127.0.0.1', '127.0.4.1');
  legacy.send({ msgid: 4, name: 'legacy-flood', password: 'pw' });
  t.match(await legacy.msg(5), { errno: 1, msgid: 5 }, 'a legacy REG gets the original failure shape');
  const other = await LineClient.connect(t, app.port, '127.0.0.1', '127.0.4.2');
  t.type(await register(other, 'elsewhere', 'pw', true), 'number', 'another address still registers');
  const stats = app.hub.stats.authRefused.get('registrations');
  t.equal(stats, 101, 'counted in chat_auth_refused_total{limit="registrations"}');
});

t.test('while Redis is unreachable each process still counts, on its own', async (t) => {
  const redis = createConnection({ url: `redis://127.0.0.1:${await refusedPort()}`, name: 'limits-test', log: silentLog });
  redis.connect().catch(() => undefined);
  t.teardown(() => closeConnection(redis));
  const opts = { ...defaultOptions, loginAttemptsPerAccountAddress: 3 };
  const limits = new AuthLimits(opts, { kind: 'redis', redis, prefix: 'test:none:' });
  const verdicts = [];
  for (let i = 0; i < 4; i++) verdicts.push((await limits.admitLogin(7, '192.0.2.1')).ok);
  t.same(verdicts, [true, true, true, false], 'three attempts, then refused: the in-memory fallback');
  t.equal((await limits.admitLogin(7, '192.0.2.2')).ok, true, 'another address has its own budget');
});

t.test('IPv6 clients are counted per /64, IPv4-mapped ones as IPv4', async (t) => {
  t.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.equal(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64', 'the same /64');
  t.equal(addressKey('2001:0db8:0001:0003::1'), '2001:db8:1:3::/64', 'another /64');
  t.equal(addressKey('::1'), '0:0:0:0::/64');
  t.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone id is dropped');
  t.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
  t.equal(addressKey('192.0.2.7'), '192.0.2.7');
});
