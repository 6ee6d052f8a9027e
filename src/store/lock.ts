import { hostname } from 'node:os';
import SqliteDatabase from 'better-sqlite3';

/** Another process holds the SQLite database (see lockSqliteFile). */
export class DatabaseInUseError extends Error {}

/**
 * Takes the SQLite database `file` for this process alone, until the returned function is called;
 * throws DatabaseInUseError, naming the file, when another process has it. SQLite serves one
 * callback-relay process: claims cannot skip another process's locked rows, a restarted process
 * takes every earlier lease back, and the scheduler holds no lock across processes.
 *
 * The lock is SQLite's own write lock on a small database beside the real one, `<file>.lock`, taken
 * at once or not at all and held by a connection open as long as the process is. SQLite takes it as
 * an OS file lock (fcntl), which the kernel lets go when the process ends, however it ends: a
 * `kill -9` leaves no stale lock to detect, and a pid reused by another program cannot keep one
 * alive, as with a pid file. (Not on the database file itself: an exclusive locking mode there also
 * shuts out this process's own checkpoint thread and `backup`'s connection.) The holder's pid, host
 * and start time are written in it for the refusal's message only.
 * Like SQLite itself, this needs a file system with working locks (not every network one).
 */
export function lockSqliteFile(file: string): () => void {
  const lockFile = `${file}.lock`;
  let db: SqliteDatabase.Database;
  try {
    // timeout 0: a held lock answers SQLITE_BUSY at once rather than after waiting for it.
    db = new SqliteDatabase(lockFile, { timeout: 0 });
  } catch (err) {
    throw new Error(`cannot open the lock file ${lockFile}: ${(err as Error).message}`);
  }
  try {
    db.exec('begin immediate');
    db.exec('create table if not exists holder (pid integer not null, host text not null, started_at text not null)');
    db.exec('delete from holder');
    db.prepare('insert into holder (pid, host, started_at) values (?, ?, ?)').run(process.pid, hostname(), new Date().toISOString());
    db.exec('commit');
    // Held from here on. Another process may have come in between the two (then this one refuses).
    db.exec('begin immediate');
  } catch (err) {
    const holder = readHolder(db);
    db.close();
    if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw new Error(`cannot lock ${lockFile}: ${(err as Error).message}`);
    throw new DatabaseInUseError(
      `another process${holder ? ` (${holder})` : ''} is using the SQLite database ${file} (it holds ${lockFile}); ` +
        'SQLite serves one callback-relay process at a time: stop that one first, or use PostgreSQL for several',
    );
  }
  return () => {
    if (db.open) db.close();
  };
}

function readHolder(db: SqliteDatabase.Database): string | undefined {
  try {
    const row = db.prepare('select pid, host, started_at from holder').get() as { pid: number; host: string; started_at: string } | undefined;
    // Our own row: the other process came in between our two transactions and has not written yet.
    if (!row || (row.pid === process.pid && row.host === hostname())) return undefined;
    return `pid ${row.pid} on ${row.host}, started ${row.started_at}`;
  } catch {
    return undefined;
  }
}
