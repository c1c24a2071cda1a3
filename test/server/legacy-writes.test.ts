/**
 * The original console client parses each read as one JSON object and aborts on two, so a
 * legacy connection gets every frame in a socket write of its own, unless it showed it reads
 * line by line (a frame of its own ended by `\n`; the original client ends them with NUL).
 * The writes are observed on the server's socket, in this process: what the kernel then does
 * with them (it may still join two) is not what is tested.
 */
import net from 'node:net';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { Connection } from '../../lib/server/connection.js';
import { TcpTransport } from '../../lib/server/transport.js';
import { Stats } from '../../lib/core/stats.js';
import { LineClient, login, register, startServer, waitFor } from '../fixtures/harness.js';

type Write = (this: net.Socket, chunk: unknown, ...rest: unknown[]) => boolean;

/** records what is written on the sockets `mine` picks (for the rest of the test) */
function spyWrites(t: Test, mine: (s: net.Socket) => boolean): string[] {
  const writes: string[] = [];
  const proto = net.Socket.prototype as unknown as { write: Write };
  const original = proto.write;
  proto.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]): boolean {
    if (mine(this)) writes.push(String(chunk));
    return original.call(this, chunk, ...rest);
  };
  t.teardown(() => {
    proto.write = original;
  });
  return writes;
}

/** a Connection on the server side of a real loopback socket pair */
async function connectionPair(t: Test): Promise<{ conn: Connection; writes: string[] }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ port, host: '127.0.0.1' });
  client.on('data', () => undefined);
  const socket = await accepted;
  t.teardown(() => {
    client.destroy();
    socket.destroy();
    server.close();
  });
  const writes = spyWrites(t, (s) => s === socket);
  const conn = new Connection(1, new TcpTransport(socket), pino({ level: 'silent' }), {
    stats: new Stats(),
    maxFrame: 65536,
    maxOutBytes: 1 << 20,
    drainTimeoutMs: 30_000,
    maxPendingFrames: 100,
    maxPendingBytes: 1 << 20,
  });
  return { conn, writes };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** two frames queued in one tick; resolves the writes they made and whether both callbacks ran */
async function twoFrames(conn: Connection, writes: string[]): Promise<{ writes: string[]; written: number }> {
  let written = 0;
  conn.send({ msgid: 6, msg: 'one' }, () => written++);
  conn.send({ msgid: 6, msg: 'two' }, () => written++);
  await tick();
  await waitFor(() => written === 2, 5000, () => 'both frames to be handed to the kernel');
  return { writes: writes.splice(0), written };
}

t.test('a legacy connection: one write per frame, callbacks after the last', async (t) => {
  const { conn, writes } = await connectionPair(t);
  const r = await twoFrames(conn, writes);
  t.same(r.writes, ['{"msgid":6,"msg":"one"}\n', '{"msgid":6,"msg":"two"}\n']);
  t.equal(r.written, 2);
});

t.test('NUL-ended frames, even several in one read (the original client), do not enable batching', async (t) => {
  const { conn, writes } = await connectionPair(t);
  const frames: string[] = [];
  t.ok(conn.feed(Buffer.from('{"msgid":4}\0{"msgid":4}\0{"msgid":4}\0{"msg'), (f) => frames.push(f)));
  t.equal(frames.length, 3);
  t.equal(conn.batches, false);
  t.equal((await twoFrames(conn, writes)).writes.length, 2);
});

t.test('a frame ended by a newline (over two chunks too) enables batching for good', async (t) => {
  const { conn, writes } = await connectionPair(t);
  conn.feed(Buffer.from('{"msgid":4}\0{"msg'), () => undefined);
  t.equal(conn.batches, false, 'NUL: not yet');
  conn.feed(Buffer.from('id":4}'), () => undefined);
  t.equal(conn.batches, false, 'an unfinished frame: not yet');
  conn.feed(Buffer.from('\r\n'), () => undefined);
  t.equal(conn.batches, true, 'a line');
  t.same((await twoFrames(conn, writes)).writes, ['{"msgid":6,"msg":"one"}\n{"msgid":6,"msg":"two"}\n']);
  conn.feed(Buffer.from('{"msgid":4}\0'), () => undefined);
  t.equal(conn.batches, true, 'and stays so');
});

t.test('a v2 connection batches', async (t) => {
  const { conn, writes } = await connectionPair(t);
  conn.v2 = true;
  t.equal((await twoFrames(conn, writes)).writes.length, 1);
});

t.test('chats sent back to back reach a legacy recipient in writes of one frame each', async (t) => {
  const srv = await startServer(t);
  const sender = await LineClient.connect(t, srv.port);
  const recipient = await LineClient.connect(t, srv.port);
  const from = await register(sender, 'sender');
  // the recipient sends only what the original client would: NUL-ended frames
  const to = await register(sender, 'recipient');
  t.equal((await login(sender, from)).errno, 0);
  // the original client's framing: NUL after every frame, one frame per write
  recipient.send({ msgid: 1, id: to, password: 'secret' }, '\0');
  t.equal((await recipient.msg(2)).errno, 0);
  const port = recipient.socket.localPort;
  const writes = spyWrites(t, (s) => s.localPort === srv.port && s.remotePort === port);
  const n = 30;
  let burst = '';
  for (let i = 1; i <= n; i++) burst += JSON.stringify({ msgid: 6, id: from, toid: to, msg: `m${i}`, name: 'x', time: 'x' }) + '\0';
  sender.raw(burst);
  await waitFor(() => recipient.frames.filter((f) => f.msgid === 6).length === n, 20_000, () => JSON.stringify(recipient.frames));
  t.same(
    recipient.frames.map((f) => f.msg),
    Array.from({ length: n }, (_, i) => `m${i + 1}`),
    'every chat, in order',
  );
  t.equal(writes.length, n, 'one write per push');
  t.ok(
    writes.every((w) => w.indexOf('\n') === w.length - 1 && (JSON.parse(w) as { msgid: number }).msgid === 6),
    'each write is one JSON object and its newline',
  );
});
