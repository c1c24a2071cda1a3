import { createHash } from 'node:crypto';
import type { RedisClient } from './connection.js';

/** A Lua script run by EVALSHA, falling back to EVAL once when the server lacks it (NOSCRIPT). */
export class LuaScript {
  readonly #lua: string;
  readonly #sha: string;

  constructor(lua: string) {
    this.#lua = lua;
    this.#sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: RedisClient, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await redis.eval(this.#lua, keys.length, ...keys, ...args);
    }
  }
}
