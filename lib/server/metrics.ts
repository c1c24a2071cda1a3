/**
 * The operator's endpoint (--metrics-port): Prometheus text at /metrics, liveness at /healthz,
 * readiness (store and bus reachable) at /readyz.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Hub } from '../core/hub.js';
import { UNKNOWN_MSGID } from '../core/stats.js';
import type { ChatServer } from './server.js';

function fromMap(counter: Counter<string>, label: string, map: Map<number | string, number>): void {
  counter.reset();
  for (const [k, v] of map) counter.inc({ [label]: k === UNKNOWN_MSGID ? 'unknown' : String(k) }, v);
}

function fromNumber(counter: Counter<string>, n: number): void {
  counter.reset();
  counter.inc(n);
}

export function buildRegistry(hub: Hub, server: ChatServer): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'chat_' });
  new Gauge({
    name: 'chat_connections',
    help: 'open client connections',
    registers: [registry],
    collect() {
      this.set(server.connectionCount);
    },
  });
  new Gauge({
    name: 'chat_connections_by_transport',
    help: 'open client connections by transport: tcp (TCP and TLS) or ws (WebSocket, --ws-port)',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      for (const transport of ['tcp', 'ws'] as const) this.set({ transport }, server.connectionsOf(transport));
    },
  });
  new Gauge({
    name: 'chat_sessions',
    help: 'logged-in sessions on this process',
    registers: [registry],
    collect() {
      this.set(hub.sessionCount);
    },
  });
  new Gauge({
    name: 'chat_outgoing_queue_bytes',
    help: 'bytes queued to client sockets',
    registers: [registry],
    collect() {
      this.set(server.queuedBytes);
    },
  });
  new Gauge({
    name: 'chat_commit_queue',
    help: 'store ops waiting for the next commit',
    registers: [registry],
    collect() {
      this.set(hub.batcher.queued);
    },
  });
  new Counter({
    name: 'chat_commit_queue_refused_total',
    help: 'store writes refused at once (errno 114) because the commit queue was full',
    registers: [registry],
    collect() {
      fromNumber(this, hub.batcher.refused);
    },
  });
  new Counter({
    name: 'chat_frames_in_total',
    help: 'frames received, by msgid (-1: unparsable or no msgid; unknown: a number that is no msgid)',
    labelNames: ['msgid'],
    registers: [registry],
    collect() {
      fromMap(this, 'msgid', hub.stats.framesIn);
    },
  });
  new Counter({
    name: 'chat_frames_out_total',
    help: 'frames sent, by msgid',
    labelNames: ['msgid'],
    registers: [registry],
    collect() {
      fromMap(this, 'msgid', hub.stats.framesOut);
    },
  });
  new Counter({
    name: 'chat_internal_errors_total',
    help: 'requests that failed on a server defect (errno 128), not on an outage; both flavours',
    registers: [registry],
    collect() {
      fromNumber(this, hub.stats.internalErrors);
    },
  });
  new Counter({
    name: 'chat_error_replies_total',
    help: 'replies with a non-zero errno, by errno',
    labelNames: ['errno'],
    registers: [registry],
    collect() {
      fromMap(this, 'errno', hub.stats.errors);
    },
  });
  new Counter({
    name: 'chat_auth_refused_total',
    help: 'logins and registrations refused by an attempt budget before any password work, by budget',
    labelNames: ['limit'],
    registers: [registry],
    collect() {
      fromMap(this, 'limit', hub.stats.authRefused);
    },
  });
  const batchSize = new Histogram({
    name: 'chat_commit_batch_ops',
    help: 'store ops per commit (group commit per event-loop tick)',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000],
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'chat_commit_seconds',
    help: 'time of one store commit',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  hub.onBatch = (size, ms) => {
    batchSize.observe(size);
    batchSeconds.observe(ms / 1000);
  };
  const publishSeconds = new Histogram({
    name: 'chat_bus_publish_seconds',
    help: 'time from a commit to its publish to other processes (cluster)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
    registers: [registry],
  });
  hub.onPublish = (ms) => publishSeconds.observe(ms / 1000);
  return registry;
}

async function ready(hub: Hub): Promise<{ ok: boolean; store: boolean; bus: boolean }> {
  const store = await hub.store.lastSeq('p:0:0').then(
    () => true,
    () => false,
  );
  const bus = hub.bus.healthy;
  return { ok: store && bus, store, bus };
}

export interface MetricsServer {
  address: AddressInfo;
  close(): Promise<void>;
}

export async function startMetrics(hub: Hub, server: ChatServer, port: number, host: string): Promise<MetricsServer> {
  const registry = buildRegistry(hub, server);
  const http_ = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      void ready(hub).then((r) =>
        res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r) + '\n'),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    http_.once('error', reject);
    http_.listen(port, host, () => resolve());
  });
  return {
    address: http_.address() as AddressInfo,
    close: () => new Promise((resolve) => http_.close(() => resolve())),
  };
}
