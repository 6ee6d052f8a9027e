import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';
import type { Logger } from 'pino';

/**
 * SQLite's default: a commit that leaves this many pages in the write-ahead log copies them into the
 * database file (a checkpoint) before it returns, and waits for the disk twice while it does.
 */
export const SQLITE_DEFAULT_CHECKPOINT_PAGES = 1000;
/**
 * With the checkpoint thread, a commit checkpoints only when the log has grown this long (40 MiB of
 * 4 KiB pages): the thread fell behind, or never got the log fully copied between two commits (a
 * fully copied log starts over from its beginning at the next commit; see below).
 */
export const BACKSTOP_CHECKPOINT_PAGES = 10_000;
/** How often the thread looks at how much of the log is not yet copied (a look costs ~10 µs). */
const LOOK_INTERVAL_MS = 50;

// The thread's code. It runs as a script (not a module file) so that it works the same from the
// compiled build and from the TypeScript sources the tests load; the driver comes by absolute path.
// It checkpoints as often as SQLite would (each 1,000 pages), not on a timer: each checkpoint syncs
// the log and the database file, a cost paid per checkpoint however few pages it copies.
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = FULL');
const timer = setInterval(() => {
  try {
    const [{ log, checkpointed }] = db.pragma('wal_checkpoint(NOOP)');
    if (log - checkpointed >= workerData.pages) db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    clearInterval(timer);
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
}, workerData.intervalMs);
parentPort.on('message', (msg) => {
  if (msg !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Moves the write-ahead log's checkpoints off the commits of `database`, into a thread with its own
 * connection to the same file: a checkpoint copies the log's pages into the database file and waits
 * for the disk twice, and a commit that does it (SQLite's default, every 1,000 pages) holds the event
 * loop meanwhile. The thread looks every 50 ms and copies once 1,000 pages are waiting. Its
 * checkpoints are PASSIVE: they never wait for, or block, this connection, and copy what no
 * transaction still reads.
 *
 * The log starts over from its beginning when a commit finds all of it copied. Under constant writing
 * that can miss for a while, so commits still checkpoint themselves past BACKSTOP_CHECKPOINT_PAGES;
 * if the thread fails, they go back to SQLite's default. Returns the function that stops the thread.
 */
export function checkpointInBackground(database: SqliteDatabase.Database, file: string, log: Logger): () => Promise<void> {
  database.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(THREAD, { eval: true, workerData: { driver, file, intervalMs: LOOK_INTERVAL_MS, pages: SQLITE_DEFAULT_CHECKPOINT_PAGES } });
  // The thread never keeps the process alive; closing the store stops it.
  worker.unref();
  let running = true;
  const fallBack = (err: unknown) => {
    if (!running) return;
    running = false;
    if (database.open) database.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_CHECKPOINT_PAGES}`);
    log.warn({ err }, 'the WAL checkpoint thread stopped; commits checkpoint the log themselves');
    void worker.terminate();
  };
  worker.on('message', (msg: { error?: string }) => fallBack(new Error(msg.error ?? 'unknown error')));
  worker.on('error', fallBack);
  worker.on('exit', (code) => fallBack(new Error(`the thread exited with code ${code}`)));
  return async () => {
    if (!running) return;
    running = false;
    const exited = once(worker, 'exit');
    worker.postMessage('stop');
    const timeout = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(timeout);
  };
}
