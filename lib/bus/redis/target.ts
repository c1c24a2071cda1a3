/**
 * What `--redis` names: one Redis (`redis://host:port`, any URL ioredis takes) or a Redis Cluster
 * (`redis+cluster://host:port,host:port,...`: a few of its nodes, from which the client learns
 * the rest and follows failovers).
 */
export type RedisTarget = { kind: 'single'; url: string } | { kind: 'cluster'; nodes: Array<{ host: string; port: number }> };

export const CLUSTER_SCHEME = 'redis+cluster://';

export function parseRedisTarget(url: string): RedisTarget {
  if (!url.startsWith(CLUSTER_SCHEME)) return { kind: 'single', url };
  const nodes = url
    .slice(CLUSTER_SCHEME.length)
    .replace(/\/$/, '')
    .split(',')
    .map((hostPort) => {
      const m = /^([^:/,]+):(\d{1,5})$/.exec(hostPort);
      if (!m || Number(m[2]) > 65535) throw new Error(`--redis: a Redis Cluster is ${CLUSTER_SCHEME}host:port[,host:port...] (not ${JSON.stringify(url)}: "${hostPort}" is not host:port)`);
      return { host: m[1]!, port: Number(m[2]) };
    });
  return { kind: 'cluster', nodes };
}
