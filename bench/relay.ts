/**
 * The baseline: a minimal Node relay speaking just enough of the legacy protocol for the load
 * generator (REG 4 -> 5, LOGIN 1 -> 2, ONE_CHAT_MSG 6). It frames lines, parses each one, and
 * forwards a chat message to the addressed connection in the same shape the server pushes
 * (conv, id, msg, msgSeq, msgid, name, time, toid), with an in-memory counter for msgSeq and no
 * storage, no acks, no presence, no bus. Outgoing frames of one tick go out in one write per
 * socket, as in the server. Messages to a user who is not connected are dropped.
 *
 *   node dist/bench/relay.js --port 7000
 */
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { FrameDecoder } from '../lib/protocol/frame.js';
import { legacyTime } from '../lib/protocol/shapes.js';

interface Peer {
  socket: net.Socket;
  id: number;
  name: string;
  out: string[];
  scheduled: boolean;
}

export function startRelay(port: number, host = '127.0.0.1'): Promise<net.Server> {
  const names = new Map<number, string>();
  const online = new Map<number, Peer>();
  const seqs = new Map<string, number>();
  let nextId = 1;

  const flush = (p: Peer) => {
    p.scheduled = false;
    if (p.out.length === 0 || p.socket.destroyed) return;
    const data = p.out.join('\n') + '\n';
    p.out = [];
    p.socket.write(data);
  };
  const send = (p: Peer, frame: object) => {
    p.out.push(JSON.stringify(frame));
    if (!p.scheduled) {
      p.scheduled = true;
      setImmediate(flush, p);
    }
  };

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const peer: Peer = { socket, id: 0, name: '', out: [], scheduled: false };
    const decoder = new FrameDecoder(64 * 1024);
    const onFrame = (text: string) => {
      let f: Record<string, unknown>;
      try {
        f = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      switch (f.msgid) {
        case 4: {
          const id = nextId++;
          names.set(id, String(f.name));
          send(peer, { errno: 0, id, msgid: 5 });
          return;
        }
        case 1: {
          const id = Number(f.id);
          peer.id = id;
          peer.name = names.get(id) ?? '';
          online.set(id, peer);
          send(peer, { errno: 0, id, msgid: 2, name: peer.name });
          return;
        }
        case 6: {
          if (peer.id === 0) return;
          const toid = Number(f.toid);
          const to = online.get(toid);
          if (!to) return;
          const conv = peer.id < toid ? `p:${peer.id}:${toid}` : `p:${toid}:${peer.id}`;
          const msgSeq = (seqs.get(conv) ?? 0) + 1;
          seqs.set(conv, msgSeq);
          send(to, { conv, id: peer.id, msg: f.msg, msgSeq, msgid: 6, name: peer.name, time: legacyTime(Date.now()), toid });
          return;
        }
        default:
          return;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      if (!decoder.push(chunk, onFrame)) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (peer.id !== 0 && online.get(peer.id) === peer) online.delete(peer.id);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

// run as a program: node dist/bench/relay.js --port N
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--port');
  const port = i === -1 ? 7000 : Number(process.argv[i + 1]);
  const server = await startRelay(port);
  console.log(`relay listening on ${JSON.stringify(server.address())}`);
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // connections do not keep the relay from stopping
  process.on('SIGTERM', () => setTimeout(() => process.exit(0), 500).unref());
}
