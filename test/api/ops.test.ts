import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { basic, startTestRelay } from '../helpers/relay.js';
import { eventDeliveries, expectError, tenant, useRelay, waitForDelivery } from './support.js';

/** The value of an unlabelled (or exactly labelled) sample in Prometheus text. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`ops endpoints on ${backend.name}`, () => {
    const h = useRelay(backend);

    it('/healthz and /readyz answer 200 without credentials', async () => {
      const app = h.t.relay.app!;
      const health = await app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toEqual({ status: 'ok' });
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ready' });
    });

    it('/ is the dashboard (or, unbuilt, says how to build it), under a strict CSP', async () => {
      const res = await h.t.relay.app!.inject({ method: 'GET', url: '/' });
      expect(res.headers['content-security-policy']).toBe("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
      if (res.statusCode === 200) expect(res.body).toContain('<div id="app">');
      else expect(res.body).toMatch(/npm run build/);
    });

    it('/readyz answers 503 storage_unavailable when the database does not answer', async () => {
      const db = await backend.create();
      const t = await startTestRelay(db.url, { roles: ['api'] });
      try {
        await t.relay.store.close(); // the database goes away under a running API
        const res = await t.relay.app!.inject({ method: 'GET', url: '/readyz' });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({ code: 'storage_unavailable' });
        expect((await t.relay.app!.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      } finally {
        await t.relay.app!.close();
        await db.drop();
      }
    });

    it('a process without the api role serves /healthz, /readyz and /metrics, and no API', async () => {
      const db = await backend.create();
      const t = await startTestRelay(db.url, { roles: ['worker', 'scheduler'] });
      try {
        expect(t.relay.app).toBeUndefined();
        const ops = t.relay.ops!;
        expect((await ops.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
        const ready = await ops.inject({ method: 'GET', url: '/readyz' });
        expect(ready.statusCode).toBe(200);
        expect(ready.json()).toEqual({ status: 'ready' });
        const metrics = await ops.inject({ method: 'GET', url: '/metrics' });
        expect(metrics.statusCode).toBe(200);
        expect(sample(metrics.body, 'relay_queue_depth')).toBe(0);
        const api = await ops.inject({ method: 'POST', url: '/v1/events', payload: { type: 'sms.sent', data: {} } });
        expect(api.statusCode).toBe(404);
        expect(api.json()).toMatchObject({ code: 'not_found' });
        expect((await ops.inject({ method: 'GET', url: '/' })).statusCode).toBe(404);
      } finally {
        await t.close();
        await db.drop();
      }
    });

    it('/metrics exposes the delivery counter, attempt durations and the queue gauges', async () => {
      const { t, receiver } = h;
      receiver.behaviour = (_req, res) => res.end();
      const me = await tenant(t, 'ops-metrics');
      await t.api('POST', '/v1/callbacks', { title: 'm', url: `${receiver.url}/metrics` }, { auth: me.auth });
      const ev = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {} }, { auth: me.auth });
      const [d] = await eventDeliveries(t, me.auth, ev.body.id);
      await waitForDelivery(t, me.auth, d.id, 'delivered');

      const res = await t.relay.app!.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
      const text = res.body;
      for (const name of ['relay_deliveries_total', 'relay_queue_depth', 'relay_attempt_duration_seconds', 'relay_queue_oldest_due_age_seconds']) {
        expect(text).toContain(`# TYPE ${name} `);
      }
      expect(sample(text, 'relay_deliveries_total{outcome="success"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'relay_attempt_duration_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(text).toMatch(/^relay_attempt_duration_seconds_bucket\{le="\+Inf"\} [1-9]/m);
      // Nothing is owed once the one delivery went out.
      expect(sample(text, 'relay_queue_depth')).toBe(0);
      expect(sample(text, 'relay_queue_oldest_due_age_seconds')).toBe(0);
      expect(sample(text, 'relay_events_ingested_total')).toBeGreaterThanOrEqual(1);
    });

    it('/docs serves the UI and /docs/json is an OpenAPI document of the API', async () => {
      const app = h.t.relay.app!;
      const ui = await app.inject({ method: 'GET', url: '/docs' });
      // The UI may sit behind one redirect (/docs → /docs/ or /docs/static/index.html).
      const page = ui.statusCode >= 300 && ui.statusCode < 400 ? await app.inject({ method: 'GET', url: String(ui.headers.location) }) : ui;
      expect(page.statusCode).toBe(200);
      expect(String(page.headers['content-type'])).toMatch(/text\/html/);
      expect(page.body).toMatch(/swagger-ui/i);

      const json = await app.inject({ method: 'GET', url: '/docs/json' });
      expect(json.statusCode).toBe(200);
      const doc = json.json();
      expect(doc.openapi).toMatch(/^3\./);
      const paths = Object.keys(doc.paths);
      for (const p of ['/v1/events', '/v1/events/batch', '/v1/callbacks', '/v1/callbacks/{id}', '/v1/deliveries', '/v1/deliveries/{id}', '/v1/event-types']) {
        expect(paths).toContain(p);
      }
      expect(doc.paths['/v1/events'].post).toBeDefined();
      expect(doc.paths['/v1/callbacks'].post).toBeDefined();
      expect(doc.paths['/v1/callbacks'].get).toBeDefined();
      expect(doc.components.securitySchemes.basic).toMatchObject({ type: 'http', scheme: 'basic' });
      // Ops endpoints are not part of the public API document.
      expect(paths).not.toContain('/metrics');
    });

    it('/v1/event-types lists the catalogue with codes and channels', async () => {
      const { t } = h;
      const res = await t.api('GET', '/v1/event-types');
      expect(res.status).toBe(200);
      const byName = new Map((res.body.data as { name: string; code: number; channel: string }[]).map((e) => [e.name, e]));
      expect(byName.get('sms.delivered')).toMatchObject({ code: 120, channel: 'sms' });
      expect(byName.get('email.open')).toMatchObject({ code: 11, channel: 'email' });
      const sms = await t.api('GET', '/v1/event-types?channel=sms');
      expect(sms.body.data.length).toBeGreaterThan(0);
      expect(sms.body.data.every((e: { channel: string }) => e.channel === 'sms')).toBe(true);
      expectError(await t.api('GET', '/v1/event-types', undefined, { auth: basic('nobody', 'nothing') }), 401, 'unauthorized');
    });

    // PostgreSQL text cannot hold NUL: input carrying one must be refused as input, not crash a query.
    it('answers 4xx, never 5xx, for NUL characters in ids, filters, bodies and credentials', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'ops-nul');
      const cb = (await t.api('POST', '/v1/callbacks', { title: 'nul', url: `${receiver.url}/nul`, enabled: false }, { auth: me.auth })).body;
      const is4xx = (r: { status: number; body: any }, what: string) => {
        expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBeGreaterThanOrEqual(400);
        expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
        expect(typeof r.body.code).toBe('string');
      };
      for (const url of [
        '/v1/callbacks/cb_%00',
        '/v1/callbacks/%00/secret',
        '/v1/events/evt_%00',
        '/v1/callbacks?title=%00',
        '/v1/deliveries?callback_id=%00',
        '/v1/deliveries?event_type=sms%00',
        '/v1/deliveries?event_id=%00',
        '/v1/callbacks?format=%00',
      ]) {
        is4xx(await t.api('GET', url, undefined, { auth: me.auth }), `GET ${url}`);
      }
      is4xx(await t.api('POST', '/v1/callbacks', { title: 'a\u0000b', url: `${receiver.url}/nul` }, { auth: me.auth }), 'title with NUL');
      is4xx(await t.api('PATCH', `/v1/callbacks/${cb.id}`, { title: 'a\u0000b' }, { auth: me.auth }), 'patched title with NUL');
      is4xx(await t.api('POST', '/v1/callbacks', { title: 'x', url: `${receiver.url}/nul`, api_user: 'a\u0000b' }, { auth: me.auth }), 'api_user with NUL');
      for (const field of ['id', 'resource_id', 'callback_profile_id']) {
        const r = await t.api('POST', '/v1/events', { type: 'sms.sent', data: {}, [field]: 'a\u0000b' }, { auth: me.auth });
        expectError(r, 422, 'invalid', field);
        const rb = await t.api('POST', '/v1/events/batch', { events: [{ type: 'sms.sent', data: {}, [field]: 'a\u0000b' }] }, { auth: me.auth });
        expectError(rb, 422, 'invalid', `events[0].${field}`);
      }
      expectError(await t.api('GET', '/v1/callbacks', undefined, { auth: basic('adm\u0000in', 'x') }), 401, 'unauthorized');
      // NUL inside event data is just JSON: accepted and kept.
      const ok = await t.api('POST', '/v1/events', { type: 'sms.sent', data: { text: 'a\u0000b' } }, { auth: me.auth });
      expect(ok.status).toBe(202);
      expect((await t.api('GET', `/v1/events/${ok.body.id}`, undefined, { auth: me.auth })).body.data).toEqual({ text: 'a\u0000b' });
      expect((await t.api('GET', '/v1/callbacks', undefined, { auth: me.auth })).body.total).toBe(1);
    });
  });
}
