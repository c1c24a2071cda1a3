/**
 * Framing and bad input: UTF-8 split across writes, many frames per write, mixed terminators,
 * blank frames, the frame size limit, garbage, deep nesting, wrong types. v2 gets errnos, legacy
 * silence; only an oversize frame closes a connection; the server keeps serving.
 */
import t from 'tap';
import { LineClient, startServer, type Json } from '../fixtures/harness.js';
import { barrier, requestV2, sendV2, sleep, user } from './util.js';

async function writeSlowly(c: LineClient, parts: Buffer[]): Promise<void> {
  c.socket.setNoDelay(true);
  for (const p of parts) {
    await new Promise<void>((resolve) => c.socket.write(p, () => resolve()));
    await sleep(25);
  }
}

t.test('a UTF-8 character split across TCP writes arrives whole', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob');
  const text = 'héllo 世界 😀 done';
  const bytes = Buffer.from(JSON.stringify({ msgid: 6, v: 2, toid: b.id, msg: text, cmid: 'utf8' }) + '\n', 'utf8');
  // cut inside the 4-byte emoji (three times) and inside a 3-byte CJK character
  const emoji = bytes.indexOf(Buffer.from('😀'));
  const cjk = bytes.indexOf(Buffer.from('界'));
  const cuts = [cjk + 1, emoji + 1, emoji + 2, emoji + 3];
  const parts: Buffer[] = [];
  let at = 0;
  for (const cut of cuts) {
    parts.push(bytes.subarray(at, cut));
    at = cut;
  }
  parts.push(bytes.subarray(at));
  await writeSlowly(a.c, parts);
  t.match(await a.c.msg(12), { cmid: 'utf8', msgSeq: 1 });
  const got = await b.c.msg(6);
  t.equal(got.msg, text, 'the text is intact');

  // a legacy REG whose name is split the same way
  const c = await LineClient.connect(t, srv.port);
  const reg = Buffer.from(JSON.stringify({ msgid: 4, name: '名字😀', password: 'p' }) + '\0', 'utf8');
  const mid = reg.indexOf(Buffer.from('😀')) + 2;
  await writeSlowly(c, [reg.subarray(0, mid), reg.subarray(mid)]);
  const ack = await c.msg(5);
  t.equal(ack.errno, 0);
  const l = await LineClient.connect(t, srv.port);
  l.send({ msgid: 1, id: ack.id, password: 'p' });
  t.match(await l.msg(2), { errno: 0, name: '名字😀' }, 'the name was stored whole');
});

t.test('many frames in one write, in order', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob');
  const n = 200;
  a.c.raw(Array.from({ length: n }, (_, i) => JSON.stringify({ msgid: 6, v: 2, toid: b.id, msg: `m${i}`, cmid: `k${i}` }) + '\n').join(''));
  const seqs: unknown[] = [];
  for (let i = 0; i < n; i++) seqs.push((await a.c.next((f) => f.msgid === 12 && f.cmid === `k${i}`)).msgSeq);
  t.same(seqs, Array.from({ length: n }, (_, i) => i + 1), 'each frame acked at its own seq, in order');
  const got: Json[] = [];
  for (let i = 0; i < n; i++) got.push(await b.c.msg(6));
  t.same(
    got.map((m) => [m.msgSeq, m.msg]),
    Array.from({ length: n }, (_, i) => [i + 1, `m${i}`]),
    'pushed in order, once each',
  );
});

t.test('NUL, \\n and \\r\\n terminators mixed; blank lines and lone NULs ignored', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob');
  const f = (i: number) => JSON.stringify({ msgid: 6, v: 2, toid: b.id, msg: `t${i}`, cmid: `t${i}` });
  a.c.raw(`\n\n\r\n\0\0   \n\t\r\n${f(1)}\0${f(2)}\n${f(3)}\r\n\0\n${f(4)}\0\r\n\n`);
  // a frame split so that its \r and \n arrive in different writes
  a.c.raw(`${f(5)}\r`);
  await sleep(20);
  a.c.raw(`\n${f(6)}`);
  await sleep(20);
  a.c.raw('\0');
  const msgs: Json[] = [];
  for (let i = 1; i <= 6; i++) msgs.push(await b.c.msg(6));
  t.same(
    msgs.map((m) => m.msg),
    ['t1', 't2', 't3', 't4', 't5', 't6'],
  );
  const rest = await barrier(a.c, true);
  t.same(
    rest.filter((x) => x.msgid === 11),
    [],
    'blank frames got no error reply',
  );
  t.equal(rest.filter((x) => x.msgid === 12).length, 6, 'six acks');
});

t.test('oversize frame: v2 gets errno 104, then the connection closes', async (t) => {
  const srv = await startServer(t, { maxFrame: 1024 });
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob', { v2: true });
  // exactly the limit is fine
  const base = JSON.stringify({ msgid: 6, v: 2, toid: b.id, msg: '', cmid: 'edge' });
  const fits = JSON.stringify({ msgid: 6, v: 2, toid: b.id, msg: 'x'.repeat(1024 - base.length), cmid: 'edge' });
  t.equal(Buffer.byteLength(fits), 1024);
  a.c.send(fits);
  t.match(await a.c.msg(12), { cmid: 'edge', msgSeq: 1 }, 'a frame of exactly max-frame bytes is accepted');

  const big = JSON.stringify({ msgid: 6, v: 2, toid: b.id, msg: 'y'.repeat(2000), cmid: 'big' });
  a.c.send(big);
  const e = await a.c.msg(11);
  t.match(e, { msgid: 11, v: 2, errno: 104, reqmsgid: null });
  await a.c.waitClosed();
  t.ok(a.c.closed, 'closed');
  t.same(a.c.frames, [], 'no more frames after the error');
  // the oversize message was not delivered; b is still served
  const next = await sendV2(b.c, { msgid: 6, toid: a.id, msg: 'still here' });
  t.equal(next.msgSeq, 2, 'only the fitting message was appended');
});

t.test('oversize without a terminator (a stream that never ends a line) also closes', async (t) => {
  const srv = await startServer(t, { maxFrame: 1024 });
  const c = await LineClient.connect(t, srv.port);
  c.send({ msgid: 28, v: 2, cmid: 'hi' });
  await c.msg(29);
  for (let i = 0; i < 5 && !c.closed; i++) {
    c.raw('z'.repeat(400));
    await sleep(10);
  }
  t.match(await c.msg(11), { errno: 104 });
  await c.waitClosed();
  t.ok(c.closed);
});

t.test('oversize frame on legacy: closes with no reply', async (t) => {
  const srv = await startServer(t, { maxFrame: 1024 });
  const a = await user(t, srv.port, 'alice');
  a.c.send({ msgid: 6, id: a.id, toid: a.id, msg: 'z'.repeat(3000) }, '\0');
  await a.c.waitClosed();
  t.same(a.c.frames, [], 'no reply before the close');
  t.same(a.c.junk, []);
});

t.test('bad input on v2: the right errnos, the connection stays open', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob', { v2: true });
  const cases: Array<[string | Buffer, number, number | null]> = [
    ['not json at all', 100, null],
    ['{"msgid":6,', 100, null],
    ['{"msgid":6}{"msgid":6}', 100, null],
    [Buffer.from([0xff, 0xfe, 0x7b, 0x80, 0x81, 0x7d]), 100, null],
    ['[1,2,3]', 101, null],
    ['"a string"', 101, null],
    ['42', 101, null],
    ['null', 101, null],
    ['true', 101, null],
    ['{}', 103, null],
    ['{"msgid":"6","toid":2,"msg":"x"}', 103, null],
    ['{"msgid":6.5}', 103, null],
    ['{"msgid":null}', 103, null],
    ['{"msgid":99999}', 102, 99999],
    ['{"msgid":-1}', 102, -1],
    [`{"msgid":6,"toid":"${b.id}","msg":"x","cmid":"c1"}`, 103, 6],
    [`{"msgid":6,"toid":${b.id},"msg":{"a":1},"cmid":"c2"}`, 103, 6],
    [`{"msgid":7,"friendid":[${b.id}]}`, 103, 7],
    ['[' .repeat(10000) + ']'.repeat(10000), 101, null],
    ['{"a":'.repeat(10000) + '1' + '}'.repeat(10000), 103, null],
    ['['.repeat(30000), 100, null],
  ];
  for (const [text, errno, reqmsgid] of cases) {
    a.c.raw(Buffer.concat([Buffer.isBuffer(text) ? text : Buffer.from(text), Buffer.from('\n')]));
    const e = await a.c.msg(11);
    const label = Buffer.isBuffer(text) ? text.toString('hex') : text.slice(0, 40);
    t.match(e, { msgid: 11, v: 2, errno, reqmsgid }, label);
    t.type(e.errmsg, 'string', label);
  }
  t.notOk(a.c.closed, 'bad input does not close the connection');
  // invalid UTF-8 inside a string: decoded with replacement characters, not a crash
  a.c.raw(Buffer.concat([Buffer.from(`{"msgid":6,"v":2,"toid":${b.id},"cmid":"bad-utf8","msg":"a`), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('b"}\n')]));
  t.match(await a.c.next((f) => f.cmid === 'bad-utf8'), { msgid: 12, msgSeq: 1 });
  const got = await b.c.msg(6);
  t.equal(got.msg, 'a\ufffd(\ufffdb', 'invalid bytes became U+FFFD');
  // and it still works
  t.match(await sendV2(a.c, { msgid: 6, toid: b.id, msg: 'after the garbage' }), { msgid: 12, msgSeq: 2 });
  t.equal((await b.c.msg(6)).msg, 'after the garbage');
});

t.test('bad input on legacy: silence, nothing happens, the connection stays open', async (t) => {
  const srv = await startServer(t);
  const a = await user(t, srv.port, 'alice');
  const b = await user(t, srv.port, 'bob');
  const garbage: Array<string | Buffer> = [
    'not json',
    '{"msgid":6,',
    Buffer.from([0xff, 0xfe, 0xfd]),
    '[1]',
    '"x"',
    '{}',
    `{"msgid":"6","id":${a.id},"toid":${b.id},"msg":"string msgid"}`,
    `{"msgid":6,"id":${a.id},"toid":"${b.id}","msg":"string toid"}`,
    '{"msgid":424242}',
    '['.repeat(10000) + ']'.repeat(10000),
  ];
  for (const g of garbage) a.c.raw(Buffer.concat([Buffer.isBuffer(g) ? g : Buffer.from(g), Buffer.from('\0')]));
  t.same(await barrier(a.c), [], 'no reply to any of it');
  t.same(a.c.junk, []);
  t.notOk(a.c.closed);
  a.c.send({ msgid: 6, id: a.id, toid: b.id, msg: 'valid' }, '\0');
  t.match(await b.c.msg(6), { msg: 'valid', msgSeq: 1 }, 'none of the garbage was appended');
});

t.test('after all that abuse, the server serves new clients', async (t) => {
  const srv = await startServer(t, { maxFrame: 2048 });
  // abuse from several connections at once
  const abusers = await Promise.all([0, 1, 2, 3].map(() => LineClient.connect(t, srv.port)));
  abusers[0]!.raw('{"v":2,"msgid":28}\n' + 'x'.repeat(5000));
  abusers[1]!.raw(Buffer.from([0, 0, 0xff, 0xfe, 0x0a, 0xc0, 0xaf, 0x0a]));
  abusers[2]!.raw('['.repeat(1000) + '\n' + '{"msgid":1,"id":-1,"password":""}\0');
  abusers[3]!.raw('{"msgid":6,"id":1,"toid":2,"msg":"spoof"}\0{"msgid":"6"}\n');
  await abusers[0]!.waitClosed();
  const a = await user(t, srv.port, 'alice', { v2: true });
  const b = await user(t, srv.port, 'bob');
  const ack = await sendV2(a.c, { msgid: 6, toid: b.id, msg: 'still serving' });
  t.match(ack, { msgid: 12, msgSeq: 1 });
  t.match(await b.c.msg(6), { msg: 'still serving', id: a.id });
  const g = await requestV2(a.c, { msgid: 8, groupname: 'fine' });
  t.equal(g.errno, 0);
  // the legacy phantom login on abuser 2 was refused
  t.match(await abusers[2]!.msg(2), { errno: 1 });
});

t.test('very deep nesting within a large frame limit: parsed or refused, never a crash', async (t) => {
  const srv = await startServer(t, { maxFrame: 4 * 1024 * 1024 });
  const c = await LineClient.connect(t, srv.port);
  // a valid request carrying a 500 000-level array in an extra field
  c.raw('{"msgid":28,"v":2,"cmid":"deep","x":' + '['.repeat(500_000) + ']'.repeat(500_000) + '}\n');
  t.match(await c.next((f) => f.cmid === 'deep' || f.msgid === 11, 20_000), { msgid: 29, cmid: 'deep' });
  // a million unclosed brackets
  c.raw('['.repeat(1_000_000) + '\n');
  t.match(await c.msg(11, 20_000), { errno: 100, reqmsgid: null });
  // a million-level object nest
  c.raw('{"a":'.repeat(500_000) + '1' + '}'.repeat(500_000) + '\n');
  t.match(await c.msg(11, 20_000), { errno: 103, reqmsgid: null });
  c.send({ msgid: 28, v: 2, cmid: 'alive' });
  t.match(await c.msg(29), { cmid: 'alive' }, 'still serving this connection');
});
