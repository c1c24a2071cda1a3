/**
 * JsonObjectSplitter: the original server's replies, JSON objects written back to back with no
 * delimiter, split by brace depth (strings and escapes respected), UTF-8 safe across chunks,
 * with a limit on one object's bytes.
 */
import t from 'tap';
import { JsonObjectSplitter } from '../../lib/protocol/frame.js';

const OBJECTS = [
  { errno: 0, id: 1, msgid: 5 },
  { groups: ['{"groupdesc":"a {b} c","groupname":"g","id":1,"users":["{\\"id\\":1}"]}'], msgid: 2 },
  { msg: 'quote " backslash \\ brace } { and \\"}', msgid: 6, name: '张三 😀' },
  { nested: { deeper: { x: [1, { y: '}' }] } }, msgid: 10 },
  { msg: '\\', msgid: 6 },
];
const WIRE = Buffer.from(OBJECTS.map((o) => JSON.stringify(o)).join(''));

function split(chunks: Buffer[], max = 1 << 20): { objects: unknown[]; ok: boolean } {
  const s = new JsonObjectSplitter(max);
  const objects: unknown[] = [];
  let ok = true;
  for (const c of chunks) ok = ok && s.push(c, (text) => objects.push(JSON.parse(text)));
  return { objects, ok };
}

t.test('objects back to back in one chunk', async (t) => {
  t.same(split([WIRE]).objects, OBJECTS);
});

t.test('split at every byte position, multi-byte characters included', async (t) => {
  for (let at = 0; at <= WIRE.length; at++) {
    const r = split([WIRE.subarray(0, at), WIRE.subarray(at)]);
    if (JSON.stringify(r.objects) !== JSON.stringify(OBJECTS)) {
      t.fail(`split at ${at}`);
      return;
    }
  }
  t.pass('every split');
  t.same(split([...WIRE].map((b) => Buffer.from([b]))).objects, OBJECTS, 'one byte per chunk');
});

t.test('bytes between objects are skipped: whitespace, newlines, NUL', async (t) => {
  const r = split([Buffer.from('\n {"a":1}\0\r\n  {"b":"}"}\n\0 x {"c":{}}')]);
  t.same(r.objects, [{ a: 1 }, { b: '}' }, { c: {} }]);
});

t.test('the limit counts one object’s bytes, in one chunk or over several', async (t) => {
  const one = Buffer.from('{"msg":"xxxxxxxxxx"}'); // 20 bytes
  t.same(split([one, one], 20), { objects: [{ msg: 'xxxxxxxxxx' }, { msg: 'xxxxxxxxxx' }], ok: true }, 'exactly at the limit');
  t.equal(split([one], 19).ok, false, 'one byte over, in one chunk');
  t.equal(split([one.subarray(0, 10), one.subarray(10)], 19).ok, false, 'one byte over, completed in the next chunk');
  t.equal(split([Buffer.from('{"msg":"' + 'x'.repeat(30))], 19).ok, false, 'over, and not complete yet');
  const s = new JsonObjectSplitter(100);
  t.ok(s.push(Buffer.from('{"a":'), () => undefined));
  t.equal(s.pendingBytes, 5, 'an incomplete object is held');
});
