/**
 * The interactive client in a pseudo-terminal (util-linux `script`): the menu and overview
 * are on screen, the password is not echoed, and a line that arrives while the user is typing
 * is printed above the prompt, which is redrawn with the half-typed input intact.
 */
import t from 'tap';
import { ChatClient } from '../../lib/client/client.js';
import { startServer } from '../fixtures/harness.js';
import { clientInPty, libClient, loginInPty, NO_SCRIPT, requireScript, stripAnsi as strip } from './fixtures/util.js';

requireScript(t);

t.test('typing is not disturbed by an incoming line', { skip: NO_SCRIPT }, async (t) => {
  const srv = await startServer(t);
  const reg = await ChatClient.connect({ host: '127.0.0.1', port: srv.port, reconnect: false });
  const a = await reg.register('zhang san', 'sekrit-pw');
  const b = await reg.register('li si', 'pw');
  reg.close();
  const other = await libClient(t, srv.port, b);
  const got: string[] = [];
  other.on('event', (ev) => got.push(ev.text));

  const p = clientInPty(t, ['127.0.0.1', String(srv.port)]);
  await p.waitOut('choice:');
  t.match(strip(p.out), '========================\r\n1. login\r\n2. register\r\n3. quit\r\n========================\r\n');
  await loginInPty(p, a, 'sekrit-pw');
  t.notMatch(p.out, 'sekrit-pw', 'the password was not echoed');
  t.match(strip(p.out), `current login user => id:${a} name:zhang san`);

  // half a line typed, then a message arrives
  p.write(`chat:${b}:hel`);
  const typed = await p.waitOut(`chat:${b}:hel`);
  await other.sendTo(a, 'interrupting you');
  const after = await p.waitOut(`[${b}]li si said: interrupting you #1`, 20_000, typed);
  // the line was cleared (cursor to column 1, clear below), the message printed on its own
  // line, then the prompt redrawn with what was typed
  const redraw = await p.waitOut(`chat:${b}:hel`, 20_000, after);
  const between = p.out.slice(typed, redraw);
  t.match(between, /\x1b\[1G\x1b\[0J\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[\d+\]li si said: interrupting you #1\r\n/, 'cleared, printed on its own line');
  t.match(strip(p.out.slice(after, redraw)), /^\r\n> chat:\d+:hel$/, 'the prompt and the half-typed input, redrawn');
  t.notMatch(strip(p.out.slice(typed, after)), /hel\d{4}-/, 'the incoming line did not land after the typed text');

  // finishing the line sends what was typed, all of it
  p.write('lo\r');
  await p.waitOut(`said to [${b}]li si: hello #2`, 20_000, redraw);
  t.same(got, ['interrupting you', 'hello'], 'the other side got "hello", unbroken');

  p.write('quit\r');
  t.equal(await p.exitCode(), 0);
});
