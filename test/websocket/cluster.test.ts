/**
 * WebSocket in cluster mode: a browser-side user on one process (through nginx's HTTP upgrade
 * block, examples/cluster/nginx.conf.template) and a TCP user on another chat both ways.
 */
import t from 'tap';
import { clusterEnv, startNginx } from '../fixtures/cluster.js';
import { LineClient, login, register } from '../fixtures/harness.js';
import { WsClient } from '../fixtures/ws-client.js';

t.setTimeout(90_000);

t.test('a WebSocket user behind nginx and a TCP user on another process chat both ways', async (t) => {
  const env = await clusterEnv(t, { nginx: true });
  if (!env) return;
  const [n1, n2] = await Promise.all([env.node(['--ws-port', '0']), env.node(['--ws-port', '0'])]);
  // nginx sends the WebSocket to node 1 only: the TCP user is on node 2
  const nginx = await startNginx(t, [n1!.port, n2!.port], [n1!.wsPort!]);
  const nc = await LineClient.connect(t, n2!.port);
  const ncId = await register(nc, 'tcp user');
  t.equal((await login(nc, ncId)).errno, 0);
  const ws = await WsClient.connect(t, nginx.wsPort);
  ws.send({ msgid: 4, v: 2, name: 'web user', password: 'secret' });
  const webId = (await ws.msg(5)).id as number;
  ws.send({ msgid: 1, v: 2, id: webId, password: 'secret' });
  t.match(await ws.msg(2), { errno: 0, id: webId });

  ws.send({ msgid: 6, v: 2, toid: ncId, msg: 'from the web', cmid: 'w1' });
  t.match(await ws.msg(12), { errno: 0, msgSeq: 1, cmid: 'w1' });
  t.match(await nc.msg(6), { id: webId, msg: 'from the web', msgSeq: 1 });
  nc.send({ msgid: 6, toid: webId, msg: 'from the terminal' });
  t.match(await ws.msg(6), { id: ncId, msg: 'from the terminal', msgSeq: 2 });
  // the legacy recipient's DELIVERED reaches the WebSocket sender across processes
  t.match(await ws.next((f) => f.msgid === 20 && f.delivered === 1), { conv: `p:${Math.min(ncId, webId)}:${Math.max(ncId, webId)}` });
});
