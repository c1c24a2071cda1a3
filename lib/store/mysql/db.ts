/** Small typed helpers over mysql2/promise shared by the MySQL store and its commit batch. */
import type { Connection, Pool, PoolConnection, QueryValues, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

export type Queryable = Pool | PoolConnection | Connection;

export const ER_DUP_ENTRY = 1062;
export const ER_LOCK_WAIT_TIMEOUT = 1205;
export const ER_LOCK_DEADLOCK = 1213;

export async function select<T>(c: Queryable, sql: string, values: QueryValues = []): Promise<T[]> {
  const [rows] = await c.query<(T & RowDataPacket)[]>(sql, values);
  return rows;
}

export async function run(c: Queryable, sql: string, values: QueryValues = []): Promise<ResultSetHeader> {
  const [result] = await c.query<ResultSetHeader>(sql, values);
  return result;
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
