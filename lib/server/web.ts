/**
 * The WebSocket port (--ws-port): HTTP (HTTPS when TLS is configured) that serves the browser
 * client's files on GET (lib/server/web-files.ts) and upgrades `/ws` to a WebSocket speaking
 * the chat protocol.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ServerOptions } from '../config.js';
import { loadWebFiles } from './web-files.js';

/** where the WebSocket is; any other path is refused */
export const WS_PATH = '/ws';

export function createWebServer(opts: ServerOptions, onWebSocket: (ws: WebSocket, socket: net.Socket) => void): http.Server | https.Server {
  const files = loadWebFiles();
  // a message over --max-frame bytes is refused by ws itself as its header comes in (close 1009)
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrame, perMessageDeflate: false });
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const file = files.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': file.type,
      'content-length': file.body.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'self'; connect-src 'self' ws: wss:",
    });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };
  const { tlsCert, tlsKey } = opts;
  const server =
    tlsCert && tlsKey
      ? https.createServer({ cert: readFileSync(tlsCert), key: readFileSync(tlsKey), handshakeTimeout: opts.tlsHandshakeTimeoutMs }, onRequest)
      : http.createServer(onRequest);
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onWebSocket(ws, socket));
  });
  return server;
}
