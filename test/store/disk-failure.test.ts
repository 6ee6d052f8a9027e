import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import type { Store } from '../../src/store/db.js';
import { DISK_FAILURE_MEMORY_MS, DiskWatch, describeDiskFailure } from '../../src/store/failure.js';

describe('describeDiskFailure', () => {
  it('names a full disk on SQLite and on PostgreSQL, an I/O error as one, wrapped or not; nothing else', () => {
    const err = (code: string) => Object.assign(new Error('x'), { code });
    expect(describeDiskFailure(err('SQLITE_FULL'))).toBe('the database disk is full');
    expect(describeDiskFailure(err('53100'))).toBe('the database disk is full');
    expect(describeDiskFailure(err('SQLITE_IOERR_FSYNC'))).toMatch(/I\/O error/);
    expect(describeDiskFailure(err('58030'))).toMatch(/I\/O error/);
    expect(describeDiskFailure(new Error('wrapped', { cause: err('SQLITE_FULL') }))).toBe('the database disk is full');
    expect(describeDiskFailure(err('SQLITE_BUSY'))).toBeUndefined();
    expect(describeDiskFailure(err('23505'))).toBeUndefined();
    expect(describeDiskFailure('SQLITE_FULL')).toBeUndefined();
  });

  it('DiskWatch remembers a disk failure until a write commits, or for DISK_FAILURE_MEMORY_MS', () => {
    let now = 1_000;
    const watch = new DiskWatch(() => now);
    watch.failed(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }));
    expect(watch.current()).toBeUndefined();
    watch.failed(Object.assign(new Error('full'), { code: 'SQLITE_FULL' }));
    expect(watch.current()).toEqual({ message: 'the database disk is full', at: 1_000 });
    watch.wrote();
    expect(watch.current()).toBeUndefined();
    watch.failed(Object.assign(new Error('full'), { code: 'SQLITE_FULL' }));
    now += DISK_FAILURE_MEMORY_MS;
    expect(watch.current()).toBeDefined();
    now += 1;
    expect(watch.current()).toBeUndefined();
  });
});

describe('a transaction on a full SQLite database', () => {
  let store: Store;
  useStore(BACKENDS[0]!, (s) => (store = s));

  it('fails with SQLITE_FULL (not the rollback SQLite refuses after it), remembered by diskFailure until a write commits', async () => {
    await sql`create table filler (id integer primary key, body text not null)`.execute(store.db);
    const pages = await sql<{ page_count: number }>`pragma page_count`.execute(store.db);
    await sql.raw(`pragma max_page_count = ${pages.rows[0]!.page_count + 2}`).execute(store.db);
    const body = 'x'.repeat(4000);
    const failed = await store.db
      .transaction()
      .execute(async (trx) => {
        for (let i = 0; i < 10; i++) await sql`insert into filler (body) values (${body})`.execute(trx);
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failed).toMatchObject({ code: 'SQLITE_FULL' });
    expect(store.diskFailure()).toMatchObject({ message: 'the database disk is full' });
    // Nothing of it stayed, and the connection is usable: no transaction was left open.
    const count = await sql<{ n: number }>`select count(*) as n from filler`.execute(store.db);
    expect(count.rows[0]!.n).toBe(0);
    expect(store.diskFailure()).toBeDefined();

    await sql.raw('pragma max_page_count = 1000000').execute(store.db);
    await store.db.transaction().execute(async (trx) => {
      await sql`insert into filler (body) values (${body})`.execute(trx);
    });
    expect(store.diskFailure()).toBeUndefined();
  });
});

const postgres = BACKENDS.find((b) => b.name === 'postgres')!;
describe.skipIf(!postgres.available)('a transaction whose PostgreSQL connection dies', () => {
  let store: Store;
  useStore(postgres, (s) => (store = s));

  it("fails with the server's error, not with the rollback that cannot be sent after it", async () => {
    const failed = await store.db
      .transaction()
      .execute(async (trx) => {
        await sql`select pg_terminate_backend(pg_backend_pid())`.execute(trx);
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(failed).toMatchObject({ code: '57P01' });
    // The pool replaced the connection.
    expect((await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows[0]!.one).toBe(1);
  });
});
