import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { BACKENDS } from '../helpers/backends.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { FakeClock } from '../../src/lib/clock.js';
import { DeliveryRollups } from '../../src/rollups.js';
import { RetentionPurger } from '../../src/retention.js';
import { rebuildAllRollupTotals, rollUpHour, rollupsThrough } from '../../src/store/rollups.js';
import type { DeliveryState } from '../../src/store/schema.js';
import { insertDelivery, type Tenant } from './support.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Now, for the relay: half past noon. */
const T = Date.UTC(2026, 0, 10, 12, 30);
const log = pino({ level: 'silent' });

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`statistics from hourly rollups on ${backend.name}`, () => {
    let t: TestRelay;
    let drop: () => Promise<void>;
    let clock: FakeClock;
    let me: Tenant;
    let other: Tenant;
    let cb1: string;
    let cb2: string;
    let theirs: string;
    let seq = 0;

    /** A delivery in `state`, finished at `at` (final states), with one attempt of `durationMs` ending then. */
    const put = (who: Tenant, callbackId: string, state: DeliveryState, at: number, durationMs?: number) =>
      insertDelivery(t.relay.store.db, who, { callbackId, eventId: `evt_ru_${++seq}`, state, at, durationMs, url: 'http://127.0.0.1:9/ru' });
    /** Every statistics answer the dashboard reads, for both tenants. */
    const answers = async () => ({
      stats: (await t.api('GET', '/v1/stats', undefined, { auth: me.auth })).body,
      theirStats: (await t.api('GET', '/v1/stats', undefined, { auth: other.auth })).body,
      day: (await t.api('GET', `/v1/callbacks/${cb1}/stats?window=24h`, undefined, { auth: me.auth })).body,
      week: (await t.api('GET', `/v1/callbacks/${cb1}/stats?window=7d`, undefined, { auth: me.auth })).body,
      quiet: (await t.api('GET', `/v1/callbacks/${cb2}/stats?window=7d`, undefined, { auth: me.auth })).body,
    });
    /** The answers aggregated live throughout, as before any rollup: the marks set aside for the while. */
    const liveAnswers = async () => {
      const db = t.relay.store.db;
      const marks = await db.selectFrom('scheduler_state').selectAll().where('name', 'like', 'delivery_rollups.%').execute();
      await db.deleteFrom('scheduler_state').where('name', 'like', 'delivery_rollups.%').execute();
      try {
        return await answers();
      } finally {
        if (marks.length) await db.insertInto('scheduler_state').values(marks).execute();
      }
    };
    const rollupRows = () =>
      t.relay.store.db.selectFrom('delivery_rollups').selectAll().orderBy('hour_start').orderBy('account_id').orderBy('callback_id').execute();
    const rollups = (maxHours = 1000) => new DeliveryRollups({ store: t.relay.store, clock, log }, { maxHours });

    beforeAll(async () => {
      const db = await backend.create();
      drop = db.drop;
      clock = new FakeClock(T);
      // The API alone: no worker or scheduler; the test runs the rollup job as the scheduler would.
      t = await startTestRelay(db.url, { roles: ['api'] }, { clock });
      me = await t.newTenant(`ru-${process.pid}`);
      other = await t.newTenant(`ru-o-${process.pid}`);
      const mk = async (who: Tenant, title: string) => (await t.api('POST', '/v1/callbacks', { title, url: 'http://127.0.0.1:9/ru' }, { auth: who.auth })).body.id as string;
      cb1 = await mk(me, 'busy one');
      cb2 = await mk(me, 'quiet one');
      theirs = await mk(other, 'theirs');
      // Latencies a rolled-up hour keeps exactly (bucket bounds, or the hour's maximum) so the answers compare equal.
      for (const ms of [10, 20, 30]) await put(me, cb1, 'delivered', T - 10 * MIN, ms); // the open hour (12:00)
      await put(me, cb1, 'failed', T - 10 * MIN, 1000);
      for (const ms of [25, 50, 80]) await put(me, cb1, 'delivered', T - 70 * MIN, ms); // 11:00
      await put(me, cb1, 'failed', T - 75 * MIN, 80);
      await put(me, cb1, 'delivered', T - 5 * HOUR, 40); // 07:00
      await put(me, cb1, 'delivered', T - 30 * HOUR, 500); // yesterday 06:00
      await put(me, cb1, 'delivered', T - 30 * HOUR, 500);
      await put(me, cb1, 'failed', T - 6 * DAY, 2500);
      await put(me, cb1, 'failed', T - 8 * DAY, 7); // in no window
      await put(me, cb1, 'pending', T - MIN);
      await put(me, cb1, 'held', T - HOUR);
      for (let i = 0; i < 5; i++) await put(me, cb2, 'delivered', T - 3 * HOUR, 5);
      for (let i = 0; i < 4; i++) await put(other, theirs, 'failed', T - 2 * HOUR, 99);
    });
    afterAll(async () => {
      await t?.close();
      await drop?.();
    });

    it('the answers are the same before and after the closed hours are rolled up', async () => {
      expect(await rollupsThrough(t.relay.store.db)).toBeNull();
      const before = await answers();
      expect(before.day.totals).toMatchObject({ delivered: 7, failed: 2, pending: 1, held: 1, latency_p50_ms: 40, latency_p95_ms: 1000 });
      expect(before.stats.callbacks[0]).toMatchObject({ callback_id: cb1, delivered_24h: 7, failed_24h: 2, delivered_7d: 9, failed_7d: 3 });

      // Closed hours: from 8 days back up to 12:00 (the open hour stays live).
      const run = await rollups().run();
      expect(run.hours).toBe(8 * 24);
      expect(await rollupsThrough(t.relay.store.db)).toBe(Date.UTC(2026, 0, 10, 12));
      const rows = await rollupRows();
      const h11 = rows.find((r) => Number(r.hour_start) === Date.UTC(2026, 0, 10, 11) && r.callback_id === cb1);
      expect(h11).toMatchObject({ account_id: me.accountId, delivered: 3, failed: 1 });
      expect(Number(h11!.latency_count)).toBe(4);
      expect(Number(h11!.latency_sum_ms)).toBe(25 + 50 + 80 + 80);
      expect(Number(h11!.latency_max_ms)).toBe(80);
      expect(JSON.parse(h11!.latency_histogram)).toEqual([1, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
      expect(rows.some((r) => Number(r.hour_start) >= Date.UTC(2026, 0, 10, 12))).toBe(false);
      expect(rows.filter((r) => r.callback_id === theirs).map((r) => r.account_id)).toEqual([other.accountId]);

      expect(await answers()).toEqual(before);
      expect(await liveAnswers()).toEqual(before);
      const totals = await t.relay.store.db.selectFrom('delivery_rollup_totals').selectAll().where('callback_id', '=', cb1).executeTakeFirstOrThrow();
      // Rolled up: 11:00 (3 + 1), 07:00 (1), yesterday 06:00 (2) and 6 days ago (1 failed); 12:00 is live.
      expect(totals).toMatchObject({ delivered_24h: 4, failed_24h: 1, delivered_7d: 6, failed_7d: 2 });
    });

    it('a closed hour is rolled up once: running the job again changes nothing, nor does rolling an hour up again', async () => {
      const rows = await rollupRows();
      expect(await rollups().run()).toEqual({ hours: 0, rows: 0 });
      expect(await rollupRows()).toEqual(rows);
      await t.relay.store.db.transaction().execute((trx) => rollUpHour(trx, Date.UTC(2026, 0, 10, 11), clock.now()));
      expect(await rollupRows()).toEqual(rows);
      expect(await rollupsThrough(t.relay.store.db)).toBe(Date.UTC(2026, 0, 10, 12));
    });

    it('an hour is rolled up a few minutes after it closes, and the answers do not move', async () => {
      clock.set(Date.UTC(2026, 0, 10, 13, 2));
      expect((await rollups().run()).hours).toBe(0); // 12:00 closed 2 minutes ago: not settled yet
      // The overview's totals end at 12:00 while its week starts an hour later: that hour is taken off.
      expect(await answers()).toEqual(await liveAnswers());
      clock.set(Date.UTC(2026, 0, 10, 13, 6));
      const live = await answers();
      expect((await rollups().run()).hours).toBe(1);
      const rolled = await answers();
      // 12:00 held 10, 20, 30 and 1000 ms: rolled up, they count as 25, 25, 50 and 1000 (their buckets'
      // bounds, capped at the hour's maximum), so the 24 h median moves from 40 to 50, one bucket up.
      expect(rolled.day.totals.latency_p50_ms).toBe(50);
      rolled.day.totals.latency_p50_ms = live.day.totals.latency_p50_ms;
      expect(rolled).toEqual(live);
      const h12 = (await rollupRows()).find((r) => Number(r.hour_start) === Date.UTC(2026, 0, 10, 12) && r.callback_id === cb1);
      expect(h12).toMatchObject({ delivered: 3, failed: 1, latency_histogram: JSON.stringify([2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0]) });
    });

    it('hours missed while no scheduler ran are caught up, a bounded number per run, the answers right throughout', async () => {
      await put(me, cb1, 'delivered', Date.UTC(2026, 0, 10, 14, 30), 250);
      await put(me, cb2, 'failed', Date.UTC(2026, 0, 10, 16, 30), 2500);
      clock.set(Date.UTC(2026, 0, 10, 18, 10));
      const expected = await answers();
      expect(expected.day.totals).toMatchObject({ delivered: 8, failed: 2 });
      expect(expected.stats.callbacks.find((c: any) => c.callback_id === cb2)).toMatchObject({ delivered_24h: 5, failed_24h: 1 });

      expect((await rollups(2).run()).hours).toBe(2); // 13:00, 14:00
      expect(await rollupsThrough(t.relay.store.db)).toBe(Date.UTC(2026, 0, 10, 15));
      expect(await answers()).toEqual(expected);
      expect((await rollups(2).run()).hours).toBe(2); // 15:00, 16:00
      expect((await rollups(2).run()).hours).toBe(1); // 17:00
      expect(await rollupsThrough(t.relay.store.db)).toBe(Date.UTC(2026, 0, 10, 18));
      expect(await answers()).toEqual(expected);
      const caught = (await rollupRows()).filter((r) => Number(r.hour_start) === Date.UTC(2026, 0, 10, 16));
      expect(caught).toEqual([expect.objectContaining({ callback_id: cb2, delivered: 0, failed: 1, latency_max_ms: 2500 })]);
    });

    it('after a stop longer than the statistics look back, rollups start again 8 days back', async () => {
      clock.set(Date.UTC(2026, 0, 30, 12, 10));
      expect((await rollups().run()).hours).toBe(8 * 24);
      expect(await rollupsThrough(t.relay.store.db)).toBe(Date.UTC(2026, 0, 30, 12));
    });

    it('retention purges the rollups of hours that ended before it, with the rest of the history', async () => {
      // Now Jan 30 12:10, retention 20 days: the hours ended by Jan 10 12:10 go, those from 12:00 on stay.
      const keep = 20 * DAY;
      const purger = new RetentionPurger({ store: t.relay.store, clock, log }, { defaultMs: keep });
      const old = (await rollupRows()).filter((r) => Number(r.hour_start) + HOUR <= clock.now() - keep);
      expect(old.length).toBeGreaterThan(0);
      const counts = await purger.purge();
      expect(counts.rollups).toBe(old.length);
      const left = await rollupRows();
      expect(left.map((r) => Number(r.hour_start))).toEqual([Date.UTC(2026, 0, 10, 12), Date.UTC(2026, 0, 10, 14), Date.UTC(2026, 0, 10, 16)]);
    });

    it("a retention shorter than the week takes the purged hours out of the overview's totals", async () => {
      clock.set(Date.UTC(2026, 0, 30, 14, 10));
      await put(me, cb1, 'delivered', Date.UTC(2026, 0, 30, 12, 30), 40);
      await put(me, cb1, 'failed', Date.UTC(2026, 0, 30, 13, 30), 40);
      expect((await rollups().run()).hours).toBe(2);
      // An hour rolled up before its delivery was written (as by a clock set back): rolled up again.
      await put(me, cb1, 'delivered', Date.UTC(2026, 0, 29, 10, 30), 40);
      await t.relay.store.db.transaction().execute(async (trx) => {
        await rollUpHour(trx, Date.UTC(2026, 0, 29, 10), clock.now());
        await rebuildAllRollupTotals(trx, clock.now());
      });
      expect(await rollupsThrough(t.relay.store.db)).toBe(Date.UTC(2026, 0, 30, 14));
      const totals = () => t.relay.store.db.selectFrom('delivery_rollup_totals').selectAll().where('callback_id', '=', cb1).executeTakeFirstOrThrow();
      expect(await totals()).toMatchObject({ delivered_24h: 1, failed_24h: 1, delivered_7d: 2, failed_7d: 1 });
      expect(await answers()).toEqual(await liveAnswers());

      // Retention 1 day: Jan 29 10:00 goes, with its delivery.
      const counts = await new RetentionPurger({ store: t.relay.store, clock, log }, { defaultMs: DAY }).purge();
      expect(counts.rollups).toBeGreaterThan(0);
      expect(await totals()).toMatchObject({ delivered_24h: 1, failed_24h: 1, delivered_7d: 1, failed_7d: 1 });
      const after = await answers();
      expect(after.stats.callbacks[0]).toMatchObject({ callback_id: cb1, delivered_7d: 1, failed_7d: 1 });
      expect(after).toEqual(await liveAnswers());
    });
  });
}
