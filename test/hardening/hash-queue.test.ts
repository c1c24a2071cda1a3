/**
 * Password hashing is bounded: at most --hash-concurrency hashes at once and --hash-queue
 * waiting; a LOGIN with a password or a REG past that is refused at once with errno 132 and
 * retryAfterMs (legacy: errno 1 with that text), and its login attempt is given back. A resume
 * with a live token hashes nothing and gets in meanwhile.
 */
import t from 'tap';
import { hashPassword, scryptCost } from '../../lib/models/password.js';
import { LineClient, login, startServer, waitFor, type Json } from '../fixtures/harness.js';

t.setTimeout(60_000);

t.test('past --hash-queue a password login and a REG get errno 132 at once; a token resume gets in', async (t) => {
  // unknown ids are checked at the configured cost: slow enough to keep the gate full
  const srv = await startServer(t, { scryptParams: 'ln=16,r=8,p=1', hashConcurrency: 1, hashQueue: 1, loginAttemptsPerAccountAddress: 2 });
  // at the configured cost: a cheaper hash would be rehashed after the login, through the gate
  const amy = (await srv.hub.store.createUser('amy', await hashPassword('pw', scryptCost(srv.hub.opts.scryptParams))))!;
  const first = await LineClient.connect(t, srv.port);
  const token = (await login(first, amy, 'pw', true)).token as string;

  const conns = await Promise.all([1, 2, 3, 4, 5, 6].map(() => LineClient.connect(t, srv.port)));
  const [running, waiting, refused, legacy, reg, resumer] = conns as [LineClient, LineClient, LineClient, LineClient, LineClient, LineClient];
  running.send({ msgid: 1, v: 2, id: 900_001, password: 'x' });
  waiting.send({ msgid: 1, v: 2, id: 900_002, password: 'x' });
  await waitFor(() => srv.hub.hashes.waiting === 1, 20_000, () => 'one hash running and one waiting');
  refused.send({ msgid: 1, v: 2, id: 900_003, password: 'x', cmid: 'busy-1' });
  legacy.send({ msgid: 1, id: 900_003, password: 'x' });
  reg.send({ msgid: 4, v: 2, name: 'newcomer', password: 'x' });
  resumer.send({ msgid: 1, v: 2, id: amy, token });

  const busy = await refused.msg(2);
  t.match(busy, { msgid: 2, v: 2, errno: 132, errmsg: /^server busy, try again: too many password checks waiting, try again in \d+ s$/, retryAfterMs: Number, cmid: 'busy-1' });
  t.ok((busy.retryAfterMs as number) > 0, 'with a wait');
  t.match(await legacy.msg(2), { errno: 1, msgid: 2, errmsg: /^server busy, try again: too many password checks/ }, 'legacy: errno 1 with the reason');
  t.match(await reg.msg(5), { errno: 132, retryAfterMs: Number }, 'a REG too');
  t.match(await resumer.msg(2), { errno: 0, id: amy }, 'a resume with a live token hashes nothing and gets in');
  const answers: Json[] = await Promise.all([running.msg(2), waiting.msg(2)]);
  t.same(answers.map((a) => a.errno), [1, 1], 'the two admitted ones were checked (unknown ids)');

  // the refused attempt at 900003 was given back: two more checks fit its budget of 2
  for (let i = 0; i < 2; i++) {
    const c = await LineClient.connect(t, srv.port);
    c.send({ msgid: 1, v: 2, id: 900_003, password: 'x' });
    t.match(await c.msg(2), { errno: 1 }, `attempt ${i + 1} at 900003 is checked, not 118`);
  }
});
