import { CompiledQuery } from 'kysely';
import type { Db } from './db.js';
import type { Capabilities } from './capabilities.js';
import { MAX_PIECE, evenPieces, powerOfTwoPieces } from './pieces.js';

const texts = new Map<string, string>();

/**
 * Inserts many rows of the same columns with multi-row INSERT statements. The hot paths (ingest,
 * attempt records) insert thousands of rows a second: the statement text is built once per (table,
 * row count) and the values go in as a flat list, with none of the query builder's per-value work.
 * Where the backend keeps prepared statements, row counts are powers of two (see powerOfTwoPieces);
 * elsewhere as few statements as the parameter limit allows. With `returning`, resolves with those
 * columns of the inserted rows.
 */
export async function insertRows<T extends object, R = never>(
  db: Db,
  caps: Capabilities,
  table: string,
  columns: readonly (keyof T & string)[],
  rows: readonly T[],
  returning: readonly string[] = [],
): Promise<R[]> {
  const out: R[] = [];
  const fit = Math.max(1, Math.floor(caps.maxParameters / columns.length));
  const counts = caps.keepsStatements ? powerOfTwoPieces(rows.length, Math.min(MAX_PIECE, fit)) : evenPieces(rows.length, fit);
  let start = 0;
  for (const count of counts) {
    const params: unknown[] = [];
    for (let r = start; r < start + count; r++) {
      const row = rows[r] as Record<string, unknown>;
      for (const c of columns) params.push(row[c] ?? null);
    }
    start += count;
    const res = await db.executeQuery<R>(CompiledQuery.raw(statement(caps, table, columns, count, returning), params));
    for (const r of res.rows) out.push(r);
  }
  return out;
}

function statement(caps: Capabilities, table: string, columns: readonly string[], count: number, returning: readonly string[]): string {
  const key = `${caps.paramStyle}|${table}|${columns.join(',')}|${count}|${returning.join(',')}`;
  let text = texts.get(key);
  if (!text) {
    const groups: string[] = [];
    let n = 0;
    for (let r = 0; r < count; r++) {
      const ps: string[] = [];
      for (let c = 0; c < columns.length; c++) ps.push(caps.paramStyle === 'dollar' ? `$${++n}` : '?');
      groups.push(`(${ps.join(',')})`);
    }
    const back = returning.length > 0 ? ` returning ${returning.map((c) => `"${c}"`).join(',')}` : '';
    text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(',')}) values ${groups.join(',')}${back}`;
    if (texts.size > 5000) texts.clear();
    texts.set(key, text);
  }
  return text;
}
