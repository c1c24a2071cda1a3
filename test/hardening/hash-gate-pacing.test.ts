/**
 * The hash gate spreads its refusals: clients refused at once are told times a hash apart (per
 * thread), so they come back at the rate hashes finish instead of together; a flood of
 * refusals cannot push the next one past ten times the queue's own wait.
 */
import t from 'tap';
import { HashGate } from '../../lib/core/hash-gate.js';

t.test('refusals at once get later and later times, a hash apart, up to a bound', async (t) => {
  const gate = new HashGate(2, 1);
  let finish!: () => void;
  const held = new Promise<void>((resolve) => (finish = resolve));
  const running = [gate.run(() => held), gate.run(() => held), gate.run(() => held)];
  t.ok(running.every((p) => p !== null), 'two running, one waiting');
  t.equal(gate.run(() => held), null, 'the next is refused');

  const base = gate.retryAfterMs;
  const times = Array.from({ length: 40 }, () => gate.refusal().retryAfterMs);
  t.ok(times[0]! >= base, `the first refusal waits at least the queue's wait (${times[0]} >= ${base})`);
  const steps = times.slice(1).map((v, i) => v - times[i]!);
  // the average hash is 100 ms before any finished; two threads: 50 ms apart (-1 for rounding;
  // more when this machine paused between two calls, as the clock moved on meanwhile)
  t.ok(steps.slice(0, 10).every((d) => d >= 49), `spread at least one hash time per thread apart: ${steps.slice(0, 10).join(', ')}`);
  t.ok(steps.slice(0, 10).filter((d) => d <= 51).length >= 5, `mostly exactly that: ${steps.slice(0, 10).join(', ')}`);
  t.ok(times.every((v) => v <= 10 * base + 1), `never past ten times the queue's wait (${Math.max(...times)} <= ${10 * base})`);
  t.ok(times.at(-1)! >= 10 * base - 60, 'the flood reached that bound');

  finish();
  await Promise.all(running);
});
