/**
 * What end-to-end encryption costs a client (lib/client/e2e.ts, WebCrypto): sealing a message
 * for two devices with the derived keys cached, opening one copy, opening with a fresh key
 * derivation (a sender device met for the first time), and the envelope's size.
 *
 *   node dist/bench/e2e.js [--chars 100] [--n 5000]
 */
import { loadIdentity, newIdentity, Sealer } from '../lib/client/e2e.js';
import { runIfMain } from './util.js';

async function perOp(n: number, op: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  return ((performance.now() - t0) / n) * 1000;
}

async function main(): Promise<void> {
  const arg = (k: string, d: number) => {
    const i = process.argv.indexOf(k);
    return i === -1 ? d : Number(process.argv[i + 1]);
  };
  const chars = arg('--chars', 100);
  const n = arg('--n', 5000);
  const [sa, sb] = await Promise.all([newIdentity(), newIdentity()]);
  const [ia, ib] = await Promise.all([loadIdentity(sa), loadIdentity(sb)]);
  const a = new Sealer(ia, 1);
  const b = new Sealer(ib, 2);
  const keys = [
    { userId: 1, device: sa.device, key: sa.publicKey },
    { userId: 2, device: sb.device, key: sb.publicKey },
  ];
  const text = 'x'.repeat(chars);
  const env = await a.seal('p:1:2', text, keys);
  const copy = b.copyFor(env)!;
  await perOp(200, () => a.seal('p:1:2', text, keys));
  const seal = await perOp(n, () => a.seal('p:1:2', text, keys));
  const open = await perOp(n, () => b.open('p:1:2', env, 1, sa.publicKey, copy));
  const cold = await perOp(Math.max(1, n / 10), () => new Sealer(ib, 2).open('p:1:2', env, 1, sa.publicKey, copy));
  console.log(
    `${chars} characters, 2 devices: seal ${seal.toFixed(0)} us, open ${open.toFixed(0)} us, open with a fresh key derivation ${cold.toFixed(0)} us; envelope ${JSON.stringify(env).length} bytes`,
  );
}

runIfMain(import.meta.url, main);
