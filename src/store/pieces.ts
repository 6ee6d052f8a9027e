import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Capabilities } from './capabilities.js';

/**
 * The most rows (or list items) one hot-path statement is built for: a larger batch takes several.
 * It bounds the size of the statement programs SQLite keeps prepared.
 */
export const MAX_PIECE = 256;

function floorPow2(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/**
 * Splits a count into powers of two, largest first (165 → 128, 32, 4, 1), none above `max`.
 * Multi-row statements then come in a handful of sizes, so their texts repeat and their prepared
 * forms are reused: one text per batch size would prepare (and keep) a new program for each.
 */
export function powerOfTwoPieces(n: number, max = MAX_PIECE): number[] {
  const top = floorPow2(Math.max(1, max));
  const out: number[] = [];
  let left = n;
  while (left >= top) {
    out.push(top);
    left -= top;
  }
  for (let p = top / 2; p >= 1; p /= 2) {
    if (left >= p) {
      out.push(p);
      left -= p;
    }
  }
  return out;
}

/**
 * Splits a list for `IN (…)` conditions into pieces of at most `max` (rounded down to a power of
 * two) without repeats, each padded to a power-of-two length by repeating its last item: a repeated
 * value changes nothing in an IN list, and the statement texts repeat (see powerOfTwoPieces).
 */
export function inLists<T>(items: readonly T[], max = MAX_PIECE): T[][] {
  const size = floorPow2(Math.max(1, max));
  const distinct = [...new Set(items)];
  const out: T[][] = [];
  for (let i = 0; i < distinct.length; i += size) {
    const piece = distinct.slice(i, i + size);
    const want = 2 ** Math.ceil(Math.log2(piece.length));
    const last = piece[piece.length - 1]!;
    while (piece.length < want) piece.push(last);
    out.push(piece);
  }
  return out;
}

/**
 * `column IN (items)` as the conditions of the statements to run, one statement each. Where the
 * backend takes array parameters (PostgreSQL): one condition, `column = any($1)`, whatever the
 * count. Elsewhere: padded IN lists of at most MAX_PIECE (see inLists).
 */
export function inConditions(column: string, items: readonly unknown[], caps: Capabilities): RawBuilder<SqlBool>[] {
  if (items.length === 0) return [];
  if (caps.arrayParameters) return [sql<SqlBool>`${sql.ref(column)} = any(${[...new Set(items)]})`];
  return inLists(items).map((list) => sql<SqlBool>`${sql.ref(column)} in (${sql.join(list)})`);
}

/**
 * How far past the page a list's total is counted: an exact total of a million rows would read them
 * all on every page. Beyond it the total is a lower bound (`exact` false).
 */
export const COUNT_AHEAD = 10_000;
