import { describe, expect, it } from 'vitest';
import { Migrator, sql } from 'kysely';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import { migrateToLatest, type Store } from '../../src/store/db.js';
import { DELIVERIES_FILLFACTOR, migrations } from '../../src/store/migrations.js';
import { nextDueTime } from '../../src/store/deliveries.js';

// A database an earlier version left with deliveries in flight: upgrading must keep their leases.
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`migration 0005 (lease_until) on ${backend.name}`, () => {
    let store: Store;
    // Up to 0004, a lease taken the way it was then, and then the upgrade.
    useStore(backend, (s) => (store = s), async (store) => {
      const migrationTableSchema = await store.currentSchema();
      const migrator = new Migrator({
        db: store.db,
        provider: { getMigrations: async () => migrations(store.caps) },
        ...(migrationTableSchema ? { migrationTableSchema } : {}),
      });
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
