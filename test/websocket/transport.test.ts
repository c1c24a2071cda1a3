/**
 * The WebSocket transport (--ws-port): the same protocol (v2 only), limits, timeouts, caps,
 * sessions and metrics as TCP, and a WebSocket user chatting with a TCP user.
 */
import t, { type Test } from 'tap';
import { barrier, LineClient, login, register, startServer } from '../fixtures/harness.js';
import { WsClient } from '../fixtures/ws-client.js';
import { httpGet, metric, parseMetrics, selfSignedCert } from '../hardening/util.js';
import { NO_LOGIN_LIMITS } from '../protocol/util.js';
import { relativeImports } from '../../lib/server/web-files.js';

t.setTimeout(60_000);

async function wsServer(t: Test, opts: Parameters<typeof startServer>[1] = {}) {
  const app = await startServer(t, { wsPort: 0, ...NO_LOGIN_LIMITS, ...opts });
  return Object.assign(app, { wsPort: app.wsAddress!.port });
}

t.test('a WebSocket user and a TCP (netcat) user chat both ways; one JSON frame per message', async (t) => {
  const app = await wsServer(t);
  const nc = await LineClient.connect(t, app.port);
  const ncId = await register(nc, 'nc');
  const ws = await WsClient.connect(t, app.wsPort);
  ws.send({ msgid: 4, v: 2, name: 'web', password: 'secret', cmid: 'r' });
  const reg = await ws.msg(5);
  t.match(reg, { v: 2, errno: 0, cmid: 'r' });
  const webId = reg.id as number;
  t.equal((await login(nc, ncId)).errno, 0, 'legacy login over TCP');
  ws.send({ msgid: 1, v: 2, id: webId, password: 'secret', cmid: 'l' });
  t.match(await ws.msg(2), { v: 2, errno: 0, id: webId, name: 'web', cmid: 'l' });

  ws.send({ msgid: 6, v: 2, toid: ncId, msg: 'hello from the browser', cmid: 's1' });
  t.match(await ws.msg(12), { errno: 0, conv: `p:${ncId}:${webId}`, msgSeq: 1, cmid: 's1' });
  t.match(await nc.msg(6), { id: webId, name: 'web', msg: 'hello from the browser', msgSeq: 1 });
  nc.send({ msgid: 6, toid: webId, msg: 'hi from netcat' });
  t.match(await ws.msg(6), { v: 2, id: ncId, msg: 'hi from netcat', msgSeq: 2, conv: `p:${ncId}:${webId}` });

  // a blank message is ignored; a message is one frame, whatever whitespace it holds
  ws.send('  \r\n ');
  ws.send('{"msgid":28,\n"v":2,\n"cmid":"p"}');
  t.match(await ws.msg(29), { cmid: 'p' });
  t.same((await barrier(ws, true)).filter((f) => f.msgid !== 20), [], 'no reply to the blank message (only status updates came)');
});

t.test('a frame without "v":2 gets ERROR_MSG 131 and is not handled; bad frames get the v2 errors', async (t) => {
  const app = await wsServer(t);
  const ws = await WsClient.connect(t, app.wsPort);
  ws.send({ msgid: 4, name: 'legacy', password: 'secret', cmid: 'x1' });
  t.same(await ws.msg(11), { msgid: 11, v: 2, errno: 131, errmsg: 'this connection speaks v2 only: send "v":2', reqmsgid: 4, cmid: 'x1' });
  ws.send({ msgid: 28, v: '2' });
  t.match(await ws.msg(11), { errno: 131, reqmsgid: 28 });
  ws.send('{"msgid":6,');
  t.match(await ws.msg(11), { errno: 100, reqmsgid: null });
  ws.send('{"msgid":99,"v":2}');
  t.match(await ws.msg(11), { errno: 102, reqmsgid: 99 });
  // the refused REG made no user: the name is free
  ws.send({ msgid: 4, v: 2, name: 'legacy', password: 'secret' });
  t.match(await ws.msg(5), { errno: 0 });
});

t.test('a message over --max-frame closes the WebSocket with 1009', async (t) => {
  const app = await wsServer(t, { maxFrame: 1024 });
  const ws = await WsClient.connect(t, app.wsPort);
  ws.send({ msgid: 28, v: 2, pad: 'x'.repeat(900) });
  t.match(await ws.msg(29), {}, 'under the limit: handled');
  ws.send({ msgid: 28, v: 2, pad: 'x'.repeat(1100) });
  await ws.waitClosed();
  t.equal(ws.closeCode, 1009, 'close code 1009 (message too big)');
});

t.test('frame rate, login timeout and idle timeout apply as on TCP', async (t) => {
  const app = await wsServer(t, { frameRate: 1, frameBurst: 2, loginTimeoutMs: 1000, idleTimeoutMs: 60_000 });
  const ws = await WsClient.connect(t, app.wsPort);
  for (const cmid of ['a', 'b', 'c']) ws.send({ msgid: 28, v: 2, cmid });
  t.match(await ws.next((f) => f.cmid === 'c'), { msgid: 11, errno: 118, reqmsgid: 28 });
  t.match(await ws.msg(11), { errno: 129, reqmsgid: null }, 'not logged in within the login timeout');
  await ws.waitClosed();
  t.equal(ws.closeCode, 1000);

  const idle = await wsServer(t, { idleTimeoutMs: 1000, loginTimeoutMs: 60_000 });
  const quiet = await WsClient.connect(t, idle.wsPort);
  quiet.send({ msgid: 28, v: 2 });
  await quiet.msg(29);
  t.match(await quiet.msg(11), { errno: 126 }, 'silent past the idle timeout');
  await quiet.waitClosed();
});

t.test('per-address cap: errno 130; metrics count connections by transport', async (t) => {
  const app = await wsServer(t, { maxConnectionsPerAddress: 2, metricsPort: 0 });
  const first = await WsClient.connect(t, app.wsPort);
  const tcp = await LineClient.connect(t, app.port);
  const m = parseMetrics((await httpGet(app.metricsAddress!.port, '/metrics')).body);
  t.equal(metric(m, 'chat_connections_by_transport{transport="ws"}'), 1);
  t.equal(metric(m, 'chat_connections_by_transport{transport="tcp"}'), 1);
  t.equal(metric(m, 'chat_connections'), 2);
  const third = await WsClient.connect(t, app.wsPort);
  t.match(await third.msg(11), { errno: 130, reqmsgid: null });
  await third.waitClosed();
  first.send({ msgid: 28, v: 2, cmid: 'still' });
  t.match(await first.msg(29), { cmid: 'still' }, 'the others are untouched');
  tcp.close();
});

t.test('a WebSocket that does not read is cut off like a slow TCP reader', async (t) => {
  const app = await wsServer(t, { maxOutBytes: 64 * 1024, drainTimeoutMs: 1000, frameRate: 1_000_000, frameBurst: 1_000_000 });
  const sender = await LineClient.connect(t, app.port);
  const senderId = await register(sender, 'sender');
  sender.send({ msgid: 1, v: 2, id: senderId, password: 'secret' });
  t.match(await sender.msg(2), { errno: 0 });
  const reader = await WsClient.connect(t, app.wsPort);
  reader.send({ msgid: 4, v: 2, name: 'reader', password: 'secret' });
  const readerId = (await reader.msg(5)).id as number;
  reader.send({ msgid: 1, v: 2, id: readerId, password: 'secret' });
  t.match(await reader.msg(2), { errno: 0 });
  reader.ws.pause();
  const pad = 'x'.repeat(400);
  let sent = 0;
  while (app.server.connectionsOf('ws') > 0 && sent < 200_000) {
    for (let i = 0; i < 500; i++) sender.send({ msgid: 6, v: 2, toid: readerId, msg: pad, cmid: `f${sent++}` });
    await sender.next((f) => f.msgid === 12 && f.cmid === `f${sent - 1}`, 60_000);
    sender.frames.splice(0);
  }
  t.equal(app.server.connectionsOf('ws'), 0, `the reader was cut off (after ${sent} messages)`);
  t.ok(sent < 200_000, 'before the flood ran out');
  sender.send({ msgid: 28, v: 2, cmid: 'alive' });
  t.match(await sender.next((f) => f.cmid === 'alive'), { msgid: 29 }, 'the sender is not affected');
});

t.test('GET serves the page and the modules it imports, nothing else; only /ws upgrades', async (t) => {
  const app = await wsServer(t);
  const page = await httpGet(app.wsPort, '/');
  t.equal(page.status, 200);
  t.match(page.headers['content-type'], 'text/html');
  t.match(page.headers['content-security-policy'], "default-src 'self'");
  t.match(page.body, '<script type="module" src="/js/web/main.js">');
  const main = await httpGet(app.wsPort, '/js/web/main.js');
  t.equal(main.status, 200);
  t.match(main.headers['content-type'], 'text/javascript');
  t.equal((await httpGet(app.wsPort, '/js/client/core.js')).status, 200, 'the client library, imported by the page');
  for (const path of ['/js/server/server.js', '/js/client/connection.js', '/js/../package.json', '/nothing-here']) {
    t.equal((await httpGet(app.wsPort, path)).status, 404, `${path}: not served`);
  }
  t.equal((await httpGet(app.wsPort, '/', 'POST')).status, 404, 'only GET and HEAD');
  await t.rejects(WsClient.connect(t, app.wsPort, { path: '/other' }), /HTTP 404/);
});

t.test("the page's modules may import only relative modules", async (t) => {
  t.same(relativeImports("import { a } from './a.js';\nexport * from '../b.js';\nexport function f() { return 'x'; }\n", 'm.js'), ['./a.js', '../b.js']);
  t.same(relativeImports("import {\n  a,\n  type B,\n} from './multi.js';\n", 'm.js'), ['./multi.js']);
  t.throws(() => relativeImports("import net from 'node:net';\n", 'm.js'), /m\.js imports node:net, which a browser cannot load/);
  t.throws(() => relativeImports("import { WebSocket } from 'ws';\n", 'm.js'), /imports ws/);
});

t.test('with TLS configured, the WebSocket port speaks TLS (wss)', async (t) => {
  const cert = selfSignedCert(t);
  if (!cert) return;
  const app = await wsServer(t, { tlsCert: cert.cert, tlsKey: cert.key });
  const ws = await WsClient.connect(t, app.wsPort, { tls: { rejectUnauthorized: false } });
  ws.send({ msgid: 28, v: 2, cmid: 'tls' });
  t.match(await ws.msg(29), { cmid: 'tls' });
  const plain = await WsClient.connect(t, app.wsPort).then(
    () => 'connected',
    (err: Error) => err.message,
  );
  t.not(plain, 'connected', 'plain ws:// is not served');
});
