import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { eventDeliveries, expectError, nextMillisecond, tenant, useRelay, waitForDelivery } from './support.js';

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`deliveries API on ${backend.name}`, () => {
    const h = useRelay(backend);
    /** What the receiver answers, per path; default 200 "thanks". */
    const answers = new Map<string, { status: number; body: string }>();

    const setup = async (label: string) => {
      const { t, receiver } = h;
      receiver.behaviour = (req, res) => {
        const a = answers.get(req.path) ?? { status: 200, body: 'thanks' };
        res.writeHead(a.status, { 'content-type': 'text/plain', 'x-receiver': 'test' }).end(a.body);
      };
      const me = await tenant(t, label);
      const mk = async (path: string, body: Record<string, unknown> = {}) => {
        const r = await t.api('POST', '/v1/callbacks', { title: path, url: `${receiver.url}${path}`, ...body }, { auth: me.auth });
        expect(r.status).toBe(201);
        return r.body as { id: string; secret: string };
      };
      const send = async (type: string, data: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => {
        const r = await t.api('POST', '/v1/events', { type, data, ...extra }, { auth: me.auth });
        expect(r.status).toBe(202);
        return r.body.id as string;
      };
      return { me, mk, send };
    };

    it('reads a delivery with its attempts: the request as sent (signature redacted) and the response', async () => {
      const { t, receiver } = h;
      const { me, mk, send } = await setup('dl-read');
      const cb = await mk('/dl-read', { headers: { 'X-Static': 'on', Authorization: 'Bearer s3cr3t-token' } });
      const eventId = await send('sms.delivered', { to: '+33600000002' });
      const [d] = await eventDeliveries(t, me.auth, eventId);
      const done = await waitForDelivery(t, me.auth, d.id, 'delivered');

      expect(done).toMatchObject({
        id: d.id,
        event_id: eventId,
        event_type: 'sms.delivered',
        callback_id: cb.id,
        state: 'delivered',
        last_status: 200,
        last_error: null,
        next_attempt_at: null,
        in_flight: false,
      });
      expect(done.completed_at).toEqual(expect.any(String));
      // On read, `attempts` is the list of attempts (the list endpoint gives their count).
      expect(done.attempt_log).toHaveLength(1);
      const listed = await t.api('GET', `/v1/deliveries?event_id=${eventId}`, undefined, { auth: me.auth });
      expect(listed.body.data[0]).toMatchObject({ id: d.id, attempts: 1, state: 'delivered' });
      const a = done.attempt_log[0];
      expect(a).toMatchObject({ attempt: 1, outcome: 'success', error: null });
      expect(a.request.method).toBe('POST');
      expect(a.request.url).toBe(`${receiver.url}/dl-read`);
      expect(a.request.headers['webhook-signature']).toBe('[redacted]');
      expect(a.request.headers['webhook-id']).toBe(eventId);
      expect(a.request.headers['X-Static'] ?? a.request.headers['x-static']).toBe('on');
      expect(JSON.parse(a.request.body)).toMatchObject({ type: 'sms.delivered', data: { to: '+33600000002' } });
      expect(a.response.status).toBe(200);
      expect(a.response.body).toBe('thanks');
      expect(a.response.headers['x-receiver']).toBe('test');
      expect(a.duration_ms).toEqual(expect.any(Number));

      // What the receiver really got was signed; the record never holds a secret.
      const got = receiver.received.find((r) => r.path === '/dl-read')!;
      expect(String(got.headers['webhook-signature'])).toMatch(/^v1,/);
      const record = JSON.stringify((await t.api('GET', `/v1/deliveries/${d.id}`, undefined, { auth: me.auth })).body);
      expect(record).not.toContain(String(got.headers['webhook-signature']).slice(3));
      expect(record).not.toContain(cb.secret);
      expect(record).not.toContain(cb.secret.slice('whsec_'.length));
      expect(record).not.toContain('s3cr3t-token');
    });

    it('fails after the schedule is used up (3 attempts), then POST /retry delivers it', async () => {
      const { t, receiver } = h;
      const { me, mk, send } = await setup('dl-retry');
      answers.set('/dl-retry', { status: 500, body: 'boom' });
      await mk('/dl-retry');
      const eventId = await send('sms.sent');
      const [d] = await eventDeliveries(t, me.auth, eventId);
      const full = await waitForDelivery(t, me.auth, d.id, 'failed');
      expect(full).toMatchObject({ state: 'failed', last_status: 500 });
      expect(full.last_error).toEqual(expect.any(String));
      expect(full.attempt_log.map((a: any) => a.attempt)).toEqual([1, 2, 3]);
      for (const a of full.attempt_log) {
        expect(a.outcome).toBe('retryable');
        expect(a.response).toMatchObject({ status: 500, body: 'boom' });
      }
      const sent = receiver.received.filter((r) => r.path === '/dl-retry');
      expect(sent).toHaveLength(3);
      // At-least-once with a stable id: every attempt carries the event id.
      expect(new Set(sent.map((r) => r.headers['webhook-id']))).toEqual(new Set([eventId]));

      answers.set('/dl-retry', { status: 200, body: 'ok now' });
      const retry = await t.api('POST', `/v1/deliveries/${d.id}/retry`, undefined, { auth: me.auth });
      expect(retry.status).toBe(202);
      expect(retry.body).toMatchObject({ id: d.id, state: 'pending' });
      const after = await waitForDelivery(t, me.auth, d.id, 'delivered');
      expect(after).toMatchObject({ last_status: 200, last_error: null });
      expect(after.attempt_log).toHaveLength(4);
      expect(after.attempt_log[3]).toMatchObject({ attempt: 4, outcome: 'success', response: { status: 200, body: 'ok now' } });
      expect(receiver.received.filter((r) => r.path === '/dl-retry')).toHaveLength(4);
    });

    it('POST /v1/callbacks/{id}/recover {since} re-queues the failed deliveries since then, and they are delivered', async () => {
      const { t, receiver } = h;
      const { me, mk, send } = await setup('dl-recover');
      answers.set('/dl-recover', { status: 503, body: 'down' });
      const cb = await mk('/dl-recover');
      const other = await mk('/dl-recover-other');
      answers.set('/dl-recover-other', { status: 500, body: 'down too' });
      const first = await send('sms.sent', { n: 1 });
      const firstDeliveries = await eventDeliveries(t, me.auth, first);
      await nextMillisecond(Date.parse(firstDeliveries[0].created_at));
      const since = new Date().toISOString();
      const e2 = await send('sms.sent', { n: 2 });
      const e3 = await send('sms.sent', { n: 3 });
      const later = [...(await eventDeliveries(t, me.auth, e2)), ...(await eventDeliveries(t, me.auth, e3))];
      await Promise.all([...firstDeliveries, ...later].map((d) => waitForDelivery(t, me.auth, d.id, 'failed')));

      answers.set('/dl-recover', { status: 200, body: 'back' });
      // Nothing failed after a future time.
      const none = await t.api('POST', `/v1/callbacks/${cb.id}/recover`, { since: new Date(Date.now() + 60_000).toISOString() }, { auth: me.auth });
      expect(none.status).toBe(202);
      expect(none.body).toEqual({ requeued: 0 });

      const recoveredAt = Date.now();
      const rec = await t.api('POST', `/v1/callbacks/${cb.id}/recover`, { since }, { auth: me.auth });
      expect(rec.status).toBe(202);
      expect(rec.body).toEqual({ requeued: 2 });
      const mine = later.filter((d) => d.callback_id === cb.id);
      expect(mine).toHaveLength(2);
      for (const d of mine) await waitForDelivery(t, me.auth, d.id, 'delivered');
      const gotBack = receiver.received.filter((r) => r.path === '/dl-recover' && r.at >= recoveredAt);
      expect(new Set(gotBack.map((r) => r.headers['webhook-id']))).toEqual(new Set([e2, e3]));

      // The earlier failure and the other callback's failures stay failed.
      const firstMine = firstDeliveries.find((d) => d.callback_id === cb.id);
      expect((await t.api('GET', `/v1/deliveries/${firstMine.id}`, undefined, { auth: me.auth })).body.state).toBe('failed');
      const otherFailed = await t.api('GET', `/v1/deliveries?callback_id=${other.id}&state=failed`, undefined, { auth: me.auth });
      expect(otherFailed.body.total).toBe(3);

      expectError(await t.api('POST', `/v1/callbacks/${cb.id}/recover`, { since: 'yesterday' }, { auth: me.auth }), 422, 'invalid', 'since');
      expectError(await t.api('POST', `/v1/callbacks/${cb.id}/recover`, {}, { auth: me.auth }), 422, 'invalid', 'since');
      expectError(await t.api('POST', `/v1/callbacks/cb_nope/recover`, { since }, { auth: me.auth }), 404, 'not_found');
    });

    it('lists deliveries newest first, with filters and offset/limit/total', async () => {
      const { t } = h;
      const { me, mk, send } = await setup('dl-list');
      answers.set('/dl-list-bad', { status: 500, body: 'no' });
      const good = await mk('/dl-list-good');
      const bad = await mk('/dl-list-bad', { events: ['email.open'] });
      const e1 = await send('sms.sent');
      const e2 = await send('email.open');
      const early = [...(await eventDeliveries(t, me.auth, e1)), ...(await eventDeliveries(t, me.auth, e2))];
      await nextMillisecond(Math.max(...early.map((d) => Date.parse(d.created_at))));
      const boundary = new Date().toISOString();
      const e3 = await send('email.open');
      const late = await eventDeliveries(t, me.auth, e3);
      await Promise.all([...early, ...late].map((d) => waitForDelivery(t, me.auth, d.id, d.callback_id === bad.id ? 'failed' : 'delivered')));
      // e1 → good; e2 → good, bad; e3 → good, bad.
      const list = (qs: string) => t.api('GET', `/v1/deliveries?${qs}`, undefined, { auth: me.auth });
      const ids = (r: { body: any }) => (r.body.data as { id: number }[]).map((d) => d.id);

      const all = await list('');
      expect(all.body).toMatchObject({ total: 5, offset: 0, limit: 50 });
      const allIds = ids(all);
      expect(allIds).toEqual([...allIds].sort((x, y) => y - x));
      const p1 = await list('limit=2');
      const p2 = await list('limit=2&offset=2');
      const p3 = await list('limit=2&offset=4');
      expect(p1.body).toMatchObject({ total: 5, offset: 0, limit: 2 });
      expect([...ids(p1), ...ids(p2), ...ids(p3)]).toEqual(allIds);
      expect(ids(p3)).toHaveLength(1);

      const byCb = await list(`callback_id=${bad.id}`);
      expect(byCb.body.total).toBe(2);
      expect(byCb.body.data.every((d: any) => d.callback_id === bad.id)).toBe(true);
      const failed = await list('state=failed');
      expect(failed.body.total).toBe(2);
      expect(failed.body.data.every((d: any) => d.state === 'failed' && d.attempts === 3)).toBe(true);
      expect((await list('state=delivered')).body.total).toBe(3);
      expect((await list('state=pending')).body.total).toBe(0);
      const byType = await list('event_type=email.open');
      expect(byType.body.total).toBe(4);
      expect(byType.body.data.every((d: any) => d.event_type === 'email.open')).toBe(true);
      expect((await list(`event_type=email.open&callback_id=${good.id}&state=delivered`)).body.total).toBe(2);
      expect((await list(`event_id=${e2}`)).body.total).toBe(2);

      const q = encodeURIComponent(boundary);
      expect(ids(await list(`created_after=${q}`)).sort()).toEqual(late.map((d) => d.id).sort());
      expect(ids(await list(`created_before=${q}`)).sort()).toEqual(early.map((d) => d.id).sort());
      expect((await list(`created_after=${q}&state=failed`)).body.total).toBe(1);
      // The event type with a time range: read through the type's events in that range.
      expect(ids(await list(`event_type=email.open&created_after=${q}`)).sort()).toEqual(late.map((d) => d.id).sort());
      expect((await list(`event_type=email.open&created_after=${q}`)).body.total).toBe(2);
      expect(ids(await list(`event_type=email.open&created_before=${q}`)).sort()).toEqual(early.filter((d) => d.event_id === e2).map((d) => d.id).sort());
      expect((await list(`event_type=sms.sent&created_after=${q}`)).body).toMatchObject({ data: [], total: 0 });
      expect((await list(`event_type=email.open&created_after=${q}&callback_id=${bad.id}&state=failed`)).body.total).toBe(1);

      expectError(await list('state=lost'), 422, 'invalid', 'querystring.state');
      expectError(await list('limit=0'), 422, 'invalid', 'querystring.limit');
      expectError(await list('offset=-1'), 422, 'invalid', 'querystring.offset');
      expectError(await list('created_before=soon'), 422, 'invalid', 'querystring.created_before');
      expectError(await list('colour=red'), 422, 'invalid', /colour/);
    });

    it('answers 404 or 422, never 500, for delivery ids that are not numbers or do not exist', async () => {
      const { t } = h;
      const me = await tenant(t, 'dl-ids');
      for (const id of ['abc', '1.5', '-1', '1e3', '0x10', '99999999999999999999', '%20', 'null', '12abc']) {
        for (const [method, suffix] of [
          ['GET', ''],
          ['POST', '/retry'],
        ] as const) {
          const r = await t.api(method, `/v1/deliveries/${id}${suffix}`, undefined, { auth: me.auth });
          expect([404, 422], `${method} ${id}${suffix}: ${JSON.stringify(r.body)}`).toContain(r.status);
          expectError(r, r.status, r.status === 404 ? 'not_found' : 'invalid');
        }
      }
      for (const id of ['0', '1', '123456789012345', '2147483648']) {
        expectError(await t.api('GET', `/v1/deliveries/${id}`, undefined, { auth: me.auth }), 404, 'not_found');
        expectError(await t.api('POST', `/v1/deliveries/${id}/retry`, undefined, { auth: me.auth }), 404, 'not_found');
      }
    });

    it('refuses to retry a held delivery (its callback is disabled) with 409', async () => {
      const { t } = h;
      const { me, mk, send } = await setup('dl-held');
      answers.set('/dl-held', { status: 500, body: 'no' });
      const cb = await mk('/dl-held');
      const eventId = await send('sms.sent');
      const [d] = await eventDeliveries(t, me.auth, eventId);
      await waitForDelivery(t, me.auth, d.id, 'failed');
      await t.api('POST', `/v1/callbacks/${cb.id}/disable`, undefined, { auth: me.auth });
      // Recovering while disabled re-queues as held; a held delivery cannot be retried.
      const rec = await t.api('POST', `/v1/callbacks/${cb.id}/recover`, { since: new Date(0).toISOString() }, { auth: me.auth });
      expect(rec.body).toEqual({ requeued: 1 });
      expect((await t.api('GET', `/v1/deliveries/${d.id}`, undefined, { auth: me.auth })).body.state).toBe('held');
      expectError(await t.api('POST', `/v1/deliveries/${d.id}/retry`, undefined, { auth: me.auth }), 409, 'conflict');
      // Enabling releases it.
      answers.set('/dl-held', { status: 200, body: 'ok' });
      await t.api('POST', `/v1/callbacks/${cb.id}/enable`, undefined, { auth: me.auth });
      await waitForDelivery(t, me.auth, d.id, 'delivered');
    });
  });
}
