import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';

/** Pages copied per step of a backup (16 MiB of 4 KiB pages): progress is reported between steps. */
const PAGES_PER_STEP = 4096;

/**
 * Backs up the database of `databaseUrl` (see backupSqlite). PostgreSQL has its own tool for a
 * consistent copy of a live database: the error says how to call pg_dump for this URL.
 */
export async function backupDatabase(databaseUrl: string, target: string, onProgress?: (done: number, total: number) => void): Promise<BackupResult> {
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length);
    if (path === '' || path === ':memory:') throw new Error('an in-memory database has nothing to back up');
    return backupSqlite(path, target, onProgress);
  }
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  url.password = '';
  throw new Error(
    `backup copies SQLite databases; back up PostgreSQL with pg_dump, e.g. ` +
      `pg_dump --format=custom${schema ? ` --schema=${schema}` : ''} --file=${target} '${url.toString()}' (see README, Operations)`,
  );
}

export interface BackupResult {
  file: string;
  pages: number;
  bytes: number;
}

/**
 * Copies the SQLite database `source` into the new file `target` with SQLite's backup API, while a
 * relay may go on serving it: through a connection of its own, holding one read transaction from
 * start to end, so the copy is the database as it was when the backup began (every event
 * acknowledged before then), however much is written meanwhile. Without that transaction, SQLite
 * starts a backup over whenever another process writes between two of its steps, which under
 * steady ingest could be forever. Meanwhile the write-ahead log cannot be copied past that moment,
 * so it grows until the backup ends.
 * The copy is written as `<target>.partial` and renamed when complete: a file named `target` is
 * always a whole backup. `onProgress` hears the pages done after each step.
 * @example
 * const { pages, bytes } = await backupSqlite('./data/relay.db', '/backups/relay-2026-12-01.db');
 */
export async function backupSqlite(source: string, target: string, onProgress?: (done: number, total: number) => void): Promise<BackupResult> {
  const from = resolve(source);
  const to = resolve(target);
  if (to === from) throw new Error(`the backup file ${to} is the database itself`);
  if (existsSync(to)) throw new Error(`${to} exists already: give the backup a new file name`);
  if (!existsSync(from)) throw new Error(`no database at ${from}`);
  const partial = `${to}.partial`;
  const db = new SqliteDatabase(from, { fileMustExist: true, timeout: 5000 });
  try {
    db.exec('begin');
    // A deferred transaction reads its snapshot at its first read.
    db.prepare('select count(*) from sqlite_schema').get();
    rmSync(partial, { force: true });
    const { totalPages } = await db.backup(partial, {
      progress: ({ totalPages: total, remainingPages }) => {
        onProgress?.(total - remainingPages, total);
        return PAGES_PER_STEP;
      },
    });
    db.exec('commit');
    onProgress?.(totalPages, totalPages);
    renameSync(partial, to);
    return { file: to, pages: totalPages, bytes: statSync(to).size };
  } catch (err) {
    rmSync(partial, { force: true });
    rmSync(`${partial}-journal`, { force: true });
    throw err;
  } finally {
    db.close();
  }
}
