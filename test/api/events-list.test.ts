import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { expectError, nextMillisecond, tenant, useRelay, waitUntil } from './support.js';

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`GET /v1/events on ${backend.name}`, () => {
    const h = useRelay(backend);

    it('lists events newest first, filtered by type, resource id and time, paginated, with deliveries counted by state', async () => {
      const { t, receiver } = h;
      receiver.behaviour = (req, res) => res.writeHead(req.path === '/evl-bad' ? 500 : 200).end('x');
      const me = await tenant(t, 'evl');
      const other = await tenant(t, 'evl-o');
      const mk = async (path: string, extra: Record<string, unknown> = {}) => {
        const r = await t.api('POST', '/v1/callbacks', { title: path, url: `${receiver.url}${path}`, ...extra }, { auth: me.auth });
        expect(r.status).toBe(201);
        return r.body.id as string;
      };
      await mk('/evl-ok', { events: ['sms.delivered', 'sms.undelivered'] });
      await mk('/evl-bad', { events: ['sms.delivered'] });
      const send = async (type: string, resource_id?: string) => {
        const r = await t.api('POST', '/v1/events', { type, data: { n: type }, ...(resource_id ? { resource_id } : {}) }, { auth: me.auth });
        expect(r.status).toBe(202);
        const created = Date.parse((await t.api('GET', `/v1/events/${r.body.id}`, undefined, { auth: me.auth })).body.created_at);
        await nextMillisecond(created);
        return { id: r.body.id as string, created };
      };
      const e1 = await send('sms.delivered', 'msg-1');
      const e2 = await send('sms.undelivered', 'msg-2');
      const e3 = await send('sms.delivered', 'msg-1');
      const e4 = await send('email.open');
      await t.api('POST', '/v1/events', { type: 'sms.delivered', data: {} }, { auth: other.auth });

      // e1 and e3: one delivered (ok), one failed after the schedule (bad); e2: one delivered.
      const page = await waitUntil(async () => {
        const r = await t.api('GET', '/v1/events', undefined, { auth: me.auth });
        expect(r.status).toBe(200);
        const byId = new Map(r.body.data.map((e: any) => [e.id, e.deliveries]));
        const settled = (id: string, n: number) => (byId.get(id) as any)?.delivered + (byId.get(id) as any)?.failed === n;
        return settled(e1.id, 2) && settled(e3.id, 2) && settled(e2.id, 1) ? r.body : undefined;
      }, 'the deliveries to settle');
      expect(page.total).toBe(4);
      expect(page.total_exact).toBe(true);
      expect(page).toMatchObject({ offset: 0, limit: 50 });
      expect(page.data.map((e: any) => e.id)).toEqual([e4.id, e3.id, e2.id, e1.id]);
      expect(page.data[1]).toEqual({
        id: e3.id,
        type: 'sms.delivered',
        resource_id: 'msg-1',
        created_at: new Date(e3.created).toISOString(),
        data: { n: 'sms.delivered' },
        deliveries: { total: 2, delivered: 1, failed: 1, pending: 0, held: 0 },
      });
      expect(page.data[2].deliveries).toEqual({ total: 1, delivered: 1, failed: 0, pending: 0, held: 0 });
      expect(page.data[0].deliveries).toEqual({ total: 0, delivered: 0, failed: 0, pending: 0, held: 0 });

      const list = async (qs: string) => {
        const r = await t.api('GET', `/v1/events?${qs}`, undefined, { auth: me.auth });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        return { ids: r.body.data.map((e: any) => e.id), total: r.body.total };
      };
      expect(await list('type=sms.delivered')).toEqual({ ids: [e3.id, e1.id], total: 2 });
      expect(await list('resource_id=msg-1')).toEqual({ ids: [e3.id, e1.id], total: 2 });
      expect(await list('resource_id=msg-1&type=sms.undelivered')).toEqual({ ids: [], total: 0 });
      const iso = (ms: number) => new Date(ms).toISOString();
      expect(await list(`created_after=${iso(e2.created)}&created_before=${iso(e4.created)}`)).toEqual({ ids: [e3.id, e2.id], total: 2 });
      expect(await list('limit=2&offset=1')).toEqual({ ids: [e3.id, e2.id], total: 4 });
      expect(await list('offset=10')).toEqual({ ids: [], total: 4 });

      expectError(await t.api('GET', '/v1/events?limit=0', undefined, { auth: me.auth }), 422, 'invalid', 'querystring.limit');
      expectError(await t.api('GET', '/v1/events?created_after=yesterday', undefined, { auth: me.auth }), 422, 'invalid', 'querystring.created_after');
      expectError(await t.api('GET', '/v1/events?colour=red', undefined, { auth: me.auth }), 422, 'invalid', 'querystring.colour');
    });

    it('counts the total up to offset + 10,000 matches; beyond, total is that bound and total_exact false', async () => {
      const { t } = h;
      const me = await tenant(t, 'evl-cap');
      const now = Date.now();
      const rows = Array.from({ length: 10_010 }, (_, i) => ({
        id: `evt_cap_${process.pid}_${i}`,
        account_id: me.accountId,
        api_user: me.apiUser,
        type: 'sms.sent',
        data: '{}',
        resource_id: null,
        callback_profile_id: null,
        custom_args: null,
        idempotency_key: null,
        created_at: now - i,
      }));
      await t.relay.store.db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += 500) await trx.insertInto('events').values(rows.slice(i, i + 500)).execute();
      });
      const first = await t.api('GET', '/v1/events?limit=2', undefined, { auth: me.auth });
      expect(first.body).toMatchObject({ total: 10_000, total_exact: false, offset: 0, limit: 2 });
      expect(first.body.data.map((e: any) => e.id)).toEqual([rows[0]!.id, rows[1]!.id]);
      const deep = await t.api('GET', '/v1/events?limit=2&offset=5000', undefined, { auth: me.auth });
      expect(deep.body).toMatchObject({ total: 10_010, total_exact: true });
      const typed = await t.api('GET', '/v1/events?type=sms.sent&limit=1', undefined, { auth: me.auth });
      expect(typed.body).toMatchObject({ total: 10_000, total_exact: false });
    });
  });
}
