/**
 * TLS (--tls-cert/--tls-key) on a real process, with a throwaway self-signed certificate made
 * by openssl (node:crypto cannot self-sign): ChatClients that trust it chat, both flavours work
 * over TLS, a client that does not trust it is refused, and a plain TCP client gets nothing
 * useful (the handshake fails) while the server stays up.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import t from 'tap';
import { ChatClient, type ChatEvent } from '../../lib/client/client.js';
import { LineClient, ROOT, spawnServer, waitFor, type Json } from '../fixtures/harness.js';
import { selfSignedCert } from './util.js';

t.test('TLS: trusted clients chat, untrusted and plain ones are refused, the server stays up', async (t) => {
  const made = selfSignedCert(t);
  if (!made) return;
  const { dir, key, cert } = made;
  const ca = readFileSync(cert);
  const srv = await spawnServer(t, ['--db', path.join(dir, 'chat.db'), '--tls-cert', cert, '--tls-key', key]);

  const ann = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, tls: { ca }, reconnect: false });
  const bob = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, tls: { ca }, reconnect: false });
  t.teardown(() => {
    ann.close();
    bob.close();
  });
  const annId = await ann.register('ann', 'pw');
  const bobId = await bob.register('bob', 'pw');
  await ann.login(annId, 'pw');
  await bob.login(bobId, 'pw');
  const bobGot: ChatEvent[] = [];
  const annGot: ChatEvent[] = [];
  bob.on('event', (e) => bobGot.push(e));
  ann.on('event', (e) => annGot.push(e));
  const ack = await ann.sendTo(bobId, 'over TLS');
  t.equal(ack.msgSeq, 1, 'a send over TLS is acked');
  await bob.sendTo(annId, 'and back');
  await waitFor(() => bobGot.length === 2 && annGot.length === 2, 20_000);
  t.same(
    bobGot.map((e) => e.text),
    ['over TLS', 'and back'],
    'both ChatClients see the conversation over TLS',
  );

  // the original's protocol works over TLS too (a raw TLS socket, legacy frames)
  const legacy = tls.connect({ host: '127.0.0.1', port: srv.port, ca });
  t.teardown(() => legacy.destroy());
  await new Promise<void>((resolve, reject) => {
    legacy.once('secureConnect', () => resolve());
    legacy.once('error', reject);
  });
  let text = '';
  legacy.setEncoding('utf8');
  legacy.on('data', (d: string) => (text += d));
  legacy.write(JSON.stringify({ msgid: 4, name: 'carl', password: 'pw' }) + '\n');
  await waitFor(() => text.includes('\n'), 20_000);
  t.match(JSON.parse(text.split('\n')[0]!) as Json, { msgid: 5, errno: 0 }, 'a legacy REG over TLS is answered');

  // a client that does not trust the certificate
  const untrusted = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, tls: {}, reconnect: false }).then(
    (c) => {
      c.close();
      return null;
    },
    (err: Error) => err,
  );
  t.match(untrusted?.message, /self[- ]signed/, 'a client without the CA refuses the server');

  // plain TCP against the TLS port
  const plain = await LineClient.connect(t, srv.port);
  plain.send({ msgid: 4, name: 'plain', password: 'pw' });
  await plain.waitClosed(10_000);
  t.same(plain.frames, [], 'a plain TCP client gets no frame');
  t.pass('and is disconnected');

  // bin/chatclient with --ca sends over TLS; without it, it cannot connect (exit 2)
  const pwFile = path.join(dir, 'pw');
  writeFileSync(pwFile, 'pw\n');
  const cli = (...args: string[]) =>
    spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(ROOT, 'bin/chatclient'), '--port', String(srv.port), '--user', String(bobId), '--password-file', pwFile, ...args], {
      encoding: 'utf8',
      timeout: 20_000,
    });
  const sent = cli('--ca', cert, 'send', String(annId), 'from the console client over TLS');
  t.equal(sent.status, 0, `chatclient --ca … send: exit 0 ${sent.stderr}`);
  await waitFor(() => annGot.some((e) => e.text === 'from the console client over TLS'), 20_000);
  t.pass('its message arrived');
  const refused = cli('--tls', 'send', String(annId), 'not trusted');
  t.equal(refused.status, 2, 'chatclient --tls without the CA: exit 2 (cannot connect)');
  t.match(refused.stderr, /certificate|self[- ]signed/i);

  t.equal(srv.child.exitCode, null, 'the server is still up');
  t.type(await ann.ping(), 'number', 'and still answers over TLS');
  const carlId = (JSON.parse(text.split('\n')[0]!) as Json).id as number;
  await ann.sendTo(carlId, 'hello carl');
  t.pass('and still accepts sends');
});
