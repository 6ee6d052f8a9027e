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

/** About 2 MiB in one commit: 500 pages, half of what makes a commit checkpoint by itself. */
async function writeAbout500Pages(store: Store): Promise<void> {
  await sql`create table filler (id integer primary key, body text not null)`.execute(store.db);
  const body = 'x'.repeat(4000);
  await store.db.transaction().execute(async (trx) => {
    for (let i = 0; i < 500; i++) await sql`insert into filler (body) values (${body})`.execute(trx);
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

  it('copies committed pages into the database file without a commit doing it', async () => {
    const { log, lines } = capturingLog();
    const store = await openStore(`sqlite:${file}`, { checkpointThread: { log } });
    try {
      const limit = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db);
      expect(limit.rows[0]?.wal_autocheckpoint).toBe(BACKSTOP_CHECKPOINT_PAGES);
      const before = statSync(file).size;
      await writeAbout500Pages(store);
      // Only a checkpoint writes to the database file itself; no commit here reached a threshold.
      expect(await until(() => statSync(file).size >= before + 2_000_000)).toBe(true);
      expect(lines).toEqual([]);
    } finally {
      await store.close();
    }
    // Closing the last connection removes the log: the thread's connection is closed too.
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('without the thread the same commit leaves its pages in the log', async () => {
    const store = await openStore(`sqlite:${file}`);
    try {
      const before = statSync(file).size;
      await writeAbout500Pages(store);
      await new Promise((r) => setTimeout(r, 500));
      expect(statSync(file).size).toBeLessThan(before + 100_000);
      expect(statSync(`${file}-wal`).size).toBeGreaterThan(2_000_000);
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
