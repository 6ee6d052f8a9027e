import { CompiledQuery } from 'kysely';
import type { Db } from './db.js';
import type { Capabilities } from './capabilities.js';
import { MAX_PIECE, powerOfTwoPieces } from './pieces.js';

/** Column types, as PostgreSQL names them, of the columns a bulk insert writes. */
export type ColumnType = 'text' | 'integer' | 'bigint';
export type Columns<T> = { readonly [K in keyof T & string]?: ColumnType };

const texts = new Map<string, string>();

/**
 * Inserts many rows of the same columns. The hot paths (ingest, attempt records) insert thousands of
 * rows a second, so the statement text is built once per shape and the values go in with none of the
 * query builder's per-value work:
 *  - where the backend takes arrays (PostgreSQL), as one statement of one array per column,
 *    `insert … select * from unnest($1::text[], …)`: a handful of parameters however many rows,
 *    which the server parses and plans far faster than thousands of `$n`;
 *  - elsewhere (SQLite), as multi-row `values` statements of power-of-two row counts, so that the
 *    prepared statements kept are few (see powerOfTwoPieces).
 * With `returning`, resolves with those columns of the inserted rows.
 */
export async function insertRows<T extends object, R = never>(
  db: Db,
  caps: Capabilities,
  table: string,
  columns: Columns<T>,
  rows: readonly T[],
  returning: readonly string[] = [],
): Promise<R[]> {
  if (rows.length === 0) return [];
  const names = Object.keys(columns) as (keyof T & string)[];
  if (caps.arrayParameters) {
    const arrays = names.map((c) => rows.map((row) => row[c] ?? null));
    const res = await db.executeQuery<R>(CompiledQuery.raw(unnestStatement(table, columns, returning), arrays));
    return res.rows;
  }
  const out: R[] = [];
  const fit = Math.max(1, Math.floor(caps.maxParameters / names.length));
  let start = 0;
  for (const count of powerOfTwoPieces(rows.length, Math.min(MAX_PIECE, fit))) {
    const params: unknown[] = [];
    for (let r = start; r < start + count; r++) {
      const row = rows[r] as Record<string, unknown>;
      for (const c of names) params.push(row[c] ?? null);
    }
    start += count;
    const res = await db.executeQuery<R>(CompiledQuery.raw(valuesStatement(table, names, count, returning), params));
    for (const r of res.rows) out.push(r);
  }
  return out;
}

function returningClause(returning: readonly string[]): string {
  return returning.length > 0 ? ` returning ${returning.map((c) => `"${c}"`).join(',')}` : '';
}

function unnestStatement(table: string, columns: Readonly<Record<string, ColumnType | undefined>>, returning: readonly string[]): string {
  const names = Object.keys(columns);
  const key = `unnest|${table}|${names.join(',')}|${returning.join(',')}`;
  let text = texts.get(key);
  if (!text) {
    const arrays = names.map((c, i) => `$${i + 1}::${columns[c]!}[]`);
    text = `insert into "${table}" (${names.map((c) => `"${c}"`).join(',')}) select * from unnest(${arrays.join(',')})${returningClause(returning)}`;
    texts.set(key, text);
  }
  return text;
}

function valuesStatement(table: string, columns: readonly string[], count: number, returning: readonly string[]): string {
  const key = `values|${table}|${columns.join(',')}|${count}|${returning.join(',')}`;
  let text = texts.get(key);
  if (!text) {
    const row = `(${columns.map(() => '?').join(',')})`;
    text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(',')}) values ${Array.from({ length: count }, () => row).join(',')}${returningClause(returning)}`;
    if (texts.size > 5000) texts.clear();
    texts.set(key, text);
  }
  return text;
}
