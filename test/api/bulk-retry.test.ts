import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { expectError, tenant, useRelay, waitForDelivery, waitUntil, type Tenant } from './support.js';
import type { TestRelay } from '../helpers/relay.js';
import { retryFailedDeliveries } from '../../src/store/deliveries.js';

/** Every delivery of the tenant, by id, as the list shows it. */
async function deliveries(t: TestRelay, who: Tenant): Promise<Map<number, any>> {
  const r = await t.api('GET', '/v1/deliveries?limit=1000', undefined, { auth: who.auth });
  expect(r.status).toBe(200);
  return new Map(r.body.data.map((d: any) => [d.id, d]));
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`POST /v1/deliveries/retry on ${backend.name}`, () => {
    const h = useRelay(backend);

    it('re-opens only failed deliveries, only those matching, only of this account', async () => {
      const { t, receiver } = h;
      let failing = true;
      receiver.behaviour = (req, res) => res.writeHead(failing && req.path.startsWith('/br-bad') ? 500 : 200).end('x');
      const me = await tenant(t, 'br');
      const other = await tenant(t, 'br-o');
      const mk = async (who: Tenant, path: string) => {
        const r = await t.api('POST', '/v1/callbacks', { title: path, url: `${receiver.url}${path}` }, { auth: who.auth });
        expect(r.status).toBe(201);
        return r.body.id as string;
      };
      const a = await mk(me, '/br-bad-a');
      const b = await mk(me, '/br-bad-b');
      await mk(me, '/br-ok');
      await mk(other, '/br-bad-other');
      for (const type of ['sms.delivered', 'sms.undelivered', 'sms.delivered']) {
        expect((await t.api('POST', '/v1/events', { type, data: {} }, { auth: me.auth })).status).toBe(202);
      }
      expect((await t.api('POST', '/v1/events', { type: 'sms.delivered', data: {} }, { auth: other.auth })).status).toBe(202);
      // 9 of mine: 6 fail (a and b), 3 are delivered; 1 of the other tenant fails.
      const settled = async (who: Tenant, n: number) =>
        waitUntil(async () => {
          const all = [...(await deliveries(t, who)).values()];
          return all.length === n && all.every((d) => (d.state === 'failed' || d.state === 'delivered') && !d.in_flight) ? all : undefined;
        }, 'deliveries to settle');
      const before = await settled(me, 9);
      await settled(other, 1);
      expect(before.filter((d) => d.state === 'failed')).toHaveLength(6);
      const byType = (cb: string, type: string) => before.filter((d) => d.callback_id === cb && d.event_type === type).map((d) => d.id as number);

      failing = false;
      const first = await t.api('POST', '/v1/deliveries/retry', { callback_id: a, event_type: 'sms.delivered' }, { auth: me.auth });
      expect(first.status).toBe(202);
      expect(first.body).toEqual({ retried: 2 });
      for (const id of byType(a, 'sms.delivered')) expect((await waitForDelivery(t, me.auth, id, 'delivered')).attempts).toBe(4);
      let now = await deliveries(t, me);
      for (const id of [...byType(a, 'sms.undelivered'), ...byType(b, 'sms.delivered'), ...byType(b, 'sms.undelivered')]) {
        expect(now.get(id)).toMatchObject({ state: 'failed', attempts: 3 });
      }
      // The delivered ones were not touched.
      for (const d of before.filter((x) => x.state === 'delivered')) expect(now.get(d.id)).toEqual(d);

      // A time window that holds nothing: nothing retried.
      const future = new Date(Date.now() + 3600_000).toISOString();
      expect((await t.api('POST', '/v1/deliveries/retry', { created_after: future }, { auth: me.auth })).body).toEqual({ retried: 0 });

      // No filter: every failed one of mine; the other tenant's stays failed.
      const rest = await t.api('POST', '/v1/deliveries/retry', {}, { auth: me.auth });
      expect(rest.body).toEqual({ retried: 4 });
      await waitUntil(async () => [...(await deliveries(t, me)).values()].every((d) => d.state === 'delivered'), 'all delivered');
      now = await deliveries(t, me);
      for (const d of before.filter((x) => x.state === 'delivered')) expect(now.get(d.id)).toEqual(d);
      const theirs = [...(await deliveries(t, other)).values()];
      expect(theirs).toHaveLength(1);
      expect(theirs[0]).toMatchObject({ state: 'failed', attempts: 3 });

      expectError(await t.api('POST', '/v1/deliveries/retry', { callback_id: theirs[0].callback_id }, { auth: me.auth }), 404, 'not_found');
      expectError(await t.api('POST', '/v1/deliveries/retry', { state: 'delivered' }, { auth: me.auth }), 422, 'invalid', 'state');
      expectError(await t.api('POST', '/v1/deliveries/retry', { created_before: 'soon' }, { auth: me.auth }), 422, 'invalid', 'created_before');
      expect((await deliveries(t, other)).get(theirs[0].id)).toMatchObject({ state: 'failed', attempts: 3 });
    });

    it('a disabled callback\'s failed deliveries wait as held and go out on enable', async () => {
      const { t, receiver } = h;
      let failing = true;
      receiver.behaviour = (req, res) => res.writeHead(failing && req.path === '/br-held' ? 500 : 200).end('x');
      const me = await tenant(t, 'br-h');
      const cb = await t.api('POST', '/v1/callbacks', { title: 'h', url: `${receiver.url}/br-held` }, { auth: me.auth });
      const ev = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: {} }, { auth: me.auth });
      const [d] = (await t.api('GET', `/v1/events/${ev.body.id}`, undefined, { auth: me.auth })).body.deliveries;
      await waitForDelivery(t, me.auth, d.id, 'failed');
      expect((await t.api('POST', `/v1/callbacks/${cb.body.id}/disable`, undefined, { auth: me.auth })).status).toBe(200);
      failing = false;
      expect((await t.api('POST', '/v1/deliveries/retry', { callback_id: cb.body.id }, { auth: me.auth })).body).toEqual({ retried: 1 });
      expect((await t.api('GET', `/v1/deliveries/${d.id}`, undefined, { auth: me.auth })).body.state).toBe('held');
      expect((await t.api('POST', `/v1/callbacks/${cb.body.id}/enable`, undefined, { auth: me.auth })).status).toBe(200);
      await waitForDelivery(t, me.auth, d.id, 'delivered');
    });

    it('walks the failed deliveries in batches: each is re-opened once, across batch boundaries', async () => {
      const { t, receiver } = h;
      receiver.behaviour = (req, res) => res.writeHead(req.path === '/br-batch' ? 500 : 200).end('x');
      const me = await tenant(t, 'br-b');
      const cb = await t.api('POST', '/v1/callbacks', { title: 'b', url: `${receiver.url}/br-batch` }, { auth: me.auth });
      expect(cb.status).toBe(201);
      const batch = await t.api('POST', '/v1/events/batch', { events: Array.from({ length: 5 }, () => ({ type: 'sms.sent', data: {} })) }, { auth: me.auth });
      expect(batch.status).toBe(202);
      await waitUntil(async () => [...(await deliveries(t, me)).values()].filter((d) => d.state === 'failed' && !d.in_flight).length === 5, '5 failed');
      // The receiver keeps failing: re-opened deliveries may fail again while the walk goes on; none is taken twice.
      const store = t.relay.store;
      expect(await retryFailedDeliveries(store.db, store.caps, me.accountId, { callbackId: cb.body.id }, Date.now(), 2)).toBe(5);
    });
  });
}
