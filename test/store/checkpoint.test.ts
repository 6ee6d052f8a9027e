import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKSTOP_CHECKPOINT_PAGES, SQLITE_DEFAULT_CHECKPOINT_PAGES, checkpointInBackground } from '../../src/store/checkpoint.js';
import { openStore, type Store } from '../../src/store/db.js';

function capturingLog(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'warn' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) })), lines };
}

async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

/** `pages` pages of 4 KiB in one commit, into a table of their own. */
async function writePages(store: Store, pages: number): Promise<void> {
  await sql`create table if not exists filler (id integer primary key, body text not null)`.execute(store.db);
  const body = 'x'.repeat(4000);
  await store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < pages; i++) await sql`insert into filler (body) values (${body})`.execute(trx);
  });
}

describe('SQLite WAL checkpoints in a thread of their own', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'relay-ckpt-'));
    file = join(dir, 'relay.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies the log into the database file once 1,000 pages wait, without a commit doing it', async () => {
    const { log, lines } = capturingLog();
    const store = await openStore(`sqlite:${file}`, { checkpointThread: { log } });
    try {
      const limit = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db);
      expect(limit.rows[0]?.wal_autocheckpoint).toBe(BACKSTOP_CHECKPOINT_PAGES);
      const before = statSync(file).size;
      // Below SQLite's own threshold the thread leaves the log alone (a checkpoint costs two syncs).
      await writePages(store, 500);
      await new Promise((r) => setTimeout(r, 300));
      expect(statSync(file).size).toBeLessThan(before + 100_000);
      // Past it, only a checkpoint writes to the database file; this commit's threshold is 10,000.
      await writePages(store, 700);
      expect(await until(() => statSync(file).size >= before + 4_800_000)).toBe(true);
      expect(lines).toEqual([]);
    } finally {
      await store.close();
    }
    // Closing the last connection removes the log: the thread's connection is closed too.
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('with the same threshold and no thread, the pages stay in the log', async () => {
    const store = await openStore(`sqlite:${file}`);
    try {
      await sql.raw(`pragma wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`).execute(store.db);
      const before = statSync(file).size;
      await writePages(store, 1200);
      await new Promise((r) => setTimeout(r, 300));
      expect(statSync(file).size).toBeLessThan(before + 100_000);
      expect(statSync(`${file}-wal`).size).toBeGreaterThan(4_800_000);
    } finally {
      await store.close();
    }
  });

  it('gives checkpoints back to the commits when the thread fails, and says so', async () => {
    const database = new SqliteDatabase(file);
    database.pragma('journal_mode = WAL');
    const { log, lines } = capturingLog();
    // The thread cannot open a file that is not there: it fails at once.
    const stop = checkpointInBackground(database, join(dir, 'missing.db'), log);
    try {
      expect(await until(() => lines.length > 0)).toBe(true);
      expect(lines[0]).toContain('the WAL checkpoint thread stopped; commits checkpoint the log themselves');
      expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(SQLITE_DEFAULT_CHECKPOINT_PAGES);
    } finally {
      await stop();
      database.close();
    }
  });
});
