import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The text of `sql/<file>`. The stores run both from lib/store/<kind>/ (sources) and from
 * dist/lib/store/<kind>/ (built), so walk up from this module to the directory holding sql/.
 */
export function readSchema(file: 'sqlite.sql' | 'mysql.sql'): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'sql', file);
    if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`schema file sql/${file} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Splits a schema file into statements: each ends with `;` at the end of a line. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

/**
 * Columns and indexes added after the first release: a fresh database gets them from sql/, an
 * older one from here (each store's migrate() adds what is missing, so it stays idempotent).
 */
export const ADDED_COLUMNS = [
  /** a chat event that disappears: when, ms since the epoch (NULL once expired or recalled) */
  { table: 'event', column: 'expires_at', sqlite: 'INTEGER NULL', mysql: 'BIGINT NULL' },
  /** the conversation's disappearing-messages timer in seconds, 0: off */
  { table: 'conversation', column: 'ttl', sqlite: 'INTEGER NOT NULL DEFAULT 0', mysql: 'INT NOT NULL DEFAULT 0' },
] as const;

/** the expiry sweeper reads due events by expires_at */
export const EXPIRY_INDEX = { table: 'event', name: 'event_expiry', column: 'expires_at' } as const;
