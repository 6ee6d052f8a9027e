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

/** Whether insertRowSets writes its rows in one statement, atomic without a transaction. */
export function insertRowSetsIsAtomic(caps: Capabilities): boolean {
  return caps.arrayParameters;
}

/** One table's rows for insertRowSets. */
export interface RowSet {
  table: string;
  columns: Columns<Record<string, unknown>>;
  rows: readonly object[];
}

/**
 * Inserts rows into several tables, in order; with `returning`, resolves with those columns of the
 * last set's rows.
 *  - Where the backend takes arrays (PostgreSQL): ONE statement, each earlier set a data-modifying
 *    `with` part of the last set's insert. A statement is atomic by itself, so a caller that needs
 *    nothing else in the transaction can run it with none: one round trip instead of begin, an
 *    insert per table and commit.
 *  - Elsewhere: insertRows for each set, in the caller's transaction.
 * Sets without rows are left out.
 */
export async function insertRowSets<R = never>(db: Db, caps: Capabilities, sets: readonly RowSet[], returning: readonly string[] = []): Promise<R[]> {
  const used = sets.filter((s) => s.rows.length > 0);
  if (used.length === 0) return [];
  if (!insertRowSetsIsAtomic(caps) || used.length === 1) {
    let out: R[] = [];
    for (const [i, set] of used.entries()) {
      const rows = await insertRows<Record<string, unknown>, R>(db, caps, set.table, set.columns, set.rows as Record<string, unknown>[], i === used.length - 1 ? returning : []);
      if (i === used.length - 1) out = rows;
    }
    return out;
  }
  const params: unknown[][] = [];
  const parts = used.map((set) => {
    const names = Object.keys(set.columns);
    const offset = params.length;
    for (const c of names) params.push(set.rows.map((row) => (row as Record<string, unknown>)[c] ?? null));
    return unnestInsert(set.table, set.columns, offset);
  });
  const key = `sets|${used.map((s) => `${s.table}:${Object.keys(s.columns).join(',')}`).join('|')}|${returning.join(',')}`;
  let text = texts.get(key);
  if (!text) {
    const last = parts.pop()!;
    text = `with ${parts.map((part, i) => `s${i} as (${part})`).join(', ')} ${last}${returningClause(returning)}`;
    texts.set(key, text);
  }
  const res = await db.executeQuery<R>(CompiledQuery.raw(text, params));
  return res.rows;
}

function returningClause(returning: readonly string[]): string {
  return returning.length > 0 ? ` returning ${returning.map((c) => `"${c}"`).join(',')}` : '';
}

function unnestStatement(table: string, columns: Readonly<Record<string, ColumnType | undefined>>, returning: readonly string[]): string {
  const key = `unnest|${table}|${Object.keys(columns).join(',')}|${returning.join(',')}`;
  let text = texts.get(key);
  if (!text) {
    text = unnestInsert(table, columns, 0) + returningClause(returning);
    texts.set(key, text);
  }
  return text;
}

/** `insert into table (…) select * from unnest($n::type[], …)`, its arrays numbered from offset + 1. */
function unnestInsert(table: string, columns: Readonly<Record<string, ColumnType | undefined>>, offset: number): string {
  const names = Object.keys(columns);
  const arrays = names.map((c, i) => `$${offset + i + 1}::${columns[c]!}[]`);
  return `insert into "${table}" (${names.map((c) => `"${c}"`).join(',')}) select * from unnest(${arrays.join(',')})`;
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
