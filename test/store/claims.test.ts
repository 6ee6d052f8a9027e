import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { BACKENDS } from '../helpers/backends.js';
import { migrateToLatest, openStore, type Store } from '../../src/store/db.js';
import { claimDueDeliveries, claimStatement, insertEventsWithDeliveries } from '../../src/store/deliveries.js';
import type { NewDelivery } from '../../src/store/schema.js';

// The deliveries table keeps every delivery ever made; a claim must find the owed ones through the
// queue's index, never by reading that history, also when a backlog makes its batches large.
const HISTORY = 20_000;
const BACKLOG = 20_000;

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`claims on ${backend.name}`, () => {
    let store: Store;
    let drop: () => Promise<void>;

    const delivery = (n: number, state: 'delivered' | 'pending', callbackId = 'cb_claims'): NewDelivery => ({
      account_id: 'acc_claims',
      event_id: `evt_${state}_${n}`,
      callback_id: callbackId,
      state,
      attempts: state === 'delivered' ? 1 : 0,
      next_attempt_at: 1_000 + n,
      lease_owner: null,
      ordering_key: null,
      last_status: state === 'delivered' ? 200 : null,
      last_error: null,
      created_at: 1_000 + n,
      updated_at: 1_000 + n,
      completed_at: state === 'delivered' ? 1_000 + n : null,
    });

    beforeAll(async () => {
      const created = await backend.create();
      drop = created.drop;
      store = await openStore(created.url);
      await migrateToLatest(store);
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

    afterAll(async () => {
      await store.close();
      await drop();
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
        .select(['event_id', 'lease_owner', 'next_attempt_at'])
        .where('lease_owner', '=', 'wrk_claims')
        .execute();
      expect(leased).toHaveLength(8);
      for (const row of leased) expect(Number(row.next_attempt_at)).toBe(99_000);
      // The next claim goes on where this one stopped; nothing not yet due (1,021 and later) comes.
      const next = await claimDueDeliveries(store.db, store.caps, opts);
      expect(next.map((c) => c.event_id).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `evt_pending_${i + 8}`).sort());
      const rest = await claimDueDeliveries(store.db, store.caps, opts);
      expect(rest.map((c) => c.event_id).sort()).toEqual(Array.from({ length: 5 }, (_, i) => `evt_pending_${i + 16}`).sort());
    });
  });
}
