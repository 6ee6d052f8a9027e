import type { Db } from './db.js';

/**
 * Runs the reads of `fn` against one snapshot of the database, so that a page of a list and the
 * list's total describe the same moment. Two statements on two pooled connections (or with a commit
 * between them) can disagree: a notice recorded in between shows in the total and not in the rows.
 * PostgreSQL: a repeatable-read transaction; SQLite (which takes no isolation level): a transaction,
 * whose snapshot is fixed by its first read in WAL mode.
 *
 * @example
 * const { rows, total } = await inSnapshot(db, async (trx) => ({ rows: await page(trx), total: await count(trx) }));
 */
export function inSnapshot<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.transaction().setIsolationLevel('repeatable read').execute(fn);
}
