import { beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import type { Store } from '../../src/store/db.js';
import { claimDueDeliveries, claimStatement, insertEventsWithDeliveries, nextDueTime } from '../../src/store/deliveries.js';
import type { NewDelivery } from '../../src/store/schema.js';

// The deliveries table keeps every delivery ever made; a claim must find the owed ones through the
// queue's index, never by reading that history, also when a backlog makes its batches large.
const HISTORY = 20_000;
const BACKLOG = 20_000;

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`claims on ${backend.name}`, () => {
    let store: Store;

    const delivery = (n: number, state: 'delivered' | 'pending', callbackId = 'cb_claims'): NewDelivery => ({
      account_id: 'acc_claims',
      event_id: `evt_${state}_${n}`,
      callback_id: callbackId,
      state,
      attempts: state === 'delivered' ? 1 : 0,
      next_attempt_at: 1_000 + n,
      lease_owner: null,
      lease_until: null,
      ordering_key: null,
      last_status: state === 'delivered' ? 200 : null,
      last_error: null,
      created_at: 1_000 + n,
      updated_at: 1_000 + n,
      completed_at: state === 'delivered' ? 1_000 + n : null,
    });

    useStore(backend, (s) => (store = s));

    beforeAll(async () => {
      const history = Array.from({ length: HISTORY }, (_, i) => delivery(i, 'delivered'));
      // A backlog all due at once, on a callback of its own.
      const backlog = Array.from({ length: BACKLOG }, (_, i) => ({ ...delivery(HISTORY + i, 'pending', 'cb_backlog'), next_attempt_at: 500 }));
      const rows = [...history, ...backlog];
      for (let i = 0; i < rows.length; i += 2_000) await insertEventsWithDeliveries(store.db, store.caps, { events: [], queued: rows.slice(i, i + 2_000), leased: [] });
      // Owed: 30 of this callback (due at 1,000 … 1,029, inserted newest first) and 5 of another.
      await insertEventsWithDeliveries(store.db, store.caps, { events: [], queued: Array.from({ length: 30 }, (_, i) => delivery(29 - i, 'pending')), leased: [] });
      await insertEventsWithDeliveries(store.db, store.caps, { events: [], queued: Array.from({ length: 5 }, (_, i) => delivery(i, 'pending', 'cb_other')), leased: [] });
      await sql`analyze`.execute(store.db);
    });

    const opts = { owner: 'wrk_claims', callbackId: 'cb_claims', now: 1_020, leaseUntil: 99_000, limit: 8 };

    it('reads the owed deliveries through the queue index, not the delivered history', async () => {
      // As many as a worker claims at once in a drain (hundreds); PostgreSQL's plan for the old
      // `id in (subquery)` turned to a sequential scan only when it expected that many.
      const compiled = claimStatement(store.db, store.caps, { ...opts, callbackId: 'cb_backlog', limit: 512 }).compile();
      const explain = store.caps.arrayParameters ? 'explain (costs off) ' : 'explain query plan ';
      const res = await store.db.executeQuery<Record<string, unknown>>({ ...compiled, sql: explain + compiled.sql });
      // PostgreSQL: one "QUERY PLAN" text per line; SQLite: one "detail" per step.
      const plan = res.rows.map((r) => String(r['QUERY PLAN'] ?? r['detail'])).join('\n');
      expect(plan).toMatch(/deliveries_due/);
      expect(plan).not.toMatch(/Seq Scan on deliveries|\bSCAN deliveries/);
    });

    it('takes the oldest due of its callback only, up to the limit, and leases them', async () => {
      const claimed = await claimDueDeliveries(store.db, store.caps, opts);
      expect(claimed.map((c) => c.event_id).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `evt_pending_${i}`).sort());
      const leased = await store.db
        .selectFrom('deliveries')
        .select(['event_id', 'lease_owner', 'lease_until', 'next_attempt_at'])
        .where('lease_owner', '=', 'wrk_claims')
        .execute();
      expect(leased).toHaveLength(8);
      for (const row of leased) {
        expect(Number(row.lease_until)).toBe(99_000);
        // The due time stays what it was: the queue index entry is not rewritten.
        expect(Number(row.next_attempt_at)).toBe(1_000 + Number(row.event_id.replace('evt_pending_', '')));
      }
      // The next claim goes on where this one stopped; nothing not yet due (1,021 and later) comes.
      const next = await claimDueDeliveries(store.db, store.caps, opts);
      expect(next.map((c) => c.event_id).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `evt_pending_${i + 8}`).sort());
      const rest = await claimDueDeliveries(store.db, store.caps, opts);
      expect(rest.map((c) => c.event_id).sort()).toEqual(Array.from({ length: 5 }, (_, i) => `evt_pending_${i + 16}`).sort());
    });

    it('takes a lease that ran out (a dead worker\'s) and leaves a live one alone', async () => {
      const cb = 'cb_leases';
      const rows = [100, 101, 600].map((at, i) => ({ ...delivery(50 + i, 'pending', cb), next_attempt_at: at }));
      await insertEventsWithDeliveries(store.db, store.caps, {
        events: [],
        queued: [rows[2]!],
        leased: [
          { ...rows[0]!, lease_owner: 'wrk_dead', lease_until: 500 },
          { ...rows[1]!, lease_owner: 'wrk_alive', lease_until: 5_000 },
        ],
      });
      // Due first: the expired lease, at its end (before the free one, due at 600).
      expect(await nextDueTime(store.db, cb)).toBe(500);
      const claimed = await claimDueDeliveries(store.db, store.caps, { owner: 'wrk_claims', callbackId: cb, now: 1_000, leaseUntil: 9_000, limit: 10 });
      expect(claimed.map((c) => c.event_id).sort()).toEqual(['evt_pending_50', 'evt_pending_52']);
      // Now only the live lease is owed here (and the two just taken): due when the first lease ends.
      expect(await nextDueTime(store.db, cb)).toBe(5_000);
      const later = await claimDueDeliveries(store.db, store.caps, { owner: 'wrk_claims', callbackId: cb, now: 5_000, leaseUntil: 9_000, limit: 10 });
      expect(later.map((c) => c.event_id)).toEqual(['evt_pending_51']);
      expect(await nextDueTime(store.db, cb)).toBe(9_000);
    });

    it('knows when a callback next falls due: the earliest of its free deliveries and of the leases before it', async () => {
      const cb = 'cb_due';
      expect(await nextDueTime(store.db, cb)).toBeNull();
      await insertEventsWithDeliveries(store.db, store.caps, {
        events: [],
        queued: [{ ...delivery(70, 'pending', cb), next_attempt_at: 3_000 }],
        leased: [{ ...delivery(71, 'pending', cb), next_attempt_at: 1_000, lease_owner: 'wrk_a', lease_until: 2_000 }],
      });
      expect(await nextDueTime(store.db, cb)).toBe(2_000);
      await insertEventsWithDeliveries(store.db, store.caps, {
        events: [],
        queued: [{ ...delivery(72, 'pending', cb), next_attempt_at: 1_500 }],
        leased: [],
      });
      expect(await nextDueTime(store.db, cb)).toBe(1_500);
    });

    it.runIf(backend.name === 'postgres')('claims without new index entries: a heap-only update on PostgreSQL', async () => {
      const cb = 'cb_hot';
      await insertEventsWithDeliveries(store.db, store.caps, {
        events: [],
        queued: Array.from({ length: 40 }, (_, i) => ({ ...delivery(100 + i, 'pending', cb), next_attempt_at: 10 })),
        leased: [],
      });
      await store.db.transaction().execute(async (trx) => {
        // This backend's counts (they may include earlier transactions' not yet reported): the difference.
        const counts = async () => {
          const res = await sql<{ upd: string; hot: string }>`
            select n_tup_upd as upd, n_tup_hot_upd as hot from pg_stat_xact_user_tables where relname = 'deliveries' and schemaname = current_schema()`.execute(trx);
          return { updated: Number(res.rows[0]!.upd), hot: Number(res.rows[0]!.hot) };
        };
        const before = await counts();
        const claimed = await claimDueDeliveries(trx, store.caps, { owner: 'wrk_hot', callbackId: cb, now: 1_000, leaseUntil: 9_000, limit: 40 });
        expect(claimed).toHaveLength(40);
        const after = await counts();
        expect(after.updated - before.updated).toBe(40);
        // Each row whose page has room for its new version (pages are filled half) stays on it, with no
        // new index entry; with the lease in an indexed column, or pages filled full, none would.
        expect(after.hot - before.hot).toBeGreaterThanOrEqual(30);
      });
    });
  });
}
