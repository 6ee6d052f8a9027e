import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { eventDeliveries, expectError, tenant, useRelay, waitForDelivery } from './support.js';

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`tenant isolation on ${backend.name}`, () => {
    const h = useRelay(backend);

    it("a second tenant cannot see or touch the first tenant's callbacks, deliveries and events", async () => {
      const { t, receiver } = h;
      receiver.behaviour = (req, res) => res.writeHead(req.path === '/iso-a-fail' ? 500 : 200).end();
      const a = await tenant(t, 'iso-a');
      const b = await tenant(t, 'iso-b');
      const cb = (await t.api('POST', '/v1/callbacks', { title: 'mine', url: `${receiver.url}/iso-a` }, { auth: a.auth })).body;
      const failing = (await t.api('POST', '/v1/callbacks', { title: 'failing', url: `${receiver.url}/iso-a-fail` }, { auth: a.auth })).body;
      const ev = await t.api('POST', '/v1/events', { type: 'sms.sent', data: { secret: 'of a' } }, { auth: a.auth });
      expect(ev.status).toBe(202);
      const deliveries = await eventDeliveries(t, a.auth, ev.body.id);
      expect(deliveries).toHaveLength(2);
      const ok = deliveries.find((d) => d.callback_id === cb.id)!;
      const bad = deliveries.find((d) => d.callback_id === failing.id)!;
      await waitForDelivery(t, a.auth, ok.id, 'delivered');
      await waitForDelivery(t, a.auth, bad.id, 'failed');
      const before = (await t.api('GET', `/v1/callbacks/${cb.id}`, undefined, { auth: a.auth })).body;
      const secretBefore = (await t.api('GET', `/v1/callbacks/${cb.id}/secret`, undefined, { auth: a.auth })).body;

      const as = (method: string, url: string, body?: unknown) => t.api(method, url, body, { auth: b.auth });
      const since = new Date(0).toISOString();
      const attempts: [string, string, unknown?][] = [
        ['GET', `/v1/callbacks/${cb.id}`],
        ['GET', `/v1/callbacks/${cb.id}/secret`],
        ['PATCH', `/v1/callbacks/${cb.id}`, { title: 'hijacked', url: `${receiver.url}/iso-b` }],
        ['POST', `/v1/callbacks/${cb.id}/disable`],
        ['POST', `/v1/callbacks/${cb.id}/enable`],
        ['POST', `/v1/callbacks/${cb.id}/rotate-secret`],
        ['POST', `/v1/callbacks/${failing.id}/recover`, { since }],
        ['DELETE', `/v1/callbacks/${cb.id}`],
        ['GET', `/v1/deliveries/${ok.id}`],
        ['POST', `/v1/deliveries/${bad.id}/retry`],
        ['GET', `/v1/events/${ev.body.id}`],
      ];
      for (const [method, url, body] of attempts) expectError(await as(method, url, body), 404, 'not_found');

      // B's lists are empty, even when filtered on A's ids.
      for (const url of ['/v1/callbacks', '/v1/deliveries', `/v1/deliveries?callback_id=${cb.id}`, `/v1/deliveries?event_id=${ev.body.id}`]) {
        const r = await as('GET', url);
        expect(r.status).toBe(200);
        expect(r.body.total).toBe(0);
        expect(r.body.data).toEqual([]);
      }

      // A's things are untouched.
      expect((await t.api('GET', `/v1/callbacks/${cb.id}`, undefined, { auth: a.auth })).body).toEqual(before);
      expect((await t.api('GET', `/v1/callbacks/${cb.id}/secret`, undefined, { auth: a.auth })).body).toEqual(secretBefore);
      expect((await t.api('GET', `/v1/deliveries/${bad.id}`, undefined, { auth: a.auth })).body.state).toBe('failed');
      expect((await t.api('GET', '/v1/callbacks', undefined, { auth: a.auth })).body.total).toBe(2);
    });

    it("events of one tenant never reach another's callbacks; callback_profile_id cannot name them; keys are per tenant", async () => {
      const { t, receiver } = h;
      receiver.behaviour = (_req, res) => res.end();
      const a = await tenant(t, 'iso-ev-a');
      const b = await tenant(t, 'iso-ev-b');
      const cbA = (await t.api('POST', '/v1/callbacks', { title: 'a', url: `${receiver.url}/iso-ev-a` }, { auth: a.auth })).body;
      const cbB = (await t.api('POST', '/v1/callbacks', { title: 'b', url: `${receiver.url}/iso-ev-b` }, { auth: b.auth })).body;

      const fromB = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {} }, { auth: b.auth, headers: { 'idempotency-key': 'shared-key' } });
      expect(fromB.status).toBe(202);
      const bDeliveries = await eventDeliveries(t, b.auth, fromB.body.id);
      expect(bDeliveries.map((d) => d.callback_id)).toEqual([cbB.id]);
      await waitForDelivery(t, b.auth, bDeliveries[0].id, 'delivered');
      expect(receiver.received.filter((r) => r.path === '/iso-ev-a')).toHaveLength(0);
      expect((await t.api('GET', '/v1/deliveries', undefined, { auth: a.auth })).body.total).toBe(0);

      // Naming A's callback from B is as if it did not exist.
      const cross = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {}, callback_profile_id: cbA.id }, { auth: b.auth });
      expectError(cross, 422, 'invalid', 'callback_profile_id');
      const crossBatch = await t.api('POST', '/v1/events/batch', { events: [{ type: 'sms.sent', data: {} }, { type: 'sms.sent', data: {}, callback_profile_id: cbA.id }] }, { auth: b.auth });
      expectError(crossBatch, 422, 'invalid', 'events[1].callback_profile_id');
      expect((await t.api('GET', '/v1/deliveries', undefined, { auth: a.auth })).body.total).toBe(0);
      expect((await t.api('GET', '/v1/deliveries', undefined, { auth: b.auth })).body.total).toBe(1);

      // The same idempotency key in another tenant is another event.
      const fromA = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {} }, { auth: a.auth, headers: { 'idempotency-key': 'shared-key' } });
      expect(fromA.status).toBe(202);
      expect(fromA.body.id).not.toBe(fromB.body.id);
      const aDeliveries = await eventDeliveries(t, a.auth, fromA.body.id);
      expect(aDeliveries.map((d) => d.callback_id)).toEqual([cbA.id]);
      // And the same event `id` too.
      const idA = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {}, id: 'same-id' }, { auth: a.auth });
      const idB = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {}, id: 'same-id' }, { auth: b.auth });
      expect(idA.body.id).not.toBe(idB.body.id);
      expectError(await t.api('GET', `/v1/events/${idA.body.id}`, undefined, { auth: b.auth }), 404, 'not_found');
    });
  });
}
