import t from 'tap';
import { LocalBus, LocalHub, LocalPresence } from '../../lib/bus/local/index.js';
import { busContract, presenceContract } from '../fixtures/bus-contract.js';

let n = 0;
busContract(t, 'local', async () => {
  const hub = new LocalHub();
  const a = new LocalBus({ nodeId: `a${n++}`, hub });
  const b = new LocalBus({ nodeId: `b${n++}`, hub });
  return {
    a,
    b,
    async cleanup() {
      await Promise.all([a.close(), b.close()]);
    },
  };
});

const hub = new LocalHub();
presenceContract(t, 'local', async (nodeId) => new LocalPresence({ nodeId, hub }), {
  crash(p) {
    if (!(p instanceof LocalPresence)) throw new Error('not a LocalPresence');
    p.crashForTest();
  },
});

t.test('local bus: two buses cannot share a node id on one hub', async (t) => {
  const hub = new LocalHub();
  const a = new LocalBus({ nodeId: 'same', hub });
  const b = new LocalBus({ nodeId: 'same', hub });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  await a.start(() => {});
  await t.rejects(b.start(() => {}), /already started/);
});

t.test('local presence: refuses sessions of another node', async (t) => {
  const p = new LocalPresence({ nodeId: 'n1', hub: new LocalHub() });
  t.teardown(() => p.close());
  await p.start();
  await t.rejects(p.register(1, { sessionId: 's', nodeId: 'n2', legacy: false }, { exclusive: false, maxSessions: 5 }));
});
