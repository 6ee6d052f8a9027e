import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { basic, type TestRelay } from '../helpers/relay.js';
import { SECRET_RE, expectError, nextMillisecond, tenant, useRelay, type Tenant } from './support.js';

const count = async (t: TestRelay, who: Tenant) => {
  const r = await t.api('GET', '/v1/callbacks?limit=1000', undefined, { auth: who.auth });
  expect(r.status).toBe(200);
  return r.body.total as number;
};

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`callbacks API on ${backend.name}`, () => {
    const h = useRelay(backend);

    it('creates a callback: 201, a whsec_ secret returned on create only, readable again via /secret', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'cb-create');
      const res = await t.api('POST', '/v1/callbacks', { title: 'orders', url: `${receiver.url}/orders`, events: ['sms.delivered'] }, { auth: me.auth });
      expect(res.status).toBe(201);
      const cb = res.body;
      expect(cb.id).toMatch(/^cb_/);
      expect(cb.secret).toMatch(SECRET_RE);
      expect(cb).toMatchObject({
        title: 'orders',
        url: `${receiver.url}/orders`,
        format: 'standard',
        method: 'POST',
        events: ['sms.delivered'],
        enabled: true,
        disabled_reason: null,
        headers: {},
        timeout: 15,
        api_user: null,
      });
      expect(Date.parse(cb.created_at)).toBeGreaterThan(Date.now() - 60_000);

      const read = await t.api('GET', `/v1/callbacks/${cb.id}`, undefined, { auth: me.auth });
      expect(read.status).toBe(200);
      expect(read.body).not.toHaveProperty('secret');
      const { secret, ...withoutSecret } = cb;
      expect(read.body).toEqual(withoutSecret);

      const list = await t.api('GET', '/v1/callbacks', undefined, { auth: me.auth });
      expect(list.body.data).toHaveLength(1);
      expect(list.body.data[0]).not.toHaveProperty('secret');
      expect(JSON.stringify(list.body)).not.toContain(secret);

      const s = await t.api('GET', `/v1/callbacks/${cb.id}/secret`, undefined, { auth: me.auth });
      expect(s.status).toBe(200);
      expect(s.body).toEqual({ secret, previous_secret: null, previous_secret_expires_at: null });
    });

    it('keeps a secret given on create, and every optional field', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'cb-fields');
      const mine = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
      const res = await t.api(
        'POST',
        '/v1/callbacks',
        { title: 't', url: `${receiver.url}/x`, secret: mine, headers: { 'X-Tenant': 'acme' }, timeout: 2.5, enabled: false },
        { auth: me.auth },
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ secret: mine, headers: { 'X-Tenant': 'acme' }, timeout: 2.5, enabled: false });
      const s = await t.api('GET', `/v1/callbacks/${res.body.id}/secret`, undefined, { auth: me.auth });
      expect(s.body.secret).toBe(mine);
    });

    it('accepts event types as names or codes, storing names; unknown ones are refused by name', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'cb-events');
      const res = await t.api('POST', '/v1/callbacks', { title: 'codes', url: `${receiver.url}/c`, events: [120, '110', 'sms.delivered', 'email.open'] }, { auth: me.auth });
      expect(res.status).toBe(201);
      expect(res.body.events).toEqual(['sms.delivered', 'sms.sent', 'email.open']);
      expect((await t.api('GET', `/v1/callbacks/${res.body.id}`, undefined, { auth: me.auth })).body.events).toEqual(['sms.delivered', 'sms.sent', 'email.open']);

      const bad = await t.api('POST', '/v1/callbacks', { title: 'bad', url: `${receiver.url}/c`, events: ['sms.delivered', 'sms.nope', 99999] }, { auth: me.auth });
      expectError(bad, 422, 'invalid', 'events');
      expect(bad.body.message).toContain('sms.nope');
      expect(bad.body.message).toContain('99999');
      expect(await count(t, me)).toBe(1);

      const patched = await t.api('PATCH', `/v1/callbacks/${res.body.id}`, { events: [330] }, { auth: me.auth });
      expect(patched.status).toBe(200);
      expect(patched.body.events).toEqual(['otp.verified']);
      const badPatch = await t.api('PATCH', `/v1/callbacks/${res.body.id}`, { events: ['otp.verified', 'nope.nope'] }, { auth: me.auth });
      expectError(badPatch, 422, 'invalid', 'events');
      expect(badPatch.body.message).toContain('nope.nope');
      expect((await t.api('GET', `/v1/callbacks/${res.body.id}`, undefined, { auth: me.auth })).body.events).toEqual(['otp.verified']);
    });

    it('lists with offset/limit/total and filters on title, enabled, format and creation time', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'cb-list');
      const make = async (title: string, enabled = true) => {
        const r = await t.api('POST', '/v1/callbacks', { title, url: `${receiver.url}/l`, enabled }, { auth: me.auth });
        expect(r.status).toBe(201);
        return r.body as { id: string; created_at: string };
      };
      const a = [await make('Alpha one'), await make('alpha two'), await make('beta', false)];
      await nextMillisecond(Date.parse(a[2]!.created_at));
      const boundary = new Date().toISOString();
      const b = [await make('50% off'), await make('x_y'), await make('xay')];
      const all = [...a, ...b].map((c) => c.id);

      const list = (qs: string) => t.api('GET', `/v1/callbacks?${qs}`, undefined, { auth: me.auth });
      const ids = (r: { body: any }) => (r.body.data as { id: string }[]).map((c) => c.id);

      const full = await list('');
      expect(full.body).toMatchObject({ total: 6, offset: 0, limit: 50 });
      expect(ids(full)).toEqual(all);

      const p1 = await list('limit=4');
      const p2 = await list('limit=4&offset=4');
      expect(p1.body).toMatchObject({ total: 6, offset: 0, limit: 4 });
      expect(p2.body).toMatchObject({ total: 6, offset: 4, limit: 4 });
      expect([...ids(p1), ...ids(p2)]).toEqual(all);
      const past = await list('offset=10');
      expect(past.body.data).toEqual([]);
      expect(past.body.total).toBe(6);

      // title: a substring, the same on every backend (case-insensitive), with % and _ taken literally.
      expect(ids(await list('title=alpha'))).toEqual([a[0]!.id, a[1]!.id]);
      expect(ids(await list('title=ALPHA'))).toEqual([a[0]!.id, a[1]!.id]);
      expect(ids(await list('title=ha%20tw'))).toEqual([a[1]!.id]);
      expect(ids(await list(`title=${encodeURIComponent('50%')}`))).toEqual([b[0]!.id]);
      expect(ids(await list('title=x_y'))).toEqual([b[1]!.id]);
      expect((await list('title=nothing-like-it')).body.total).toBe(0);

      expect(ids(await list('enabled=false'))).toEqual([a[2]!.id]);
      const on = await list('enabled=true&limit=2');
      expect(on.body.total).toBe(5);
      expect(ids(on)).toEqual([a[0]!.id, a[1]!.id]);
      expect((await list('format=standard')).body.total).toBe(6);
      expect((await list('format=kaleyra')).body.total).toBe(0);

      const q = encodeURIComponent(boundary);
      expect(ids(await list(`created_after=${q}`))).toEqual(b.map((c) => c.id));
      expect(ids(await list(`created_before=${q}`))).toEqual(a.map((c) => c.id));
      expect(ids(await list(`created_after=${q}&title=x`))).toEqual([b[1]!.id, b[2]!.id]);

      expectError(await list('limit=0'), 422, 'invalid', 'querystring.limit');
      expectError(await list('limit=1001'), 422, 'invalid', 'querystring.limit');
      expectError(await list('enabled=yes'), 422, 'invalid', 'querystring.enabled');
      expectError(await list('created_after=yesterday'), 422, 'invalid', 'querystring.created_after');
      expectError(await list('colour=red'), 422, 'invalid', /colour/);
    });

    it('PATCH changes the fields given and leaves absent ones unchanged', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'cb-patch');
      const created = await t.api(
        'POST',
        '/v1/callbacks',
        { title: 'before', url: `${receiver.url}/p`, events: ['sms.sent'], headers: { 'X-A': '1' }, timeout: 5 },
        { auth: me.auth },
      );
      const id = created.body.id as string;
      const { secret, ...original } = created.body;

      const r1 = await t.api('PATCH', `/v1/callbacks/${id}`, { title: 'after' }, { auth: me.auth });
      expect(r1.status).toBe(200);
      expect(r1.body).not.toHaveProperty('secret');
      expect(r1.body).toEqual({ ...original, title: 'after', updated_at: r1.body.updated_at });
      expect(Date.parse(r1.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(original.updated_at));
      expect((await t.api('GET', `/v1/callbacks/${id}`, undefined, { auth: me.auth })).body).toEqual(r1.body);
      expect((await t.api('GET', `/v1/callbacks/${id}/secret`, undefined, { auth: me.auth })).body.secret).toBe(secret);

      const r2 = await t.api('PATCH', `/v1/callbacks/${id}`, { url: `${receiver.url}/q`, headers: { 'X-B': '2' }, timeout: 30 }, { auth: me.auth });
      expect(r2.body).toMatchObject({ title: 'after', url: `${receiver.url}/q`, headers: { 'X-B': '2' }, timeout: 30, events: ['sms.sent'], enabled: true });

      const r3 = await t.api('PATCH', `/v1/callbacks/${id}`, { enabled: false }, { auth: me.auth });
      expect(r3.body).toMatchObject({ enabled: false, title: 'after', url: `${receiver.url}/q` });
      expect(r3.body.disabled_reason).toEqual(expect.any(String));
      const r4 = await t.api('PATCH', `/v1/callbacks/${id}`, { enabled: true }, { auth: me.auth });
      expect(r4.body).toMatchObject({ enabled: true, disabled_reason: null });

      expectError(await t.api('PATCH', `/v1/callbacks/${id}`, {}, { auth: me.auth }), 422, 'invalid');
      expectError(await t.api('PATCH', `/v1/callbacks/cb_doesnotexist`, { title: 'x' }, { auth: me.auth }), 404, 'not_found');
    });

    it('DELETE answers 204, then the callback is gone (404)', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'cb-delete');
      const keep = await t.api('POST', '/v1/callbacks', { title: 'keep', url: `${receiver.url}/d` }, { auth: me.auth });
      const gone = await t.api('POST', '/v1/callbacks', { title: 'gone', url: `${receiver.url}/d` }, { auth: me.auth });
      const del = await t.api('DELETE', `/v1/callbacks/${gone.body.id}`, undefined, { auth: me.auth });
      expect(del.status).toBe(204);
      expect(del.body).toBeUndefined();
      expectError(await t.api('GET', `/v1/callbacks/${gone.body.id}`, undefined, { auth: me.auth }), 404, 'not_found');
      expectError(await t.api('GET', `/v1/callbacks/${gone.body.id}/secret`, undefined, { auth: me.auth }), 404, 'not_found');
      expectError(await t.api('DELETE', `/v1/callbacks/${gone.body.id}`, undefined, { auth: me.auth }), 404, 'not_found');
      const list = await t.api('GET', '/v1/callbacks', undefined, { auth: me.auth });
      expect(list.body.total).toBe(1);
      expect(list.body.data[0].id).toBe(keep.body.id);
    });

    it('disables and enables', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'cb-toggle');
      const cb = (await t.api('POST', '/v1/callbacks', { title: 'toggle', url: `${receiver.url}/e` }, { auth: me.auth })).body;
      const off = await t.api('POST', `/v1/callbacks/${cb.id}/disable`, undefined, { auth: me.auth });
      expect(off.status).toBe(200);
      expect(off.body).toMatchObject({ id: cb.id, enabled: false });
      expect(off.body.disabled_reason).toEqual(expect.any(String));
      expect((await t.api('GET', `/v1/callbacks/${cb.id}`, undefined, { auth: me.auth })).body.enabled).toBe(false);
      expect((await t.api('GET', '/v1/callbacks?enabled=false', undefined, { auth: me.auth })).body.total).toBe(1);
      // Disabling twice changes nothing.
      expect((await t.api('POST', `/v1/callbacks/${cb.id}/disable`, undefined, { auth: me.auth })).body.enabled).toBe(false);

      const on = await t.api('POST', `/v1/callbacks/${cb.id}/enable`, undefined, { auth: me.auth });
      expect(on.status).toBe(200);
      expect(on.body).toMatchObject({ id: cb.id, enabled: true, disabled_reason: null });
      expect((await t.api('GET', '/v1/callbacks?enabled=false', undefined, { auth: me.auth })).body.total).toBe(0);
      expectError(await t.api('POST', '/v1/callbacks/cb_nope/enable', undefined, { auth: me.auth }), 404, 'not_found');
      expectError(await t.api('POST', '/v1/callbacks/cb_nope/disable', undefined, { auth: me.auth }), 404, 'not_found');
    });

    it('rotates the secret: a new one, the previous one readable for ~24 h; the same secret is a 409', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'cb-rotate');
      const cb = (await t.api('POST', '/v1/callbacks', { title: 'rot', url: `${receiver.url}/r` }, { auth: me.auth })).body;
      const old = cb.secret as string;

      // No body at all: the relay generates the new secret.
      const rot = await t.api('POST', `/v1/callbacks/${cb.id}/rotate-secret`, undefined, { auth: me.auth });
      expect(rot.status).toBe(200);
      expect(rot.body.secret).toMatch(SECRET_RE);
      expect(rot.body.secret).not.toBe(old);
      const expires = Date.parse(rot.body.previous_secret_expires_at);
      expect(Math.abs(expires - (Date.now() + 24 * 3_600_000))).toBeLessThan(60_000);

      const s = await t.api('GET', `/v1/callbacks/${cb.id}/secret`, undefined, { auth: me.auth });
      expect(s.body).toEqual({ secret: rot.body.secret, previous_secret: old, previous_secret_expires_at: rot.body.previous_secret_expires_at });

      const same = await t.api('POST', `/v1/callbacks/${cb.id}/rotate-secret`, { secret: rot.body.secret }, { auth: me.auth });
      expectError(same, 409, 'conflict');
      expect((await t.api('GET', `/v1/callbacks/${cb.id}/secret`, undefined, { auth: me.auth })).body).toEqual(s.body);

      const chosen = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;
      const rot2 = await t.api('POST', `/v1/callbacks/${cb.id}/rotate-secret`, { secret: chosen }, { auth: me.auth });
      expect(rot2.status).toBe(200);
      expect(rot2.body.secret).toBe(chosen);
      const s2 = await t.api('GET', `/v1/callbacks/${cb.id}/secret`, undefined, { auth: me.auth });
      expect(s2.body).toMatchObject({ secret: chosen, previous_secret: rot.body.secret });

      expectError(await t.api('POST', `/v1/callbacks/${cb.id}/rotate-secret`, { secret: 'not-a-secret' }, { auth: me.auth }), 422, 'invalid', 'secret');
      expectError(await t.api('POST', `/v1/callbacks/cb_nope/rotate-secret`, undefined, { auth: me.auth }), 404, 'not_found');
    });

    it('refuses bad input with a clear error and stores nothing', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'cb-bad');
      const url = `${receiver.url}/bad`;
      const post = (body: unknown) => t.api('POST', '/v1/callbacks', body, { auth: me.auth });

      expectError(await t.api('POST', '/v1/callbacks', undefined, { auth: me.auth, raw: '{"title": "x", "url": ' }), 400, 'malformed_json');
      expectError(await t.api('POST', '/v1/callbacks', undefined, { auth: me.auth, raw: '' }), 400, 'malformed_json');
      const huge = JSON.stringify({ title: 'big', url, headers: { 'X-Pad': 'p'.repeat(1024 * 1024) } });
      expectError(await t.api('POST', '/v1/callbacks', undefined, { auth: me.auth, raw: huge }), 413, 'payload_too_large');

      expectError(await post({ title: 'x', url, colour: 'red' }), 422, 'invalid', 'colour');
      expect((await post({ title: 'x', url, colour: 'red' })).body.message).toContain('colour');
      expectError(await post({ url }), 422, 'invalid', 'title');
      expectError(await post({ title: 'x' }), 422, 'invalid', 'url');
      // No coercion: a number is not a title, "yes" is not a boolean, "5" is not a number.
      expectError(await post({ title: 123, url }), 422, 'invalid', 'title');
      expectError(await post({ title: 'x', url, enabled: 'yes' }), 422, 'invalid', 'enabled');
      expectError(await post({ title: 'x', url, enabled: 1 }), 422, 'invalid', 'enabled');
      expectError(await post({ title: 'x', url, timeout: '5' }), 422, 'invalid', 'timeout');
      expectError(await post({ title: 'x', url, timeout: 61 }), 422, 'invalid', 'timeout');
      expectError(await post({ title: 'x', url, format: 'soap' }), 422, 'invalid', 'format');
      expectError(await post({ title: 'x', url, headers: { 'X-N': 5 } }), 422, 'invalid', /^headers/);
      expectError(await post({ title: 'x', url, secret: 'hunter2' }), 422, 'invalid', 'secret');
      expectError(await post({ title: 'x', url, api_user: 'nobody-at-all' }), 422, 'invalid', 'api_user');
      expectError(await post({ title: 'x', url, events: 'sms.sent' }), 422, 'invalid', 'events');

      for (const bad of ['ftp://127.0.0.1/x', 'javascript:alert(1)', 'not-a-url', 'file:///etc/passwd', '//127.0.0.1/x', 'http://']) {
        const r = await post({ title: 'x', url: bad });
        expectError(r, 422, 'invalid', 'url');
      }

      for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb']) {
        const r = await post({ title: 'x', url, headers: { 'X-Evil': value } });
        expectError(r, 422, 'invalid', 'headers.X-Evil');
      }
      for (const name of ['Content-Length', 'content-length', 'webhook-signature', 'Webhook-Id', 'Host', 'Transfer-Encoding']) {
        const r = await post({ title: 'x', url, headers: { [name]: '1' } });
        expectError(r, 422, 'invalid', `headers.${name}`);
      }
      expectError(await post({ title: 'x', url, headers: { 'Bad Name': '1' } }), 422, 'invalid', 'headers.Bad Name');

      expect(await count(t, me)).toBe(0);

      // The same on PATCH: a refused update leaves the callback exactly as it was.
      const cb = (await post({ title: 'stable', url, headers: { 'X-Ok': '1' } })).body;
      const before = (await t.api('GET', `/v1/callbacks/${cb.id}`, undefined, { auth: me.auth })).body;
      const patch = (body: unknown, raw?: string) => t.api('PATCH', `/v1/callbacks/${cb.id}`, body, { auth: me.auth, ...(raw !== undefined ? { raw } : {}) });
      expectError(await patch(undefined, '{"title": '), 400, 'malformed_json');
      expectError(await patch(undefined, JSON.stringify({ title: 'x'.repeat(1024 * 1024 + 1) })), 413, 'payload_too_large');
      expectError(await patch({ title: 'x', colour: 'red' }), 422, 'invalid', 'colour');
      expectError(await patch({ title: 123 }), 422, 'invalid', 'title');
      expectError(await patch({ enabled: 'yes' }), 422, 'invalid', 'enabled');
      expectError(await patch({ title: 'changed', url: 'ftp://127.0.0.1/' }), 422, 'invalid', 'url');
      expectError(await patch({ title: 'changed', headers: { 'X-Evil': 'a\r\nb' } }), 422, 'invalid', 'headers.X-Evil');
      expectError(await patch({ title: 'changed', headers: { 'webhook-signature': 'v1,forged' } }), 422, 'invalid', 'headers.webhook-signature');
      expectError(await patch({ title: 'changed', events: ['sms.nope'] }), 422, 'invalid', 'events');
      expect((await t.api('GET', `/v1/callbacks/${cb.id}`, undefined, { auth: me.auth })).body).toEqual(before);
      expect(await count(t, me)).toBe(1);
    });

    it('answers 401 with WWW-Authenticate without valid credentials, and stores nothing', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'cb-auth');
      const inject = t.relay.app!.inject.bind(t.relay.app!);
      const none = await inject({ method: 'GET', url: '/v1/callbacks' });
      expect(none.statusCode).toBe(401);
      expect(String(none.headers['www-authenticate'])).toMatch(/^Basic /);
      expectError({ status: none.statusCode, body: none.json() }, 401, 'unauthorized');

      const body = { title: 'x', url: `${receiver.url}/auth` };
      for (const auth of [basic(me.apiUser, 'wrong-key'), basic('no-such-user', me.apiKey), `Bearer ${me.apiKey}`, 'Basic !!!', basic('', me.apiKey)]) {
        const r = await t.api('POST', '/v1/callbacks', body, { auth });
        expectError(r, 401, 'unauthorized');
        expect(String(r.headers['www-authenticate'])).toMatch(/^Basic /);
      }
      const noAuthPost = await inject({ method: 'POST', url: '/v1/callbacks', payload: body });
      expect(noAuthPost.statusCode).toBe(401);
      expect(await count(t, me)).toBe(0);
    });

    it('answers unknown routes and ids with 404 {code, message}', async () => {
      const { t } = h;
      expectError(await t.api('GET', '/v1/nothing-here'), 404, 'not_found');
      expectError(await t.api('GET', '/v1/callbacks/cb_00000000000000000000000000'), 404, 'not_found');
      expectError(await t.api('GET', '/v1/callbacks/..%2F..%2Fetc'), 404, 'not_found');
    });
  });

  describe.skipIf(!backend.available)(`callback destinations (SSRF) on ${backend.name}, private networks not allowed`, () => {
    const h = useRelay(backend, { allowPrivateNetworks: false });

    it('refuses loopback, link-local and local names at save time, and nothing reaches them', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'ssrf');
      const port = new URL(receiver.url).port;
      const targets = [
        `http://127.0.0.1:${port}/hook`,
        `${receiver.url}/hook`,
        `http://127.1:${port}/`,
        `http://2130706433:${port}/`,
        `http://0x7f000001:${port}/`,
        `http://0177.0.0.1:${port}/`,
        `http://[::1]:${port}/`,
        `http://[::ffff:127.0.0.1]:${port}/`,
        `http://localhost:${port}/`,
        `http://LOCALHOST.:${port}/`,
        `http://api.localhost:${port}/`,
        `http://0.0.0.0:${port}/`,
        `https://127.0.0.1:${port}/`,
      ];
      for (const url of targets) {
        const r = await t.api('POST', '/v1/callbacks', { title: 'ssrf', url }, { auth: me.auth });
        expectError(r, 422, 'invalid', 'url');
      }
      // Cloud metadata: created disabled, so even a regression could never send anything there.
      const meta = await t.api('POST', '/v1/callbacks', { title: 'meta', url: 'http://169.254.169.254/latest/meta-data/', enabled: false }, { auth: me.auth });
      expectError(meta, 422, 'invalid', 'url');

      expect(await count(t, me)).toBe(0);
      const ev = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: {} }, { auth: me.auth });
      expect(ev.status).toBe(202);
      const got = await t.api('GET', `/v1/events/${ev.body.id}`, undefined, { auth: me.auth });
      expect(got.body.deliveries).toEqual([]);
      expect(receiver.received).toHaveLength(0);
    });

    it('refuses a PATCH that points an existing callback at loopback, leaving it unchanged', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'ssrf-patch');
      // `.invalid` never resolves (RFC 6761), and the callback is disabled: nothing can be sent.
      const cb = await t.api('POST', '/v1/callbacks', { title: 'far', url: 'https://relay-test.invalid/hook', enabled: false }, { auth: me.auth });
      expect(cb.status).toBe(201);
      for (const url of [`${receiver.url}/hook`, 'http://[::1]/', 'http://localhost/']) {
        expectError(await t.api('PATCH', `/v1/callbacks/${cb.body.id}`, { url }, { auth: me.auth }), 422, 'invalid', 'url');
      }
      expect((await t.api('GET', `/v1/callbacks/${cb.body.id}`, undefined, { auth: me.auth })).body.url).toBe('https://relay-test.invalid/hook');
      expect(receiver.received).toHaveLength(0);
    });
  });
}
