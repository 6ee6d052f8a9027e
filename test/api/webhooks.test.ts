import { describe, expect, it } from 'vitest';
import { createApiUser } from '../../src/admin/accounts.js';
import { BACKENDS } from '../helpers/backends.js';
import { expectError, useRelay } from './support.js';

/**
 * The EngageLab e-mail WebHooks API document (reference/engagelab-email-webhooks-api.txt), its curl
 * examples translated one for one (method, path, query, headers, body) and run against the server.
 * The document's credentials `YXBpX3VzZXI6YXBpX2tleQ==` are api_user:api_key: that api user is created.
 */
const DOC_AUTH = 'Basic YXBpX3VzZXI6YXBpX2tleQ==';
const JSON_CT = 'application/json; charset=utf-8';

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`/v1/webhooks (EngageLab e-mail WebHooks API) on ${backend.name}`, () => {
    const h = useRelay(backend);

    /** `curl -X METHOD -H 'Content-Type: application/json; charset=utf-8' -H 'Authorization:…' [--data …] URL` */
    const curl = async (method: string, url: string, data?: string, auth = DOC_AUTH) => {
      const res = await h.t.relay.app!.inject({
        method: method as 'GET',
        url,
        headers: { 'content-type': JSON_CT, authorization: auth },
        ...(data !== undefined ? { payload: data } : {}),
      });
      return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
    };

    it("runs the document's examples: add, query, modify (its POST form and PUT), delete (with and without /v1)", async () => {
      const { t, receiver } = h;
      const doc = await createApiUser(t.relay.store, { name: 'api_user', key: 'api_key' });
      await createApiUser(t.relay.store, { name: 'abcd', accountId: doc.accountId });
      await createApiUser(t.relay.store, { name: 'qq.com', accountId: doc.accountId });

      // Add — the document's body, except that its placeholder URL "123456" is not a URL.
      const placeholder = await curl('POST', '/v1/webhooks', '{"url": "123456","api_user":"qq.com", "event":[1,3]}');
      expectError(placeholder, 422, 'invalid', 'url');
      const added = await curl('POST', '/v1/webhooks', `{"url": "${receiver.url}/qxxx","api_user":"qq.com", "event":[1,3]}`);
      expect(added.status).toBe(200);
      expect(added.body).toEqual({ result: [{ url: `${receiver.url}/qxxx`, event: [1, 3], api_user: 'qq.com', id: expect.any(Number) }] });
      const id = added.body.result[0].id as number;
      expect(Number.isInteger(id)).toBe(true);
      // Two more: one for api user abcd, one for every api user and every event.
      const abcd = await curl('POST', '/v1/webhooks', `{"url": "${receiver.url}/abcd","api_user":"abcd", "event":[11]}`);
      expect(abcd.body.result[0]).toMatchObject({ api_user: 'abcd', event: [11] });
      const all = await curl('POST', '/v1/webhooks', `{"url": "${receiver.url}/all"}`);
      expect(all.body.result[0]).toMatchObject({ api_user: null, event: [1, 3, 4, 5, 10, 11, 12, 18, 32] });

      // Query — the document's URL.
      const q = await curl('GET', '/v1/webhooks?api_user=abcd&offset=0&limit=1');
      expect(q.status).toBe(200);
      expect(q.body).toEqual({ result: [{ url: `${receiver.url}/abcd`, event: [11], api_user: 'abcd', id: abcd.body.result[0].id }], count: 1, total: 1 });
      const page = await curl('GET', '/v1/webhooks?offset=1&limit=1');
      expect(page.body).toMatchObject({ count: 1, total: 3 });
      expect(page.body.result[0].id).toBe(abcd.body.result[0].id);
      expect((await curl('GET', '/v1/webhooks')).body).toMatchObject({ count: 3, total: 3 });
      expect((await curl('GET', '/v1/webhooks?limit=0')).body).toEqual({ result: [], count: 0, total: 3 });

      // They are ordinary callbacks of format engagelab-email.
      const cb = (await t.api('GET', '/v1/callbacks?format=engagelab-email', undefined, { auth: DOC_AUTH })).body.data[0];
      expect(cb).toMatchObject({ format: 'engagelab-email', url: `${receiver.url}/qxxx`, events: ['email.delivered', 'email.spam_report'], api_user: 'qq.com' });

      // Modify — the document's example is a POST with only url: other fields unchanged.
      const mod = await curl('POST', `/v1/webhooks/${id}`, '{"url": "http://qxxx.com"}');
      expect(mod).toEqual({ status: 200, body: { count: 1 } });
      let after = (await curl('GET', '/v1/webhooks?api_user=qq.com')).body.result[0];
      expect(after).toEqual({ url: 'http://qxxx.com', event: [1, 3], api_user: 'qq.com', id });
      // PUT, as the document's method table says.
      const put = await curl('PUT', `/v1/webhooks/${id}`, '{"event": [4, 5]}');
      expect(put).toEqual({ status: 200, body: { count: 1 } });
      after = (await curl('GET', '/v1/webhooks?api_user=qq.com')).body.result[0];
      expect(after).toEqual({ url: 'http://qxxx.com', event: [4, 5], api_user: 'qq.com', id });

      // Delete — the curl example's path (/v1/webhooks/{id}) and the URL line's (/webhooks/{id}).
      expect(await curl('DELETE', `/v1/webhooks/${id}`)).toEqual({ status: 200, body: { count: 1 } });
      expect(await curl('DELETE', `/webhooks/${abcd.body.result[0].id}`)).toEqual({ status: 200, body: { count: 1 } });
      expect((await curl('GET', '/v1/webhooks')).body).toMatchObject({ count: 1, total: 1 });
      expectError(await curl('DELETE', `/v1/webhooks/${id}`), 404, 'not_found');
      expectError(await curl('DELETE', '/webhooks/1111111'), 404, 'not_found');
      expectError(await curl('POST', '/v1/webhooks/1111111', '{"url": "http://example2.com"}'), 404, 'not_found');
    });

    it('answers integer ids, taken back by PUT, POST and DELETE, within the account only; the URL comes back as sent', async () => {
      const { t, receiver } = h;
      const me = await t.newTenant('webhooks-ids');
      const other = await t.newTenant('webhooks-ids-other');
      const at = (m: string, u: string, d?: string, auth = me.auth) => curl(m, u, d, auth);
      const a = (await at('POST', '/v1/webhooks', `{"url": "${receiver.url}/a?x=1", "event": [1]}`)).body.result[0];
      const b = (await at('POST', '/v1/webhooks', `{"url": "${receiver.url}/b"}`)).body.result[0];
      expect(a.url).toBe(`${receiver.url}/a?x=1`);
      expect([typeof a.id, typeof b.id]).toEqual(['number', 'number']);
      expect(b.id).toBeGreaterThan(a.id);
      // The bare host the document uses is not given a trailing slash, on add, modify and query.
      const bare = (await at('POST', '/v1/webhooks', '{"url": "http://qxxx.com"}')).body.result[0];
      expect(bare.url).toBe('http://qxxx.com');
      expect(await at('PUT', `/v1/webhooks/${a.id}`, '{"url": "http://Example2.com", "event": [3]}')).toEqual({ status: 200, body: { count: 1 } });
      const list = (await at('GET', '/v1/webhooks')).body.result as { id: number; url: string; event: number[] }[];
      expect(list.map((w) => [w.id, w.url])).toEqual([
        [a.id, 'http://Example2.com'],
        [b.id, `${receiver.url}/b`],
        [bare.id, 'http://qxxx.com'],
      ]);
      expect(list[0]!.event).toEqual([3]);
      expect(await at('POST', `/v1/webhooks/${b.id}`, '{"event": [4]}')).toEqual({ status: 200, body: { count: 1 } });
      // Another tenant's integer id is unknown to every method; so are ids never given.
      expectError(await at('PUT', `/v1/webhooks/${a.id}`, '{"event": [1]}', other.auth), 404, 'not_found');
      expectError(await at('DELETE', `/v1/webhooks/${a.id}`, undefined, other.auth), 404, 'not_found');
      expectError(await at('DELETE', `/webhooks/${a.id}`, undefined, other.auth), 404, 'not_found');
      expectError(await at('PUT', '/v1/webhooks/999999999', '{"event": [1]}'), 404, 'not_found');
      // A callback of this format made through /v1/callbacks gets an id when first shown, the same after.
      await t.api('POST', '/v1/callbacks', { title: 'c', url: `${receiver.url}/c`, format: 'engagelab-email' }, { auth: me.auth });
      const shown = (await at('GET', '/v1/webhooks')).body.result as { id: number; url: string }[];
      const c = shown.find((w) => w.url === `${receiver.url}/c`)!;
      expect(c.id).toBeGreaterThan(bare.id);
      expect((await at('GET', '/v1/webhooks')).body.result.map((w: { id: number }) => w.id)).toEqual(shown.map((w) => w.id));
      // Deleted by its integer id (both paths); the id is not given again.
      expect(await at('DELETE', `/v1/webhooks/${a.id}`)).toEqual({ status: 200, body: { count: 1 } });
      expect(await at('DELETE', `/webhooks/${c.id}`)).toEqual({ status: 200, body: { count: 1 } });
      expectError(await at('PUT', `/v1/webhooks/${a.id}`, '{"event": [1]}'), 404, 'not_found');
      const d = (await at('POST', '/v1/webhooks', `{"url": "${receiver.url}/d"}`)).body.result[0];
      expect(d.id).toBeGreaterThan(c.id);
      expect((await at('GET', '/v1/webhooks')).body.result.map((w: { id: number }) => w.id)).toEqual([b.id, bare.id, d.id]);
    });

    it('refuses bad offsets, limits, codes, URLs, unknown api users and fields; answers 401 without credentials', async () => {
      const { t, receiver } = h;
      const me = await t.newTenant('webhooks-errors');
      const at = (m: string, u: string, d?: string) => curl(m, u, d, me.auth);
      expectError(await at('GET', '/v1/webhooks?offset=-1'), 422, 'invalid', 'querystring.offset');
      expectError(await at('GET', '/v1/webhooks?limit=101'), 422, 'invalid', 'querystring.limit');
      expectError(await at('GET', '/v1/webhooks?limit=-1'), 422, 'invalid', 'querystring.limit');
      expectError(await at('GET', '/v1/webhooks?limit=ten'), 422, 'invalid', 'querystring.limit');
      expectError(await at('POST', '/v1/webhooks', `{"url": "${receiver.url}/x", "event": [1, 7, 120]}`), 422, 'invalid', 'event');
      expectError(await at('POST', '/v1/webhooks', `{"url": "${receiver.url}/x", "event": ["open"]}`), 422, 'invalid', 'event[0]');
      expectError(await at('POST', '/v1/webhooks', '{"url": "ftp://example.com/x"}'), 422, 'invalid', 'url');
      expectError(await at('POST', '/v1/webhooks', `{"url": "${receiver.url}/x", "api_user": "nobody-here"}`), 422, 'invalid', 'api_user');
      expectError(await at('POST', '/v1/webhooks', `{"url": "${receiver.url}/x", "title": "x"}`), 422, 'invalid', 'title');
      expectError(await at('POST', '/v1/webhooks', '{"event": [1]}'), 422, 'invalid', 'url');
      const ok = await at('POST', '/v1/webhooks', `{"url": "${receiver.url}/x"}`);
      expectError(await at('PUT', `/v1/webhooks/${ok.body.result[0].id}`, '{"event": [2]}'), 422, 'invalid', 'event');
      // A callback of another format is not a webhook; another tenant's webhook is unknown.
      const std = await t.api('POST', '/v1/callbacks', { title: 's', url: `${receiver.url}/s` }, { auth: me.auth });
      expectError(await at('PUT', `/v1/webhooks/${std.body.id}`, '{"event": [1]}'), 404, 'not_found');
      expectError(await curl('PUT', `/v1/webhooks/${ok.body.result[0].id}`, '{"event": [1]}', t.auth), 404, 'not_found');
      const anon = await h.t.relay.app!.inject({ method: 'DELETE', url: `/webhooks/${ok.body.result[0].id}` });
      expect(anon.statusCode).toBe(401);
    });
  });
}
