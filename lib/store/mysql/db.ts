/**
 * Small typed helpers over mysql2/promise shared by the MySQL store and its commit batch, and
 * the query timeout. mysql2's own `timeout` only fails the query's promise: the connection
 * stays as it was, its late answer still to come (or, on a stalled server, never), and a pool
 * would hand it out again with a half-done transaction on it. So a connection whose query timed
 * out is destroyed here, and the wait for a pooled connection has the same deadline.
 */
import type { Connection, Pool, PoolConnection, QueryResult, QueryValues, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

export const ER_DUP_ENTRY = 1062;
export const ER_LOCK_WAIT_TIMEOUT = 1205;
export const ER_LOCK_DEADLOCK = 1213;

/** mysql2's code for a query past its `timeout` */
const QUERY_TIMEOUT = 'PROTOCOL_SEQUENCE_TIMEOUT';

/** what statements run on: one connection, or the pool (a connection per statement) */
export interface Queryable {
  query<T extends QueryResult>(sql: string, values?: QueryValues): Promise<T>;
}

export async function select<T>(c: Queryable, sql: string, values: QueryValues = []): Promise<T[]> {
  return c.query<(T & RowDataPacket)[]>(sql, values);
}

export async function run(c: Queryable, sql: string, values: QueryValues = []): Promise<ResultSetHeader> {
  return c.query<ResultSetHeader>(sql, values);
}

/**
 * Statements sent together, in one round trip (the pool is made with `multipleStatements`;
 * every value is still escaped by the driver). The server runs them in order and stops at the
 * first error, which rejects the whole send.
 */
export class Statements {
  readonly #sql: string[] = [];
  readonly #values: unknown[] = [];

  /** queues a statement; its result is at the returned index of send()'s array */
  add(sql: string, values: unknown[] = []): number {
    this.#sql.push(sql);
    for (const v of values) this.#values.push(v);
    return this.#sql.length - 1;
  }

  get length(): number {
    return this.#sql.length;
  }

  async send(c: Queryable): Promise<Array<ResultSetHeader | RowDataPacket[]>> {
    if (this.#sql.length === 0) return [];
    const result = await c.query<QueryResult>(this.#sql.join(';\n'), this.#values as QueryValues);
    return (this.#sql.length === 1 ? [result] : result) as Array<ResultSetHeader | RowDataPacket[]>;
  }
}

/** one connection whose every query fails after `timeoutMs` (0: never) */
export class TimedConnection<C extends Connection = PoolConnection> implements Queryable {
  readonly conn: C;
  readonly #timeoutMs: number;
  readonly #onQuery: (() => void) | undefined;
  #destroyed = false;

  /** `onQuery`: called for every query sent (a round trip) */
  constructor(conn: C, timeoutMs: number, onQuery?: () => void) {
    this.conn = conn;
    this.#timeoutMs = timeoutMs;
    this.#onQuery = onQuery;
  }

  async query<T extends QueryResult>(sql: string, values: QueryValues = []): Promise<T> {
    this.#onQuery?.();
    try {
      const [result] = await this.conn.query<T>(this.#timeoutMs > 0 ? { sql, values, timeout: this.#timeoutMs } : { sql, values });
      return result;
    } catch (err) {
      if (code(err) === QUERY_TIMEOUT) this.destroy();
      throw err;
    }
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * closes the connection; a pool forgets it. (A stalled server keeps the half-closed socket
   * until it wakes up: at most one per connection that was open when it stalled, since no new
   * one gets past its handshake meanwhile.)
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.conn.destroy();
  }
}

/** a pool whose connections are TimedConnections, waited for at most `timeoutMs` (0: no limit) */
export class TimedPool implements Queryable {
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  /** queries sent on the pool's connections so far: one round trip each, however many statements */
  roundTrips = 0;
  readonly #count = () => {
    this.roundTrips++;
  };

  constructor(pool: Pool, timeoutMs: number) {
    this.#pool = pool;
    this.#timeoutMs = timeoutMs;
  }

  /** a connection of the pool; give it back with release() */
  async connection(): Promise<TimedConnection> {
    const pending = this.#pool.getConnection();
    const conn = this.#timeoutMs > 0 ? await this.#within(pending) : await pending;
    return new TimedConnection(conn, this.#timeoutMs, this.#count);
  }

  /** back to the pool, unless a timeout destroyed it */
  release(c: TimedConnection): void {
    if (!c.destroyed) c.conn.release();
  }

  async query<T extends QueryResult>(sql: string, values: QueryValues = []): Promise<T> {
    const c = await this.connection();
    try {
      return await c.query<T>(sql, values);
    } finally {
      this.release(c);
    }
  }

  end(): Promise<void> {
    return this.#pool.end();
  }

  /** the connection, or a timeout error after timeoutMs; one that comes later goes back to the pool */
  async #within(pending: Promise<PoolConnection>): Promise<PoolConnection> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(Object.assign(new Error(`no pooled MySQL connection within ${this.#timeoutMs} ms`), { code: QUERY_TIMEOUT }));
        pending.then(
          (c) => c.release(),
          () => undefined,
        );
      }, this.#timeoutMs);
    });
    try {
      return await Promise.race([pending, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function code(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}

export function errno(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('errno' in err)) return undefined;
  return typeof err.errno === 'number' ? err.errno : undefined;
}

/** `(a = ? AND b = ?) OR ...` for n pairs: the SQL shape only, values stay bound */
/**
 * `(a = ? AND b IN (?, ...)) OR ...` with one term per distinct `a`: far fewer terms than one
 * per pair when many `b`s share an `a` (the members of one group)
 */
export function groupedWhere(a: string, b: string, pairs: Array<[string, number]>): { sql: string; params: Array<string | number> } {
  const groups = new Map<string, Set<number>>();
  for (const [x, y] of pairs) {
    let set = groups.get(x);
    if (!set) groups.set(x, (set = new Set()));
    set.add(y);
  }
  const terms: string[] = [];
  const params: Array<string | number> = [];
  for (const [x, ys] of groups) {
    terms.push(`(${a} = ? AND ${b} IN (${Array.from(ys, () => '?').join(', ')}))`);
    params.push(x, ...ys);
  }
  return { sql: terms.join(' OR '), params };
}

export function pairsWhere(a: string, b: string, n: number): string {
  return Array.from({ length: n }, () => `(${a} = ? AND ${b} = ?)`).join(' OR ');
}
