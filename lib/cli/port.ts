/**
 * A start on a port another process holds fails before the server opens its store (so no
 * --db file is left behind) and with one line naming the port, not a logged stack.
 */
import net from 'node:net';

/** binds host:port and lets it go again; rejects with a readable message if it cannot */
export function checkPortFree(port: number, host: string, flag: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is in use by another process' : `cannot be bound (${err.code ?? err.message})`;
      reject(new Error(`${flag} ${port}: ${host}:${port} ${why}`));
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
