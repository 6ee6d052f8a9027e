import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import { migrateToLatest, migratorFor, type Store } from '../../src/store/db.js';
import { DELIVERIES_FILLFACTOR } from '../../src/store/migrations.js';
import { withSchemaIntrospection } from '../../src/store/introspection.js';
import { PG_URL } from '../helpers/backends.js';
import { nextDueTime } from '../../src/store/deliveries.js';

// A database an earlier version left with deliveries in flight: upgrading must keep their leases.
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`migration 0005 (lease_until) on ${backend.name}`, () => {
    let store: Store;
    // Up to 0004, a lease taken the way it was then, and then the upgrade.
    useStore(backend, (s) => (store = s), async (store) => {
      const migrator = await migratorFor(store);
      const { error } = await migrator.migrateTo('0004_profiles');
      if (error) throw error;
      // Before 0005 a claim moved next_attempt_at to the lease's end and stamped updated_at.
      const row = (eventId: string, leaseOwner: string | null, nextAttemptAt: number, state: 'pending' | 'delivered' = 'pending') => ({
        account_id: 'acc_m',
        event_id: eventId,
        callback_id: 'cb_m',
        state,
        attempts: 0,
        next_attempt_at: nextAttemptAt,
        lease_owner: leaseOwner,
        ordering_key: null,
        last_status: null,
        last_error: null,
        created_at: 1_000,
        updated_at: 2_000,
        completed_at: null,
      });
      await store.db
        .insertInto('deliveries')
        .values([row('evt_leased', 'wrk_old', 32_000), row('evt_free', null, 40_000), row('evt_done', null, 3_000, 'delivered')])
        .execute();
      await migrateToLatest(store);
    });

    it('moves a lease taken before to lease_until, the delivery due again from its claim time', async () => {
      const rows = await store.db.selectFrom('deliveries').select(['event_id', 'lease_owner', 'lease_until', 'next_attempt_at']).orderBy('event_id').execute();
      expect(rows.map((r) => ({ ...r, lease_until: r.lease_until === null ? null : Number(r.lease_until), next_attempt_at: Number(r.next_attempt_at) }))).toEqual([
        { event_id: 'evt_done', lease_owner: null, lease_until: null, next_attempt_at: 3_000 },
        { event_id: 'evt_free', lease_owner: null, lease_until: null, next_attempt_at: 40_000 },
        { event_id: 'evt_leased', lease_owner: 'wrk_old', lease_until: 32_000, next_attempt_at: 2_000 },
      ]);
      // Due when the lease ends, as before the upgrade.
      expect(await nextDueTime(store.db, 'cb_m')).toBe(32_000);
    });

    it.runIf(backend.name === 'postgres')('fills deliveries pages only part way on PostgreSQL, leaving room for claims', async () => {
      const res = await sql<{ options: string[] | null }>`
        select reloptions as options from pg_class where oid = 'deliveries'::regclass`.execute(store.db);
      expect(res.rows[0]!.options).toContain(`fillfactor=${DELIVERIES_FILLFACTOR}`);
    });
  });
}

// Kysely's own introspection reads every schema of the database and names each one in functions
// (has_schema_privilege, pg_get_serial_sequence) that fail when a schema is dropped meanwhile: a
// relay starting while another tenant's (or test's) schema went away failed "schema … does not exist".
const postgres = BACKENDS.find((b) => b.name === 'postgres')!;
describe.skipIf(!postgres.available)('the migrator reads its own schema only (PostgreSQL)', () => {
  let store: Store;
  useStore(postgres, (s) => (store = s));

  it("lists this schema and its tables, none of another schema's", async () => {
    const schema = (await store.currentSchema())!;
    const other = `${schema}_other`;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`create schema ${other}`);
      await client.query(`create table ${other}.kysely_migration (name text)`);
      await client.query(`create table ${other}.stranger (id int)`);
      const scoped = withSchemaIntrospection(store.db, schema).introspection;
      expect((await scoped.getSchemas()).map((s) => s.name)).toEqual([schema]);
      const tables = await scoped.getTables();
      expect(new Set(tables.map((t) => t.schema))).toEqual(new Set([schema]));
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['kysely_migration', 'kysely_migration_lock', 'callbacks', 'deliveries', 'events']));
      expect(tables.map((t) => t.name)).not.toContain('stranger');
    } finally {
      await client.query(`drop schema if exists ${other} cascade`);
      await client.end();
    }
  });
});
