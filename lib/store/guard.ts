/**
 * Marks what fails below the server as a storage failure: every promise-returning method of
 * the wrapped object (a Store, or Presence in Redis) rejects with a `StorageError` carrying the
 * original as its cause. The server answers those with errno 114 ("try again") and anything
 * else, a bug, with errno 128, so operators can tell an outage from a defect.
 */
import { StorageError } from '../errors.js';

export function guardAsync<T extends object>(target: T, what: string): T {
  const guarded = Object.create(null) as Record<string | symbol, unknown>;
  let proto: object | null = target;
  while (proto && proto !== Object.prototype) {
    for (const key of Reflect.ownKeys(proto)) {
      if (key === 'constructor' || key in guarded) continue;
      const desc = Reflect.getOwnPropertyDescriptor(proto, key);
      if (!desc) continue;
      if (typeof desc.value === 'function') {
        const fn = desc.value as (...args: unknown[]) => unknown;
        guarded[key] = (...args: unknown[]) => {
          let out: unknown;
          try {
            out = fn.apply(target, args);
          } catch (err) {
            throw new StorageError(what, err);
          }
          if (out instanceof Promise) return out.catch((err: unknown) => Promise.reject(new StorageError(what, err)));
          return out;
        };
      } else {
        // fields and getters (nodeId, healthy): read through to the target
        Object.defineProperty(guarded, key, { get: () => (target as Record<string | symbol, unknown>)[key], enumerable: true });
      }
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return guarded as T;
}
