/**
 * End-to-end encryption in the interactive client (real processes over pipes, a real server):
 * `encrypt:conv` makes the device's key file (mode 0600) and seals from then on, the other side
 * reads `[e2e] <text>`, `fingerprint` shows the same fingerprint on both sides, the same device
 * after a restart reads its history and keeps sealing, and a new device of the recipient reads
 * the earlier message as not for it; the script commands use the same key files.
 */
import { statSync } from 'node:fs';
import t, { type Test } from 'tap';
import { startServer, tempDir } from '../fixtures/harness.js';
import { client, passwordFile, users, type Proc } from './fixtures/util.js';

t.setTimeout(90_000);

const RULE = '======================================================';

/** the interactive client logged in as `id`, keeping its device keys in `keysDir` */
async function device(t: Test, port: number, id: number, keysDir: string): Promise<Proc> {
  const p = client(t, ['--english', '127.0.0.1', String(port)], { CHAT_KEYS_DIR: keysDir });
  p.type('1', String(id), 'pw');
  await p.waitOut(RULE);
  await p.waitOut('> ');
  return p;
}

t.test('encrypt, fingerprints, a restart and a later device, in the console client', async (t) => {
  const srv = await startServer(t);
  const [a, b] = (await users(srv.port, 'ann', 'ben')) as [number, number];
  const dirA = tempDir(t);
  const dirB = tempDir(t);
  const A = await device(t, srv.port, a, dirA);
  const B = await device(t, srv.port, b, dirB);

  A.type(`encrypt:${b}`);
  await A.waitOut(`[this device's key is new: kept in ${dirA}/device-127.0.0.1-${srv.port}-${a}.json]`);
  await A.waitOut(`your messages to [${b}] are end-to-end encrypted from now on`);
  t.equal(statSync(`${dirA}/device-127.0.0.1-${srv.port}-${a}.json`).mode & 0o777, 0o600, 'the key file is its owner’s only');
  A.type(`chat:${b}:nobody can read this yet`);
  await A.waitOut(`cannot send to [${b}]: no published device key for user ${b}: they could not read it`);

  B.type(`encrypt:${a}`);
  await B.waitOut('end-to-end encrypted from now on');
  A.type(`chat:${b}:the first sealed line`);
  await B.waitOut(`[${a}]ann said: [e2e] the first sealed line #1`);
  await A.waitOut(`said to [${b}]: [e2e] the first sealed line #1`);
  B.type(`chat:${a}:a sealed answer`);
  await A.waitOut(`[${b}]ben said: [e2e] a sealed answer #2`);

  A.type('fingerprint');
  const mine = /this device (d[A-Za-z0-9_-]+): ((?:[0-9a-f]{4} ){7}[0-9a-f]{4})/;
  await A.waitOut(mine);
  const [, devA, fpA] = mine.exec(A.out)!;
  B.type(`fingerprint:${a}`);
  await B.waitOut(`[${a}]ann device ${devA}: ${fpA}`);

  A.type('quit');
  t.equal(await A.exitCode(), 0);
  const A2 = await device(t, srv.port, a, dirA);
  A2.type(`history:${b}`);
  await A2.waitOut(`[${a}]ann said: [e2e] the first sealed line #1`);
  await A2.waitOut(`[${b}]ben said: [e2e] a sealed answer #2`);
  A2.type(`chat:${b}:still sealed after a restart`);
  await B.waitOut(`[${a}]ann said: [e2e] still sealed after a restart #3`);

  const B2 = await device(t, srv.port, b, tempDir(t));
  B2.type(`encrypt:${a}`);
  await B2.waitOut('end-to-end encrypted from now on');
  B2.type(`history:${a}`);
  await B2.waitOut(`[${a}]ann said: [encrypted, not for this device] #1`);
  A2.type(`chat:${b}:for both of ben's devices`);
  await B2.waitOut(`[${a}]ann said: [e2e] for both of ben's devices #4`);
  await B.waitOut(`[${a}]ann said: [e2e] for both of ben's devices #4`);

  // the script commands use the same key files: send seals where the file says, history opens
  const pw = passwordFile(t);
  const script = (id: number, dir: string, ...args: string[]) =>
    client(t, ['--port', String(srv.port), '--user', String(id), '--password-file', pw, ...args], { CHAT_KEYS_DIR: dir });
  const send = script(a, dirA, 'send', String(b), 'from a script');
  t.equal(await send.exitCode(), 0, send.err);
  await B.waitOut(`[${a}]ann said: [e2e] from a script #5`);
  const history = script(b, dirB, 'history', String(a), '--limit', '2');
  t.equal(await history.exitCode(), 0, history.err);
  t.match(history.out, `[${a}]ann said: [e2e] from a script #5`);
  const keyless = script(b, tempDir(t), 'history', String(a), '--limit', '1');
  t.equal(await keyless.exitCode(), 0, keyless.err);
  t.match(keyless.out, `[${a}]ann said: [encrypted, not for this device] #5`, 'without the key file: not for this device');
});
