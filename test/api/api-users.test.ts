import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { basic } from '../helpers/relay.js';
import { expectError, tenant, useRelay } from './support.js';

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`api users API on ${backend.name}`, () => {
    const h = useRelay(backend);

    it("lists, creates (key shown once), rotates and revokes the account's api users; other accounts' are 404", async () => {
      const { t } = h;
      const me = await tenant(t, 'au');
      const other = await tenant(t, 'au-other');

      const made = await t.api('POST', '/v1/api-users', { name: `${me.apiUser}-ci` }, { auth: me.auth });
      expect(made.status).toBe(201);
      expect(made.body).toEqual({ name: `${me.apiUser}-ci`, api_key: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/), created_at: expect.any(String) });
      const ciAuth = basic(made.body.name, made.body.api_key);
      // The new user is in the caller's account: it sees the same callbacks.
      const cb = await t.api('POST', '/v1/callbacks', { title: 'shared', url: 'http://127.0.0.1:9/x' }, { auth: me.auth });
      expect((await t.api('GET', `/v1/callbacks/${cb.body.id}`, undefined, { auth: ciAuth })).status).toBe(200);

      const given = await t.api('POST', '/v1/api-users', { name: `${me.apiUser}-k`, key: 'a-key-of-my-own-0123' }, { auth: me.auth });
      expect(given.body.api_key).toBe('a-key-of-my-own-0123');
      expect((await t.api('GET', '/v1/callbacks', undefined, { auth: basic(`${me.apiUser}-k`, 'a-key-of-my-own-0123') })).status).toBe(200);

      const list = await t.api('GET', '/v1/api-users', undefined, { auth: me.auth });
      expect(list.status).toBe(200);
      expect(list.body.total).toBe(3);
      expect(list.body.data.map((u: any) => u.name)).toEqual([me.apiUser, `${me.apiUser}-ci`, `${me.apiUser}-k`]);
      expect(list.body.data[1]).toEqual({ name: `${me.apiUser}-ci`, created_at: made.body.created_at, revoked_at: null, last_used_at: null });
      expect(JSON.stringify(list.body)).not.toContain(made.body.api_key);
      expect((await t.api('GET', '/v1/api-users?limit=1&offset=1', undefined, { auth: me.auth })).body).toMatchObject({ total: 3, offset: 1, limit: 1, data: [{ name: `${me.apiUser}-ci` }] });
      // Another account sees only its own, and none of ours by name.
      const theirs = await t.api('GET', '/v1/api-users', undefined, { auth: other.auth });
      expect(theirs.body.data.map((u: any) => u.name)).toEqual([other.apiUser]);
      expectError(await t.api('POST', `/v1/api-users/${me.apiUser}-ci/rotate-key`, undefined, { auth: other.auth }), 404, 'not_found');
      expectError(await t.api('DELETE', `/v1/api-users/${me.apiUser}-ci`, undefined, { auth: other.auth }), 404, 'not_found');
      expect((await t.api('GET', '/v1/callbacks', undefined, { auth: ciAuth })).status).toBe(200);

      // Rotate: the old key stops at once (the Basic cache of this process forgets it), the new one works.
      const rot = await t.api('POST', `/v1/api-users/${me.apiUser}-ci/rotate-key`, undefined, { auth: me.auth });
      expect(rot.status).toBe(200);
      expect(rot.body).toEqual({ name: `${me.apiUser}-ci`, api_key: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
      expect(rot.body.api_key).not.toBe(made.body.api_key);
      expectError(await t.api('GET', '/v1/callbacks', undefined, { auth: ciAuth }), 401, 'unauthorized');
      const newAuth = basic(`${me.apiUser}-ci`, rot.body.api_key);
      expect((await t.api('GET', '/v1/callbacks', undefined, { auth: newAuth })).status).toBe(200);

      // Revoke: the key stops, the user stays listed as revoked; again is a no-op; rotating it is a conflict.
      expect((await t.api('DELETE', `/v1/api-users/${me.apiUser}-ci`, undefined, { auth: me.auth })).status).toBe(204);
      expectError(await t.api('GET', '/v1/callbacks', undefined, { auth: newAuth }), 401, 'unauthorized');
      expect((await t.api('DELETE', `/v1/api-users/${me.apiUser}-ci`, undefined, { auth: me.auth })).status).toBe(204);
      expectError(await t.api('POST', `/v1/api-users/${me.apiUser}-ci/rotate-key`, undefined, { auth: me.auth }), 409, 'conflict');
      const after = await t.api('GET', '/v1/api-users', undefined, { auth: me.auth });
      expect(after.body.data[1].revoked_at).toEqual(expect.any(String));
      expect(after.body.data[0].revoked_at).toBeNull();
    });

    it('refuses revoking yourself (409), a taken name (409, names never reused), bad names and keys (422), unknown names (404)', async () => {
      const { t } = h;
      const me = await tenant(t, 'au-bad');
      const self = await t.api('DELETE', `/v1/api-users/${me.apiUser}`, undefined, { auth: me.auth });
      expectError(self, 409, 'conflict');
      expect(self.body.message).toMatch(/cannot revoke the api user you are signed in as/);
      expect((await t.api('GET', '/v1/callbacks', undefined, { auth: me.auth })).status).toBe(200);

      expectError(await t.api('POST', '/v1/api-users', { name: 'admin' }, { auth: me.auth }), 409, 'conflict');
      expectError(await t.api('POST', '/v1/api-users', { name: 'has space' }, { auth: me.auth }), 422, 'invalid', 'name');
      expectError(await t.api('POST', '/v1/api-users', { name: 'x'.repeat(65) }, { auth: me.auth }), 422, 'invalid', 'name');
      expectError(await t.api('POST', '/v1/api-users', { name: `${me.apiUser}-s`, key: 'short' }, { auth: me.auth }), 422, 'invalid', 'key');
      expectError(await t.api('POST', '/v1/api-users', { name: `${me.apiUser}-s`, role: 'admin' }, { auth: me.auth }), 422, 'invalid', 'role');
      expectError(await t.api('POST', '/v1/api-users/nobody-here/rotate-key', undefined, { auth: me.auth }), 404, 'not_found');
      expectError(await t.api('DELETE', '/v1/api-users/nobody-here', undefined, { auth: me.auth }), 404, 'not_found');
      expect((await t.api('GET', '/v1/api-users', undefined, { auth: me.auth })).body.total).toBe(1);
    });

    it('records the last sign-in of an api user', async () => {
      const { t } = h;
      const me = await tenant(t, 'au-used');
      const before = Date.now();
      expect((await t.api('POST', '/v1/sessions', { api_user: me.apiUser, api_key: me.apiKey }, { auth: '' })).status).toBe(201);
      const list = await t.api('GET', '/v1/api-users', undefined, { auth: me.auth });
      expect(Date.parse(list.body.data[0].last_used_at)).toBeGreaterThanOrEqual(before);
    });
  });
}
