import { beforeAll, describe, expect, it } from 'vitest';
import { sql, type CompiledQuery } from 'kysely';
import pino from 'pino';
import { BACKENDS } from '../helpers/backends.js';
import { useStore } from '../helpers/suite.js';
import type { Store } from '../../src/store/db.js';
import { FakeClock } from '../../src/lib/clock.js';
import { RetentionPurger, purgeBefore } from '../../src/retention.js';
import { oldEventsStatement, purgeableDeliveriesStatement } from '../../src/store/retention.js';
import type { DeliveryState, NewAttempt, NewDelivery } from '../../src/store/schema.js';

const DAY = 86_400_000;
const log = pino({ level: 'silent' });

/** Rows written straight to the tables, with the times a test needs (the purge reads nothing else). */
function seeder(store: Store, now: number) {
  let seq = 0;
  return {
    async account(id: string, settings?: { retention_days?: number | null; report_next_at?: number | null }) {
      await store.db.insertInto('accounts').values({ id, name: id, admin_email: null, created_at: now - 400 * DAY }).execute();
      if (settings) {
        await store.db
          .insertInto('account_settings')
          .values({
            account_id: id,
            telegram_bot_token: null,
            report_frequency: settings.report_next_at ? 'weekly' : 'off',
            report_emails: '[]',
            report_next_at: settings.report_next_at ?? null,
            retention_days: settings.retention_days ?? null,
            updated_at: now,
          })
          .execute();
      }
    },
    /**
     * An event created `ageDays` ago with deliveries: each a state, when it finished (days ago; final
     * states only), whether it is leased, and how many attempts it has.
     */
    async event(
      accountId: string,
      name: string,
      ageDays: number,
      deliveries: { state: DeliveryState; finishedDaysAgo?: number; leased?: boolean; attempts: number }[] = [],
    ): Promise<string> {
      const id = `evt_${accountId}_${name}`;
      const created = now - ageDays * DAY;
      await store.db
        .insertInto('events')
        .values({ id, account_id: accountId, api_user: null, type: 'sms.delivered', data: '{}', resource_id: null, callback_profile_id: null, custom_args: null, idempotency_key: null, created_at: created })
        .execute();
      for (const d of deliveries) {
        const finished = d.finishedDaysAgo === undefined ? null : now - d.finishedDaysAgo * DAY;
        const row: NewDelivery = {
          account_id: accountId,
          event_id: id,
          callback_id: `cb_${accountId}`,
          state: d.state,
          attempts: d.attempts,
          next_attempt_at: created,
          lease_owner: d.leased ? 'wrk_elsewhere' : null,
          lease_until: d.leased ? now + 30_000 : null,
          ordering_key: null,
          last_status: null,
          last_error: null,
          created_at: created,
          updated_at: finished ?? created,
          completed_at: finished,
        };
        const { id: deliveryId } = await store.db.insertInto('deliveries').values(row).returning('id').executeTakeFirstOrThrow();
        for (let a = 1; a <= d.attempts; a++) await store.db.insertInto('attempts').values(attempt(accountId, Number(deliveryId), id, a, created)).execute();
      }
      return id;
    },
    /** A call of `/test`: an attempt of no delivery. */
    async testCall(accountId: string, ageDays: number) {
      await store.db.insertInto('attempts').values(attempt(accountId, null, null, 1, now - ageDays * DAY - seq++)).execute();
    },
  };
}

function attempt(accountId: string, deliveryId: number | null, eventId: string | null, n: number, at: number): NewAttempt {
  return {
    delivery_id: deliveryId,
    account_id: accountId,
    callback_id: `cb_${accountId}`,
    event_id: eventId,
    kind: deliveryId === null ? 'test' : 'delivery',
    attempt: n,
    started_at: at + n,
    duration_ms: 5,
    request_method: 'POST',
    request_url: 'https://example.com/hook',
    request_headers: '{}',
    request_body: '{}',
    response_status: 200,
    response_headers: '{}',
    response_body: '',
    error_class: null,
    error_message: null,
    outcome: 'success',
  };
}

/** What an account has left: its events' ids (without the prefix), deliveries by state, attempts. */
async function left(store: Store, accountId: string) {
  const events = await store.db.selectFrom('events').select('id').where('account_id', '=', accountId).orderBy('id').execute();
  const deliveries = await store.db.selectFrom('deliveries').select(['event_id', 'state']).where('account_id', '=', accountId).execute();
  const attempts = await store.db.selectFrom('attempts').select(['delivery_id']).where('account_id', '=', accountId).execute();
  return {
    events: events.map((e) => e.id.replace(`evt_${accountId}_`, '')),
    deliveries: deliveries.map((d) => `${d.event_id.replace(`evt_${accountId}_`, '')}:${d.state}`).sort(),
    attempts: attempts.length,
    testCalls: attempts.filter((a) => a.delivery_id === null).length,
  };
}

/**
 * The same history in each account: finished long ago, finished recently, owed (pending, leased,
 * held) long ago, an event with one finished and one held delivery, an event whose delivery
 * finished late, events without deliveries, test calls. 40 days ago is past the default (30 days).
 */
async function seedHistory(seed: ReturnType<typeof seeder>, a: string): Promise<void> {
  await seed.event(a, 'old_delivered', 40, [{ state: 'delivered', finishedDaysAgo: 39.9, attempts: 2 }]);
  await seed.event(a, 'old_failed', 40, [{ state: 'failed', finishedDaysAgo: 35, attempts: 3 }]);
  await seed.event(a, 'recent', 10, [{ state: 'delivered', finishedDaysAgo: 10, attempts: 1 }]);
  await seed.event(a, 'old_pending', 40, [{ state: 'pending', attempts: 1 }]);
  await seed.event(a, 'old_leased', 40, [{ state: 'pending', leased: true, attempts: 1 }]);
  await seed.event(a, 'old_held', 40, [{ state: 'held', attempts: 0 }]);
  await seed.event(a, 'old_mixed', 40, [
    { state: 'delivered', finishedDaysAgo: 40, attempts: 1 },
    { state: 'held', attempts: 0 },
  ]);
  await seed.event(a, 'finished_late', 40, [{ state: 'failed', finishedDaysAgo: 5, attempts: 4 }]);
  await seed.event(a, 'lonely_old', 40);
  await seed.event(a, 'lonely_recent', 2);
  await seed.testCall(a, 40);
  await seed.testCall(a, 1);
}

const OWED = ['old_held:held', 'old_leased:pending', 'old_mixed:held', 'old_pending:pending'];

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`retention purge on ${backend.name}`, () => {
    let store: Store;
    const clock = new FakeClock();
    const now = clock.now();
    useStore(backend, (s) => (store = s));

    it('purges finished history past the retention, keeps recent and owed rows; accounts may set their own', async () => {
      const seed = seeder(store, now);
      await seed.account('acc_default');
      await seed.account('acc_week', { retention_days: 7 });
      await seed.account('acc_forever', { retention_days: 0 });
      // A weekly report for the period that began 38 days ago is still to be sent: what finished since stays.
      await seed.account('acc_report', { report_next_at: now - 38 * DAY });
      for (const a of ['acc_default', 'acc_week', 'acc_forever', 'acc_report']) await seedHistory(seed, a);

      const purger = new RetentionPurger({ store, clock, log }, { defaultMs: 30 * DAY });
      const counts = await purger.purge();

      expect(await left(store, 'acc_default')).toEqual({
        // old_mixed stays with its held delivery; its delivered one went.
        events: ['finished_late', 'lonely_recent', 'old_held', 'old_leased', 'old_mixed', 'old_pending', 'recent'],
        deliveries: ['finished_late:failed', ...OWED, 'recent:delivered'].sort(),
        attempts: 4 + 1 + 1 + 1 + 1, // finished_late, recent, old_pending, old_leased, the recent test call
        testCalls: 1,
      });
      expect(await left(store, 'acc_week')).toEqual({
        events: ['finished_late', 'lonely_recent', 'old_held', 'old_leased', 'old_mixed', 'old_pending'],
        deliveries: ['finished_late:failed', ...OWED].sort(),
        attempts: 4 + 1 + 1 + 1,
        testCalls: 1,
      });
      const untouched = {
        events: ['finished_late', 'lonely_old', 'lonely_recent', 'old_delivered', 'old_failed', 'old_held', 'old_leased', 'old_mixed', 'old_pending', 'recent'],
        deliveries: ['finished_late:failed', 'old_delivered:delivered', 'old_failed:failed', 'old_mixed:delivered', ...OWED, 'recent:delivered'].sort(),
        attempts: 2 + 3 + 1 + 1 + 1 + 1 + 4 + 2,
        testCalls: 2,
      };
      expect(await left(store, 'acc_forever')).toEqual(untouched);
      // Before the unreported period (38 days): old_delivered (39.9), old_mixed's (40), the old test
      // call and the event without deliveries (40). old_failed (35) is still to be reported.
      expect(await left(store, 'acc_report')).toEqual({
        events: ['finished_late', 'lonely_recent', 'old_failed', 'old_held', 'old_leased', 'old_mixed', 'old_pending', 'recent'],
        deliveries: ['finished_late:failed', 'old_failed:failed', ...OWED, 'recent:delivered'].sort(),
        attempts: 3 + 1 + 1 + 1 + 4 + 1,
        testCalls: 1,
      });
      expect(counts).toMatchObject({
        // default: 3 deliveries, 6 attempts (+1 test call), 3 events; week: + recent; report: 2, 3 (+1), 2.
        deliveries: 3 + 4 + 2,
        attempts: 7 + 8 + 4,
        events: 3 + 4 + 2,
      });

      // Nothing is left to purge, and the events still owed deliveries are not read again.
      expect(await purger.purge()).toEqual({ batches: 0, deliveries: 0, attempts: 0, events: 0 });
    });

    it('failure notices and report runs go by the same retention, oldest first, in batches', async () => {
      const seed = seeder(store, now);
      await seed.account('acc_notices');
      await seed.account('acc_notices_forever', { retention_days: 0 });
      const notice = (accountId: string, ageDays: number) => ({
        account_id: accountId,
        callback_id: null,
        kind: 'callback.failing',
        channel: 'email',
        recipient: 'ops@example.com',
        subject: `${ageDays} days ago`,
        body: '',
        delivered: 1,
        error: null,
        created_at: now - ageDays * DAY,
      });
      const run = (accountId: string, endedDaysAgo: number) => ({
        account_id: accountId,
        frequency: 'daily',
        period_start: now - (endedDaysAgo + 1) * DAY,
        period_end: now - endedDaysAgo * DAY,
        state: 'sent',
        tries: 1,
        error: null,
        created_at: now - endedDaysAgo * DAY,
        updated_at: now - endedDaysAgo * DAY,
      });
      for (const a of ['acc_notices', 'acc_notices_forever']) {
        // Sent in this order, so ids grow with age as they do when notices are sent.
        for (const age of [45, 40, 31, 29, 1]) await store.db.insertInto('notices').values(notice(a, age)).execute();
        for (const age of [40, 31, 2]) await store.db.insertInto('report_runs').values(run(a, age)).execute();
      }
      const subjects = async (accountId: string) =>
        (await store.db.selectFrom('notices').select('subject').where('account_id', '=', accountId).orderBy('id').execute()).map((n) => n.subject);
      const runs = async (accountId: string) =>
        (await store.db.selectFrom('report_runs').select('period_end').where('account_id', '=', accountId).orderBy('period_end').execute()).map((r) => (now - Number(r.period_end)) / DAY);

      const counts = await new RetentionPurger({ store, clock, log }, { defaultMs: 30 * DAY, batchSize: 2 }).purge();
      expect(await subjects('acc_notices')).toEqual(['29 days ago', '1 days ago']);
      expect(await runs('acc_notices')).toEqual([2]);
      expect(await subjects('acc_notices_forever')).toHaveLength(5);
      expect(await runs('acc_notices_forever')).toEqual([40, 31, 2]);
      expect(counts).toMatchObject({ notices: 3, reportRuns: 2 });
    });

    it('an event goes with its last delivery, once that one is finished and old', async () => {
      const seed = seeder(store, now);
      await seed.account('acc_later');
      await seed.event('acc_later', 'two', 40, [
        { state: 'delivered', finishedDaysAgo: 39, attempts: 1 },
        { state: 'pending', attempts: 1 },
      ]);
      const purger = new RetentionPurger({ store, clock, log }, { defaultMs: 30 * DAY });
      await purger.purge();
      expect(await left(store, 'acc_later')).toMatchObject({ events: ['two'], deliveries: ['two:pending'], attempts: 1 });
      // It finishes (the walk through old events has already passed it), and ages past the retention.
      await store.db.updateTable('deliveries').set({ state: 'failed', completed_at: now }).where('account_id', '=', 'acc_later').execute();
      clock.advance(31 * DAY);
      await purger.purge();
      expect(await left(store, 'acc_later')).toEqual({ events: [], deliveries: [], attempts: 0, testCalls: 0 });
      clock.set(now);
    });

    it('RELAY_RETENTION 0 keeps everything, except in accounts with a retention of their own', async () => {
      const seed = seeder(store, now);
      await seed.account('acc_zero_default');
      await seed.account('acc_zero_week', { retention_days: 7 });
      await seedHistory(seed, 'acc_zero_default');
      await seedHistory(seed, 'acc_zero_week');
      const before = await left(store, 'acc_zero_default');
      await new RetentionPurger({ store, clock, log }, { defaultMs: 0 }).purge();
      expect(await left(store, 'acc_zero_default')).toEqual(before);
      expect((await left(store, 'acc_zero_week')).events).toEqual(['finished_late', 'lonely_recent', 'old_held', 'old_leased', 'old_mixed', 'old_pending']);
    });

    it('the cut-off: own days, else the default; never into an unreported period; null to keep', () => {
      const p = (retention_days: number | null, report_next_at: number | null = null) => ({ account_id: 'a', retention_days, report_next_at });
      expect(purgeBefore(p(null), 30 * DAY, now)).toBe(now - 30 * DAY);
      expect(purgeBefore(p(7), 30 * DAY, now)).toBe(now - 7 * DAY);
      expect(purgeBefore(p(0), 30 * DAY, now)).toBeNull();
      expect(purgeBefore(p(null), 0, now)).toBeNull();
      expect(purgeBefore(p(7), 0, now)).toBe(now - 7 * DAY);
      expect(purgeBefore(p(null, now - 40 * DAY), 30 * DAY, now)).toBe(now - 40 * DAY);
      expect(purgeBefore(p(null, now - 2 * DAY), 30 * DAY, now)).toBe(now - 30 * DAY);
    });
  });

  describe.skipIf(!backend.available)(`retention batches on ${backend.name}`, () => {
    let store: Store;
    const clock = new FakeClock();
    const now = clock.now();
    useStore(backend, (s) => (store = s));

    const HISTORY = 20_000;
    beforeAll(async () => {
      const seed = seeder(store, now);
      // Another account's recent history, so that reading it whole would show in the plans.
      await seed.account('acc_big');
      const rows = Array.from({ length: HISTORY }, (_, i) => ({
        account_id: 'acc_big',
        event_id: `evt_big_${i}`,
        callback_id: 'cb_big',
        state: 'delivered' as const,
        attempts: 1,
        next_attempt_at: now - i,
        lease_owner: null,
        lease_until: null,
        ordering_key: null,
        last_status: 200,
        last_error: null,
        created_at: now - i,
        updated_at: now - i,
        completed_at: now - i,
      }));
      for (let i = 0; i < rows.length; i += 1_000) {
        const slice = rows.slice(i, i + 1_000);
        await store.db.insertInto('deliveries').values(slice).execute();
        await store.db
          .insertInto('events')
          .values(slice.map((d) => ({ id: d.event_id, account_id: 'acc_big', api_user: null, type: 'sms.delivered', data: '{}', resource_id: null, callback_profile_id: null, custom_args: null, idempotency_key: null, created_at: d.created_at })))
          .execute();
      }
      await sql`analyze`.execute(store.db);
    });

    const plan = async (compiled: CompiledQuery) => {
      const explain = store.caps.arrayParameters ? 'explain (costs off) ' : 'explain query plan ';
      const res = await store.db.executeQuery<Record<string, unknown>>({ ...compiled, sql: explain + compiled.sql });
      return res.rows.map((r) => String(r['QUERY PLAN'] ?? r['detail'])).join('\n');
    };

    it('finds what is due through its indexes, not by reading the tables', async () => {
      const deliveries = await plan(purgeableDeliveriesStatement(store.db, store.caps, 'acc_big', now - 30 * DAY, 500).compile());
      expect(deliveries).toMatch(/deliveries_finished/);
      expect(deliveries).not.toMatch(/Seq Scan on deliveries|\bSCAN deliveries\b(?! USING)/);
      const events = await plan(oldEventsStatement(store.db, 'acc_big', { createdAt: now - 40 * DAY, id: 'evt_x' }, now - 30 * DAY, 500).compile());
      expect(events).toMatch(/events_account_created/);
      expect(events).not.toMatch(/Seq Scan on events|\bSCAN events\b(?! USING)/);
    });

    it('purges in batches of at most batchSize rows, each its own transaction, and counts them', async () => {
      const seed = seeder(store, now);
      await seed.account('acc_batch');
      for (let i = 0; i < 35; i++) await seed.event('acc_batch', `e${String(i).padStart(2, '0')}`, 40, [{ state: 'delivered', finishedDaysAgo: 40, attempts: 1 }]);
      const purger = new RetentionPurger({ store, clock, log }, { defaultMs: 30 * DAY, batchSize: 10 });
      expect(await purger.purge()).toEqual({ batches: 4, deliveries: 35, attempts: 35, events: 35 });
      expect(await left(store, 'acc_batch')).toEqual({ events: [], deliveries: [], attempts: 0, testCalls: 0 });
      // acc_big's history is recent: untouched.
      expect((await left(store, 'acc_big')).deliveries).toHaveLength(HISTORY);
    });

    it('stops after maxBatches and goes on from there in the next run', async () => {
      const seed = seeder(store, now);
      await seed.account('acc_budget');
      for (let i = 0; i < 25; i++) await seed.event('acc_budget', `e${String(i).padStart(2, '0')}`, 40, [{ state: 'failed', finishedDaysAgo: 40, attempts: 2 }]);
      for (let i = 0; i < 15; i++) await seed.event('acc_budget', `lonely${String(i).padStart(2, '0')}`, 40);
      const purger = new RetentionPurger({ store, clock, log }, { defaultMs: 30 * DAY, batchSize: 10, maxBatches: 2 });
      expect(await purger.purge()).toEqual({ batches: 2, deliveries: 20, attempts: 40, events: 20 });
      // 5 deliveries (1 batch), then the 15 events without deliveries (1 batch of 10 here, 5 next time).
      expect(await purger.purge()).toEqual({ batches: 2, deliveries: 5, attempts: 10, events: 15 });
      expect(await purger.purge()).toEqual({ batches: 1, deliveries: 0, attempts: 0, events: 5 });
      expect(await purger.purge()).toEqual({ batches: 0, deliveries: 0, attempts: 0, events: 0 });
    });

    it('an aborted run (shutdown) stops before its next batch', async () => {
      const seed = seeder(store, now);
      await seed.account('acc_abort');
      for (let i = 0; i < 5; i++) await seed.event('acc_abort', `e${i}`, 40, [{ state: 'delivered', finishedDaysAgo: 40, attempts: 1 }]);
      const stop = new AbortController();
      stop.abort();
      expect(await new RetentionPurger({ store, clock, log }, { defaultMs: 30 * DAY }).purge(stop.signal)).toEqual({ batches: 0, deliveries: 0, attempts: 0, events: 0 });
      expect((await left(store, 'acc_abort')).events).toHaveLength(5);
    });
  });
}
