import { CompiledQuery, type Compilable } from 'kysely';
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
 *  - on PostgreSQL (caps.arrayParameters), as one statement of one parameter, the rows as a
 *    JSON array, `insert … select … from json_to_recordset($1::json) as r(…)`: the server parses and
 *    plans it far faster than thousands of `$n`, and the client writes it with JSON.stringify (the
 *    array parameters it replaced, one per column, were escaped value by value in JavaScript: 15–20 %
 *    of ingest's rate);
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
    const res = await db.executeQuery<R>(CompiledQuery.raw(recordsetStatement(table, columns, returning), [rowsJson(rows)]));
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
 *  - On PostgreSQL (insertRowSetsIsAtomic): ONE statement, each earlier set a data-modifying
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
  const key = `sets|${used.map((s) => `${s.table}:${Object.keys(s.columns).join(',')}`).join('|')}|${returning.join(',')}`;
  let text = texts.get(key);
  if (!text) {
    const parts = used.map((set, i) => recordsetInsert(set.table, set.columns, i + 1));
    const last = parts.pop()!;
    text = `with ${parts.map((part, i) => `s${i} as (${part})`).join(', ')} ${last}${returningClause(returning)}`;
    texts.set(key, text);
  }
  const res = await db.executeQuery<R>(CompiledQuery.raw(text, used.map((set) => rowsJson(set.rows))));
  return res.rows;
}

/**
 * Runs `query` (a data-modifying statement: the write that goes with the rows) with `set`'s rows
 * inserted by the same statement, as a `with` part, where insertRowSets is atomic (PostgreSQL): one
 * round trip instead of two. Elsewhere, inserts the rows first, then runs it, in the caller's
 * transaction. Resolves with the query's rows.
 */
export async function insertRowsAlongside<R>(db: Db, caps: Capabilities, set: RowSet, query: Compilable<R>): Promise<R[]> {
  const compiled = query.compile();
  if (set.rows.length === 0 || !insertRowSetsIsAtomic(caps)) {
    await insertRows<Record<string, unknown>>(db, caps, set.table, set.columns, set.rows as Record<string, unknown>[]);
    return (await db.executeQuery(compiled)).rows;
  }
  const text = `with s as (${recordsetInsert(set.table, set.columns, compiled.parameters.length + 1)}) ${compiled.sql}`;
  const res = await db.executeQuery<R>(CompiledQuery.raw(text, [...compiled.parameters, rowsJson(set.rows)]) as CompiledQuery<R>);
  return res.rows;
}

function returningClause(returning: readonly string[]): string {
  return returning.length > 0 ? ` returning ${returning.map((c) => `"${c}"`).join(',')}` : '';
}

function recordsetStatement(table: string, columns: Readonly<Record<string, ColumnType | undefined>>, returning: readonly string[]): string {
  const key = `recordset|${table}|${Object.keys(columns).join(',')}|${returning.join(',')}`;
  let text = texts.get(key);
  if (!text) {
    text = recordsetInsert(table, columns, 1) + returningClause(returning);
    texts.set(key, text);
  }
  return text;
}

/**
 * `insert into table (…) select … from json_to_recordset($n::json) as r(…)`: the rows of parameter n,
 * a JSON array of objects, each column read from the property of its name (absent or null: NULL).
 */
function recordsetInsert(table: string, columns: Readonly<Record<string, ColumnType | undefined>>, param: number): string {
  const names = Object.keys(columns);
  const list = names.map((c) => `"${c}"`).join(',');
  return `insert into "${table}" (${list}) select ${list} from json_to_recordset($${param}::json) as r(${names.map((c) => `"${c}" ${columns[c]!}`).join(',')})`;
}

/** An escaped lone surrogate (`\udxxx`), not itself the text after an escaped backslash. */
const LONE_SURROGATE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/**
 * The rows as JSON for json_to_recordset. JSON.stringify writes a lone UTF-16 surrogate (possible in
 * any string the API parsed) as an escape PostgreSQL refuses to turn into text; it becomes U+FFFD, as
 * it did in the array parameters this replaced (SQLite keeps the surrogate's three bytes).
 */
function rowsJson(rows: readonly object[]): string {
  const json = JSON.stringify(rows);
  return json.includes('\\ud') ? json.replace(LONE_SURROGATE, '$1\\ufffd') : json;
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
