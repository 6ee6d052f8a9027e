import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { basic, type TestRelay } from '../helpers/relay.js';
import { createApiUser } from '../../src/admin/accounts.js';
import { eventDeliveries, expectError, tenant, useRelay, waitForDelivery, waitUntil, type Tenant } from './support.js';

/** How many deliveries the tenant has in all: every stored event that matched a callback adds one. */
const deliveryTotal = async (t: TestRelay, who: Tenant) => {
  const r = await t.api('GET', '/v1/deliveries?limit=1', undefined, { auth: who.auth });
  expect(r.status).toBe(200);
  return r.body.total as number;
};

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`events API on ${backend.name}`, () => {
    const h = useRelay(backend);

    /** A fresh tenant with one callback that takes every event, on its own receiver path. */
    const setup = async (label: string) => {
      const { t, receiver } = h;
      const me = await tenant(t, label);
      const path = `/${label}`;
      const cb = await t.api('POST', '/v1/callbacks', { title: label, url: `${receiver.url}${path}` }, { auth: me.auth });
      expect(cb.status).toBe(201);
      const received = () => receiver.received.filter((r) => r.path === path);
      return { me, cb: cb.body as { id: string; secret: string }, path, received };
    };

    it('POST /v1/events answers 202 {id}; the event is stored with its delivery and delivered', async () => {
      const { t, receiver } = h;
      const { me, cb, path, received } = await setup('ev-one');
      const res = await t.api(
        'POST',
        '/v1/events',
        { type: 'sms.delivered', data: { to: '+33600000001' }, resource_id: 'msg-1', custom_args: { order: 42 } },
        { auth: me.auth },
      );
      expect(res.status).toBe(202);
      expect(Object.keys(res.body)).toEqual(['id']);
      expect(res.body.id).toMatch(/^evt_/);

      await receiver.waitFor((r) => r.some((x) => x.path === path), undefined, 'the delivery');
      expect(received()).toHaveLength(1);
      expect(received()[0]!.headers['webhook-id']).toBe(res.body.id);

      const ev = await t.api('GET', `/v1/events/${res.body.id}`, undefined, { auth: me.auth });
      expect(ev.status).toBe(200);
      expect(ev.body).toMatchObject({
        id: res.body.id,
        type: 'sms.delivered',
        data: { to: '+33600000001' },
        resource_id: 'msg-1',
        callback_profile_id: null,
        custom_args: { order: 42 },
      });
      expect(ev.body.deliveries).toHaveLength(1);
      expect(ev.body.deliveries[0]).toMatchObject({ event_id: res.body.id, callback_id: cb.id, event_type: 'sms.delivered' });
      await waitForDelivery(t, me.auth, ev.body.deliveries[0].id, 'delivered');
      const again = await eventDeliveries(t, me.auth, res.body.id);
      expect(again[0]).toMatchObject({ state: 'delivered', attempts: 1, last_status: 200 });

      expectError(await t.api('GET', '/v1/events/evt_nope', undefined, { auth: me.auth }), 404, 'not_found');
    });

    it('routes by subscription: a callback gets only the types it subscribed to, a disabled one gets nothing', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'ev-subs');
      const mk = async (title: string, body: Record<string, unknown>) =>
        (await t.api('POST', '/v1/callbacks', { title, url: `${receiver.url}/${title}`, ...body }, { auth: me.auth })).body.id as string;
      const sms = await mk('subs-sms', { events: ['sms.delivered'] });
      const all = await mk('subs-all', {});
      const off = await mk('subs-off', { enabled: false });
      const e1 = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: {} }, { auth: me.auth });
      const e2 = await t.api('POST', '/v1/events', { type: 'email.open', data: {} }, { auth: me.auth });
      const cbs = async (id: string) => (await eventDeliveries(t, me.auth, id)).map((d) => d.callback_id).sort();
      expect(await cbs(e1.body.id)).toEqual([sms, all].sort());
      expect(await cbs(e2.body.id)).toEqual([all]);
      expect((await t.api('GET', `/v1/deliveries?callback_id=${off}`, undefined, { auth: me.auth })).body.total).toBe(0);
    });

    it('POST /v1/events/batch answers 202 {ids} in input order', async () => {
      const { t } = h;
      const { me } = await setup('ev-batch');
      const types = ['sms.sent', 'email.open', 'otp.verified', 'sms.delivered'];
      const res = await t.api('POST', '/v1/events/batch', { events: types.map((type, n) => ({ type, data: { n } })) }, { auth: me.auth });
      expect(res.status).toBe(202);
      expect(Object.keys(res.body)).toEqual(['ids']);
      expect(res.body.ids).toHaveLength(4);
      expect(new Set(res.body.ids).size).toBe(4);
      for (const [n, id] of (res.body.ids as string[]).entries()) {
        const ev = await t.api('GET', `/v1/events/${id}`, undefined, { auth: me.auth });
        expect(ev.body).toMatchObject({ id, type: types[n], data: { n } });
        expect(ev.body.deliveries).toHaveLength(1);
      }
      expect(await deliveryTotal(t, me)).toBe(4);
    });

    it('refuses a batch over 1000 events, or empty, storing nothing', async () => {
      const { t } = h;
      const { me } = await setup('ev-batch-big');
      const big = Array.from({ length: 1001 }, (_, n) => ({ type: 'sms.sent', data: { n } }));
      expectError(await t.api('POST', '/v1/events/batch', { events: big }, { auth: me.auth }), 422, 'invalid', 'events');
      expectError(await t.api('POST', '/v1/events/batch', { events: [] }, { auth: me.auth }), 422, 'invalid', 'events');
      expectError(await t.api('POST', '/v1/events/batch', { events: [{ type: 'sms.sent', data: {} }], extra: 1 }, { auth: me.auth }), 422, 'invalid', 'extra');
      expect(await deliveryTotal(t, me)).toBe(0);
      // 1000 is the limit, not over it.
      const ok = await t.api('POST', '/v1/events/batch', { events: big.slice(0, 1000) }, { auth: me.auth });
      expect(ok.status).toBe(202);
      expect(ok.body.ids).toHaveLength(1000);
      expect(await deliveryTotal(t, me)).toBe(1000);
    });

    it('refuses a whole batch when one event is invalid, naming it, and stores none of it', async () => {
      const { t, receiver } = h;
      const { me, cb, path } = await setup('ev-batch-bad');
      const good = { type: 'sms.sent', data: { ok: true } };
      // Each refused batch starts with a valid event carrying the key `b-1`.
      const first = { ...good, id: 'b-1' };
      const cases: [unknown[], string][] = [
        [[first, { type: 'sms.nope', data: {} }, good], 'events[1].type'],
        [[first, good, { type: 'sms.sent' }], 'events[2].data'],
        [[first, { type: 'sms.sent', data: 'text' }], 'events[1].data'],
        [[first, { type: 'sms.sent', data: {}, colour: 'red' }], 'events[1].colour'],
        [[first, { type: 'sms.sent', data: {}, callback_profile_id: 'cb_nope' }], 'events[1].callback_profile_id'],
        [[{ type: 'sms.nope', data: {} }], 'events[0].type'],
      ];
      for (const [events, field] of cases) {
        const r = await t.api('POST', '/v1/events/batch', { events }, { auth: me.auth });
        expectError(r, 422, 'invalid', field);
      }
      expect(await deliveryTotal(t, me)).toBe(0);
      // Nothing was stored, not even the valid events' keys: `b-1` is still free and makes a new event.
      const ok = await t.api('POST', '/v1/events/batch', { events: [first] }, { auth: me.auth });
      expect(ok.status).toBe(202);
      await waitForDelivery(t, me.auth, (await eventDeliveries(t, me.auth, ok.body.ids[0]))[0].id, 'delivered');
      expect(receiver.received.filter((r) => r.path === path)).toHaveLength(1);
      expect((await t.api('GET', `/v1/deliveries?callback_id=${cb.id}`, undefined, { auth: me.auth })).body.total).toBe(1);
    });

    it('refuses an invalid single event with 422 naming the field, storing nothing', async () => {
      const { t } = h;
      const { me } = await setup('ev-bad');
      const post = (body: unknown) => t.api('POST', '/v1/events', body, { auth: me.auth });
      expectError(await post({ type: 'sms.nope', data: {} }), 422, 'invalid', 'type');
      expect((await post({ type: 'sms.nope', data: {} })).body.message).toContain('sms.nope');
      expectError(await post({ type: '120', data: {} }), 422, 'invalid', 'type');
      expectError(await post({ data: {} }), 422, 'invalid', 'type');
      expectError(await post({ type: 'sms.sent' }), 422, 'invalid', 'data');
      expectError(await post({ type: 'sms.sent', data: [1, 2] }), 422, 'invalid', 'data');
      expectError(await post({ type: 'sms.sent', data: {}, colour: 'red' }), 422, 'invalid', 'colour');
      expectError(await post({ type: 'sms.sent', data: {}, resource_id: 7 }), 422, 'invalid', 'resource_id');
      expectError(await post({ type: 'sms.sent', data: {}, id: '' }), 422, 'invalid', 'id');
      expectError(await t.api('POST', '/v1/events', undefined, { auth: me.auth, raw: '{"type":"sms.sent","data":{' }), 400, 'malformed_json');
      const huge = JSON.stringify({ type: 'sms.sent', data: { pad: 'p'.repeat(1024 * 1024) } });
      expectError(await t.api('POST', '/v1/events', undefined, { auth: me.auth, raw: huge }), 413, 'payload_too_large');
      expect(await deliveryTotal(t, me)).toBe(0);
    });

    it('Idempotency-Key: the same request twice is one event, one delivery, the same id', async () => {
      const { t, receiver } = h;
      const { me, path, received } = await setup('ev-idem-key');
      const body = { type: 'sms.delivered', data: { n: 1 } };
      const headers = { 'idempotency-key': 'order-1001' };
      const a = await t.api('POST', '/v1/events', body, { auth: me.auth, headers });
      const b = await t.api('POST', '/v1/events', body, { auth: me.auth, headers });
      expect(a.status).toBe(202);
      expect(b.status).toBe(202);
      expect(b.body.id).toBe(a.body.id);
      // Concurrent repeats too (they may share one group commit).
      const many = await Promise.all(Array.from({ length: 5 }, () => t.api('POST', '/v1/events', body, { auth: me.auth, headers })));
      for (const r of many) expect(r.body.id).toBe(a.body.id);

      const deliveries = await eventDeliveries(t, me.auth, a.body.id);
      expect(deliveries).toHaveLength(1);
      expect(await deliveryTotal(t, me)).toBe(1);
      await waitForDelivery(t, me.auth, deliveries[0].id, 'delivered');
      await receiver.waitFor((r) => r.some((x) => x.path === path));
      expect(received()).toHaveLength(1);

      // Another key is another event.
      const c = await t.api('POST', '/v1/events', body, { auth: me.auth, headers: { 'idempotency-key': 'order-1002' } });
      expect(c.body.id).not.toBe(a.body.id);
      expect(await deliveryTotal(t, me)).toBe(2);
    });

    it('an event id is its idempotency key: twice is one event, in a batch too', async () => {
      const { t } = h;
      const { me } = await setup('ev-idem-id');
      const a = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {}, id: 'msg-77' }, { auth: me.auth });
      const b = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {}, id: 'msg-77' }, { auth: me.auth });
      expect(a.status).toBe(202);
      expect(b.body.id).toBe(a.body.id);
      expect(await deliveryTotal(t, me)).toBe(1);

      const batch = await t.api(
        'POST',
        '/v1/events/batch',
        {
          events: [
            { type: 'sms.sent', data: { n: 0 }, id: 'k-1' },
            { type: 'sms.sent', data: { n: 0 }, id: 'k-1' },
            { type: 'sms.sent', data: { n: 2 }, id: 'k-2' },
            { type: 'sms.sent', data: {}, id: 'msg-77' },
            { type: 'sms.sent', data: { n: 4 } },
          ],
        },
        { auth: me.auth },
      );
      expect(batch.status).toBe(202);
      const ids = batch.body.ids as string[];
      expect(ids).toHaveLength(5);
      expect(ids[1]).toBe(ids[0]);
      expect(ids[2]).not.toBe(ids[0]);
      expect(ids[3]).toBe(a.body.id);
      expect(new Set(ids).size).toBe(4);
      // k-1, k-2 and the one without an id are new: three more deliveries.
      expect(await deliveryTotal(t, me)).toBe(4);
      expect((await t.api('GET', `/v1/events/${ids[0]}`, undefined, { auth: me.auth })).body.data).toEqual({ n: 0 });

      const single = await t.api('POST', '/v1/events', { type: 'sms.sent', data: { n: 2 }, id: 'k-2' }, { auth: me.auth });
      expect(single.body.id).toBe(ids[2]);
      expect(await deliveryTotal(t, me)).toBe(4);
    });

    it('a key reused with another request is 409 conflict, single and batch, storing nothing; the same request (keys in any order) is still a repeat', async () => {
      const { t } = h;
      const { me } = await setup('ev-idem-conflict');
      const post = (body: unknown, headers: Record<string, string> = {}) => t.api('POST', '/v1/events', body, { auth: me.auth, headers });
      const batch = (events: unknown[]) => t.api('POST', '/v1/events/batch', { events }, { auth: me.auth });
      const headers = { 'idempotency-key': 'order-2001' };
      const a = await post({ type: 'sms.delivered', data: { n: 1, to: '+33600000000' } }, headers);
      expect(a.status).toBe(202);
      // The same request, its keys in another order: the same id.
      expect((await post({ data: { to: '+33600000000', n: 1 }, type: 'sms.delivered' }, headers)).body.id).toBe(a.body.id);
      // Another body, another type, an added field: each a conflict that names the key.
      for (const body of [
        { type: 'sms.delivered', data: { n: 2, to: '+33600000000' } },
        { type: 'sms.sent', data: { n: 1, to: '+33600000000' } },
        { type: 'sms.delivered', data: { n: 1, to: '+33600000000' }, resource_id: 'm-1' },
      ]) {
        const r = await post(body, headers);
        expectError(r, 409, 'conflict');
        expect(r.body.message).toContain('order-2001');
        expect(r.body.message).toContain('another request');
      }
      // The event id as key, single and in a batch.
      const b = await post({ type: 'sms.sent', data: { n: 1 }, id: 'msg-2002' });
      expect(b.status).toBe(202);
      expectError(await post({ type: 'sms.sent', data: { n: 9 }, id: 'msg-2002' }), 409, 'conflict');
      const refused = await batch([
        { type: 'sms.sent', data: { n: 5 }, id: 'msg-2003' },
        { type: 'sms.sent', data: { n: 9 }, id: 'msg-2002' },
      ]);
      expectError(refused, 409, 'conflict');
      expect(refused.body.message).toContain('events[1].id "msg-2002"');
      // Twice in one batch with two bodies.
      expectError(
        await batch([
          { type: 'sms.sent', data: { n: 1 }, id: 'msg-2004' },
          { type: 'sms.sent', data: { n: 2 }, id: 'msg-2004' },
        ]),
        409,
        'conflict',
      );
      // Nothing of the refused requests was stored: msg-2003 is new, and only a and b have deliveries.
      expect(await deliveryTotal(t, me)).toBe(2);
      const again = await batch([
        { type: 'sms.sent', data: { n: 1 }, id: 'msg-2002' },
        { type: 'sms.sent', data: { n: 5 }, id: 'msg-2003' },
      ]);
      expect(again.status).toBe(202);
      expect(again.body.ids[0]).toBe(b.body.id);
      expect(await deliveryTotal(t, me)).toBe(3);
      // Concurrent requests sharing a group commit: the conflicting one alone is refused.
      const mixed = await Promise.all([
        post({ type: 'sms.sent', data: { n: 1 }, id: 'msg-2002' }),
        post({ type: 'sms.sent', data: { n: 7 }, id: 'msg-2002' }),
        post({ type: 'sms.sent', data: { n: 8 } }),
      ]);
      expect(mixed.map((r) => r.status)).toEqual([202, 409, 202]);
      expect(mixed[0]!.body.id).toBe(b.body.id);
      expect(await deliveryTotal(t, me)).toBe(4);
    });

    it('callback_profile_id routes to exactly that callback, even when others subscribe', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'ev-profile');
      const mk = async (title: string, body: Record<string, unknown> = {}) => {
        const r = await t.api('POST', '/v1/callbacks', { title, url: `${receiver.url}/${title}`, ...body }, { auth: me.auth });
        expect(r.status).toBe(201);
        return r.body.id as string;
      };
      const target = await mk('profile-target', { events: ['email.open'] });
      await mk('profile-other');
      await mk('profile-other-2', { events: ['sms.delivered'] });
      const off = await mk('profile-off', { enabled: false });

      const ev = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: {}, callback_profile_id: target }, { auth: me.auth });
      expect(ev.status).toBe(202);
      const deliveries = await eventDeliveries(t, me.auth, ev.body.id);
      expect(deliveries.map((d) => d.callback_id)).toEqual([target]);
      expect((await t.api('GET', `/v1/events/${ev.body.id}`, undefined, { auth: me.auth })).body.callback_profile_id).toBe(target);
      await waitForDelivery(t, me.auth, deliveries[0].id, 'delivered');
      expect(receiver.received.filter((r) => r.headers['webhook-id'] === ev.body.id).map((r) => r.path)).toEqual(['/profile-target']);

      const disabled = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: {}, callback_profile_id: off }, { auth: me.auth });
      expectError(disabled, 422, 'invalid', 'callback_profile_id');
      expectError(
        await t.api('POST', '/v1/events', { type: 'sms.delivered', data: {}, callback_profile_id: 'cb_nope' }, { auth: me.auth }),
        422,
        'invalid',
        'callback_profile_id',
      );
      expect(await deliveryTotal(t, me)).toBe(1);
    });

    it('a callback scoped to an api user gets only the events that api user sends', async () => {
      const { t, receiver } = h;
      const main = await tenant(t, 'ev-scope');
      const secondName = `${main.apiUser}-second`;
      const second = await createApiUser(t.relay.store, { name: secondName, accountId: main.accountId });
      const secondAuth = basic(second.apiUser, second.apiKey);

      const mk = async (title: string, body: Record<string, unknown>) => {
        const r = await t.api('POST', '/v1/callbacks', { title, url: `${receiver.url}/${title}`, ...body }, { auth: main.auth });
        expect(r.status).toBe(201);
        return r.body;
      };
      const everyone = await mk('scope-all', {});
      const onlySecond = await mk('scope-second', { api_user: secondName });
      expect(onlySecond.api_user).toBe(secondName);
      // The second api user sees the same account's callbacks.
      expect((await t.api('GET', '/v1/callbacks', undefined, { auth: secondAuth })).body.total).toBe(2);

      const fromMain = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {} }, { auth: main.auth });
      const fromSecond = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {} }, { auth: secondAuth });
      const cbs = async (id: string) => (await eventDeliveries(t, main.auth, id)).map((d) => d.callback_id).sort();
      expect(await cbs(fromMain.body.id)).toEqual([everyone.id]);
      expect(await cbs(fromSecond.body.id)).toEqual([everyone.id, onlySecond.id].sort());

      await receiver.waitFor((r) => r.filter((x) => x.path.startsWith('/scope-')).length >= 3, undefined, 'three deliveries');
      const toSecond = receiver.received.filter((r) => r.path === '/scope-second').map((r) => r.headers['webhook-id']);
      expect(toSecond).toEqual([fromSecond.body.id]);

      // Scoping to an unknown api user, or another account's, is refused.
      const other = await tenant(t, 'ev-scope-other');
      const bad = await t.api('POST', '/v1/callbacks', { title: 'x', url: `${receiver.url}/x`, api_user: other.apiUser }, { auth: main.auth });
      expectError(bad, 422, 'invalid', 'api_user');
      expectError(await t.api('PATCH', `/v1/callbacks/${everyone.id}`, { api_user: 'no-such-user' }, { auth: main.auth }), 422, 'invalid', 'api_user');
      // Unscoping with null.
      const unscoped = await t.api('PATCH', `/v1/callbacks/${onlySecond.id}`, { api_user: null }, { auth: main.auth });
      expect(unscoped.body.api_user).toBeNull();
      const later = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {} }, { auth: main.auth });
      expect(await cbs(later.body.id)).toEqual([everyone.id, onlySecond.id].sort());
    });

    it('a disabled callback gets no deliveries for new events; enabled again, it does', async () => {
      const { t, receiver } = h;
      const { me, cb, path, received } = await setup('ev-held');
      await t.api('POST', `/v1/callbacks/${cb.id}/disable`, undefined, { auth: me.auth });
      const ev = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {} }, { auth: me.auth });
      // Disabled: no delivery is even created for new events.
      expect(await eventDeliveries(t, me.auth, ev.body.id)).toEqual([]);
      await t.api('POST', `/v1/callbacks/${cb.id}/enable`, undefined, { auth: me.auth });
      const ev2 = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {} }, { auth: me.auth });
      await receiver.waitFor((r) => r.some((x) => x.path === path));
      expect(received().map((r) => r.headers['webhook-id'])).toEqual([ev2.body.id]);
      await waitUntil(async () => (await eventDeliveries(t, me.auth, ev2.body.id))[0]?.state === 'delivered', 'delivered');
    });
  });
}
