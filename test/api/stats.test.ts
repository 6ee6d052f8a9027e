import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { FakeClock } from '../../src/lib/clock.js';
import type { DeliveryState, NewDelivery } from '../../src/store/schema.js';
import { expectError, insertDelivery, type Tenant } from './support.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Now, for the relay: half past noon. */
const T = Date.UTC(2026, 0, 10, 12, 30);

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`statistics on ${backend.name}`, () => {
    let t: TestRelay;
    let drop: () => Promise<void>;
    let me: Tenant;
    let other: Tenant;
    let cb1: string;
    let cb2: string;
    let theirs: string;

    beforeAll(async () => {
      const db = await backend.create();
      drop = db.drop;
      // The API alone: no worker touches the deliveries written below.
      t = await startTestRelay(db.url, { roles: ['api'] }, { clock: new FakeClock(T) });
      me = await t.newTenant(`st-${process.pid}`);
      other = await t.newTenant(`st-o-${process.pid}`);
      const mk = async (who: Tenant, title: string) => (await t.api('POST', '/v1/callbacks', { title, url: 'http://127.0.0.1:9/st' }, { auth: who.auth })).body.id as string;
      cb1 = await mk(me, 'busy one');
      cb2 = await mk(me, 'quiet one');
      theirs = await mk(other, 'theirs');

      // A known set of deliveries, each with its one attempt where finished.
      let seq = 0;
      const put = (who: Tenant, callbackId: string, state: DeliveryState, at: number, durationMs?: number, extra: Partial<NewDelivery> = {}) =>
        insertDelivery(t.relay.store.db, who, { callbackId, eventId: `evt_st_${++seq}`, state, at, durationMs, url: 'http://127.0.0.1:9/st', extra });
      // cb1, the hour of now (12:00): 3 delivered (10, 20, 30 ms) and 1 failed (1000 ms).
      for (const ms of [10, 20, 30]) await put(me, cb1, 'delivered', T - 10 * MIN, ms);
      await put(me, cb1, 'failed', T - 10 * MIN, 1000);
      // cb1, 07:00-08:00: 1 delivered (40 ms). 30 h ago (in 7 days, not in 24 h): 2 delivered (500 ms).
      await put(me, cb1, 'delivered', T - 5 * HOUR, 40);
      await put(me, cb1, 'delivered', T - 30 * HOUR, 500);
      await put(me, cb1, 'delivered', T - 30 * HOUR, 500);
      // 8 days ago: in neither window.
      await put(me, cb1, 'failed', T - 8 * 24 * HOUR, 7);
      // cb1 owes: one due a minute ago, one due in an hour, one in flight, one held.
      await put(me, cb1, 'pending', T - MIN);
      await put(me, cb1, 'pending', T + HOUR);
      await put(me, cb1, 'pending', T - 2 * MIN, undefined, { lease_owner: 'w1', lease_until: T + 30_000 });
      await put(me, cb1, 'held', T - HOUR);
      // cb2: 5 delivered now. Another account: its figures never show in ours.
      for (let i = 0; i < 5; i++) await put(me, cb2, 'delivered', T - 20 * MIN, 5);
      for (let i = 0; i < 4; i++) await put(other, theirs, 'failed', T - 20 * MIN, 99);
      await put(other, theirs, 'pending', T - 10 * MIN);
    });
    afterAll(async () => {
      await t?.close();
      await drop?.();
    });

    it('GET /v1/callbacks/{id}/stats: totals, percentiles and hourly buckets over 24 h', async () => {
      const r = await t.api('GET', `/v1/callbacks/${cb1}/stats?window=24h`, undefined, { auth: me.auth });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ callback_id: cb1, window: '24h', bucket_seconds: 3600 });
      expect(r.body.totals).toEqual({ delivered: 4, failed: 1, pending: 3, held: 1, success_rate: 0.8, latency_p50_ms: 30, latency_p95_ms: 1000 });
      const buckets = r.body.buckets as any[];
      expect(buckets).toHaveLength(24);
      expect(buckets[0].start).toBe(new Date(Date.UTC(2026, 0, 9, 13)).toISOString());
      expect(buckets[23]).toEqual({ start: new Date(Date.UTC(2026, 0, 10, 12)).toISOString(), delivered: 3, failed: 1, success_rate: 0.75, latency_avg_ms: 265 });
      expect(buckets[18]).toEqual({ start: new Date(Date.UTC(2026, 0, 10, 7)).toISOString(), delivered: 1, failed: 0, success_rate: 1, latency_avg_ms: 40 });
      expect(buckets.filter((b) => b.delivered + b.failed > 0)).toHaveLength(2);
      expect(buckets[1]).toEqual({ start: new Date(Date.UTC(2026, 0, 9, 14)).toISOString(), delivered: 0, failed: 0, success_rate: null, latency_avg_ms: null });
      // The default window is 24h.
      expect((await t.api('GET', `/v1/callbacks/${cb1}/stats`, undefined, { auth: me.auth })).body).toEqual(r.body);
    });

    it('GET /v1/callbacks/{id}/stats?window=7d: 6-hour buckets', async () => {
      const r = await t.api('GET', `/v1/callbacks/${cb1}/stats?window=7d`, undefined, { auth: me.auth });
      expect(r.status).toBe(200);
      expect(r.body.bucket_seconds).toBe(21600);
      expect(r.body.totals).toEqual({ delivered: 6, failed: 1, pending: 3, held: 1, success_rate: 6 / 7, latency_p50_ms: 40, latency_p95_ms: 1000 });
      const buckets = r.body.buckets as any[];
      expect(buckets).toHaveLength(28);
      expect(buckets[27].start).toBe(new Date(Date.UTC(2026, 0, 10, 12)).toISOString());
      expect(buckets[27]).toMatchObject({ delivered: 3, failed: 1, success_rate: 0.75 });
      expect(buckets[26]).toMatchObject({ start: new Date(Date.UTC(2026, 0, 10, 6)).toISOString(), delivered: 1 });
      expect(buckets[22]).toMatchObject({ start: new Date(Date.UTC(2026, 0, 9, 6)).toISOString(), delivered: 2, latency_avg_ms: 500 });
    });

    it('an empty callback has zeros and nulls; another account\'s callback is 404; a window not offered lists the allowed ones', async () => {
      const r = await t.api('GET', `/v1/callbacks/${cb2}/stats?window=24h`, undefined, { auth: other.auth });
      expectError(r, 404, 'not_found');
      const fresh = (await t.api('POST', '/v1/callbacks', { title: 'new', url: 'http://127.0.0.1:9/n' }, { auth: me.auth })).body.id;
      const empty = await t.api('GET', `/v1/callbacks/${fresh}/stats`, undefined, { auth: me.auth });
      expect(empty.body.totals).toEqual({ delivered: 0, failed: 0, pending: 0, held: 0, success_rate: null, latency_p50_ms: null, latency_p95_ms: null });
      const bad = await t.api('GET', `/v1/callbacks/${cb1}/stats?window=1y`, undefined, { auth: me.auth });
      expectError(bad, 422, 'invalid', 'querystring.window');
      expect(bad.body.message).toBe('querystring.window: must be one of 24h, 7d');
    });

    it('GET /v1/stats: the queue now, the last 24 h, the busiest callbacks first', async () => {
      const r = await t.api('GET', '/v1/stats', undefined, { auth: me.auth });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.queue).toEqual({ pending: 3, due_now: 1, oldest_due_age_seconds: 60, in_flight: 1, held: 1 });
      expect(r.body.last_24h).toEqual({ delivered: 9, failed: 1 });
      expect(r.body.callbacks).toEqual([
        { callback_id: cb1, title: 'busy one', delivered_24h: 4, failed_24h: 1, pending: 3, delivered_7d: 6, failed_7d: 1 },
        { callback_id: cb2, title: 'quiet one', delivered_24h: 5, failed_24h: 0, pending: 0, delivered_7d: 5, failed_7d: 0 },
      ]);
      const o = await t.api('GET', '/v1/stats', undefined, { auth: other.auth });
      expect(o.body.queue).toEqual({ pending: 1, due_now: 1, oldest_due_age_seconds: 600, in_flight: 0, held: 0 });
      expect(o.body.last_24h).toEqual({ delivered: 0, failed: 4 });
      expect(o.body.callbacks.map((c: any) => c.callback_id)).toEqual([theirs]);
    });
  });
}
