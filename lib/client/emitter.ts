/**
 * A small typed event emitter that runs in Node and in a browser (node:events does not load in
 * a browser). As with Node's, an 'error' event nobody listens to is thrown.
 */
type Listener<A extends unknown[]> = (...args: A) => void;
/** listeners are stored untyped; on() and emit() keep each event's types */
type AnyListener = (...args: unknown[]) => void;

export class Emitter<E extends { [K in keyof E]: unknown[] }> {
  readonly #listeners = new Map<keyof E, AnyListener[]>();

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const list = this.#listeners.get(event) ?? [];
    list.push(fn as unknown as AnyListener);
    this.#listeners.set(event, list);
    return this;
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const wrapped: Listener<E[K]> = (...args) => {
      this.off(event, wrapped);
      fn(...args);
    };
    return this.on(event, wrapped);
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const list = this.#listeners.get(event);
    const i = list ? list.indexOf(fn as unknown as AnyListener) : -1;
    if (i !== -1) list!.splice(i, 1);
    return this;
  }

  emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) {
      if (event === 'error') throw args[0] instanceof Error ? args[0] : new Error(`unhandled error event: ${String(args[0])}`);
      return false;
    }
    for (const fn of [...list]) fn(...args);
    return true;
  }
}
