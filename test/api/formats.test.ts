import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { expectError, tenant, useRelay } from './support.js';

/** A value the JSON schema accepts (the smallest that comes to hand): enough to get past the body's validation. */
function sample(schema: any): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf) return sample(schema.anyOf.find((s: any) => s.type !== 'null') ?? schema.anyOf[0]);
  switch (schema.type) {
    case 'string':
      return 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, 1);
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: Math.max(schema.minItems ?? 1, 1) }, () => sample(schema.items ?? { type: 'string' }));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of schema.required ?? []) out[k] = sample(schema.properties[k]);
      return out;
    }
    default:
      return null;
  }
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`GET /v1/formats on ${backend.name}`, () => {
    const h = useRelay(backend);

    it('needs credentials like the rest of /v1', async () => {
      const res = await h.t.relay.app!.inject({ method: 'GET', url: '/v1/formats' });
      expectError({ status: res.statusCode, body: res.json() }, 401, 'unauthorized');
    });

    it('lists every format the create body accepts, each with its fields as data', async () => {
      const { t } = h;
      const me = await tenant(t, 'formats-list');
      const res = await t.api('GET', '/v1/formats', undefined, { auth: me.auth });
      expect(res.status).toBe(200);
      const doc = (await t.api('GET', '/docs/json')).body;
      const create = doc.paths['/v1/callbacks'].post.requestBody.content['application/json'].schema;
      const format = create.properties.format;
      const names: string[] = format.enum ?? format.anyOf.map((s: any) => s.const ?? s.enum?.[0]);
      expect(names.length).toBeGreaterThan(0);
      expect(res.body.data.map((f: any) => f.name)).toEqual(names);
      for (const f of res.body.data) {
        expect(typeof f.label).toBe('string');
        expect(f.doc).toMatch(/^docs\/formats\/[a-z-]+\.md$/);
        expect(existsSync(f.doc), f.doc).toBe(true);
        expect(f.default_timeout).toBeGreaterThan(0);
        for (const field of f.fields) {
          expect(Object.keys(field)).toEqual(expect.arrayContaining(['key', 'type', 'label', 'help']));
          if (field.type === 'select') expect(field.options.length).toBeGreaterThan(0);
          if (field.type === 'object') expect(field.fields.length).toBeGreaterThan(0);
        }
      }
      const std = res.body.data.find((f: any) => f.name === 'standard');
      expect(std.fields.map((x: any) => x.key)).toEqual(['secret']);
      expect(res.body.common_fields.map((x: any) => x.key)).toEqual(expect.arrayContaining(['title', 'url', 'events', 'headers', 'timeout', 'retry_schedule']));
      const engagelab = res.body.data.find((f: any) => f.name === 'engagelab');
      expect(engagelab.fields.find((x: any) => x.key === 'authorization')).toMatchObject({ type: 'secret', write_only: true });
      expect(engagelab).toMatchObject({ https_only: true, batches: true, secret: 'write-only', default_timeout: 3 });
    });

    it('describes every field the create body accepts for a format, and the format accepts every field it describes', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'formats-fields');
      const { data, common_fields } = (await t.api('GET', '/v1/formats', undefined, { auth: me.auth })).body;
      const doc = (await t.api('GET', '/docs/json')).body;
      const props: Record<string, any> = doc.paths['/v1/callbacks'].post.requestBody.content['application/json'].schema.properties;
      const base = { title: 'probe title', url: `${receiver.url}/probe` };
      for (const f of data) {
        const described = new Set([...f.fields, ...common_fields].map((x: any) => x.key));
        const accepted: string[] = [];
        for (const [key, schema] of Object.entries(props)) {
          if (key in base || key === 'format') continue;
          const res = await t.api('POST', '/v1/callbacks/test', { ...base, format: f.name, [key]: sample(schema) }, { auth: me.auth });
          // Past the body's validation: the answer is the format's (a refusal of the field names it).
          expect(res.status, `${f.name}.${key}: ${JSON.stringify(res.body)}`).not.toBe(400);
          const refused = res.status === 422 && res.body.field === key && /applies to format/.test(res.body.message);
          if (!refused) accepted.push(key);
        }
        for (const key of accepted) expect(described.has(key), `${f.name} accepts ${key} but does not describe it`).toBe(true);
        for (const field of f.fields) expect(accepted, `${f.name} describes ${field.key} but refuses it`).toContain(field.key);
      }
    });

    it('gives retry_schedule back as sent, not in milliseconds; the worker still gets the delays', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'formats-retry');
      const created = await t.api('POST', '/v1/callbacks', { title: 'r', url: `${receiver.url}/r`, retry_schedule: ['0s', '2s'] }, { auth: me.auth });
      expect(created.status).toBe(201);
      expect(created.body.settings.retry_schedule).toEqual(['0s', '2s']);
      expect((await t.api('GET', `/v1/callbacks/${created.body.id}`, undefined, { auth: me.auth })).body.settings).toEqual({ retry_schedule: ['0s', '2s'] });
      const patched = await t.api('PATCH', `/v1/callbacks/${created.body.id}`, { retry_schedule: ['90s', '5m', '1h'] }, { auth: me.auth });
      expect(patched.body.settings.retry_schedule).toEqual(['90s', '5m', '1h']);
      // The worker reads the delays from the registry's callback (ms).
      await t.relay.registry!.reload();
      const cb = t.relay.registry!.get(created.body.id);
      expect(cb?.settings.retry_schedule).toEqual([90_000, 300_000, 3_600_000]);
      const cleared = await t.api('PATCH', `/v1/callbacks/${created.body.id}`, { retry_schedule: null }, { auth: me.auth });
      expect(cleared.body.settings).toEqual({});
    });
  });
}
