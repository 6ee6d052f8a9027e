import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { FakeClock } from '../../src/lib/clock.js';
import { expectError, tenant, useRelay, type Tenant } from './support.js';

/** Signs in through POST /v1/sessions; returns the cookie header to send and the session body. */
async function signIn(t: TestRelay, me: { apiUser: string; apiKey: string }) {
  const r = await t.api('POST', '/v1/sessions', { api_user: me.apiUser, api_key: me.apiKey }, { auth: '' });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const setCookie = String(r.headers['set-cookie']);
  const token = /^relay_session=([^;]+);/.exec(setCookie)![1]!;
  return { cookie: `relay_session=${token}`, setCookie, body: r.body as { api_user: string; account_id: string; csrf_token: string; expires_at: string } };
}

/** Calls the API with the session cookie only (no Basic credentials), and the CSRF token when given. */
function withCookie(t: TestRelay, cookie: string, csrf?: string) {
  return (method: string, url: string, body?: unknown) =>
    t.api(method, url, body, { auth: '', headers: { cookie, ...(csrf !== undefined ? { 'x-csrf-token': csrf } : {}) } });
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`sessions on ${backend.name}`, () => {
    const h = useRelay(backend);

    it('signs in with an api user and key: an HttpOnly, SameSite=Strict cookie that expires, no Secure over plain http', async () => {
      const { t } = h;
      const me = await tenant(t, 'ses-in');
      const before = Date.now();
      const s = await signIn(t, me);
      expect(s.setCookie).toMatch(/^relay_session=[A-Za-z0-9_-]{40,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
      expect(s.setCookie).not.toContain('Secure');
      expect(s.body.api_user).toBe(me.apiUser);
      expect(s.body.account_id).toBe(me.accountId);
      expect(s.body.csrf_token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      const expires = Date.parse(s.body.expires_at);
      expect(expires).toBeGreaterThanOrEqual(before + 12 * 3600_000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 12 * 3600_000);

      const cur = await withCookie(t, s.cookie)('GET', '/v1/sessions/current');
      expect(cur.status).toBe(200);
      expect(cur.body).toEqual(s.body);
      // The key itself is in no answer.
      expect(JSON.stringify(s.body) + s.setCookie).not.toContain(me.apiKey);

      // Wrong credentials: 401, no cookie, and no Basic challenge (a browser would show its own dialog).
      for (const body of [
        { api_user: me.apiUser, api_key: 'wrong' },
        { api_user: 'no-such-user', api_key: me.apiKey },
      ]) {
        const bad = await t.api('POST', '/v1/sessions', body, { auth: '' });
        expectError(bad, 401, 'unauthorized');
        expect(bad.headers['set-cookie']).toBeUndefined();
        expect(bad.headers['www-authenticate']).toBeUndefined();
      }
      expectError(await t.api('POST', '/v1/sessions', { api_user: me.apiUser }, { auth: '' }), 422, 'invalid', 'api_key');
      expectError(await withCookie(t, 'relay_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')('GET', '/v1/sessions/current'), 401, 'unauthorized');
      expectError(await t.api('GET', '/v1/sessions/current', undefined, { auth: '' }), 401, 'unauthorized');
    });

    it('with the cookie, reads need no token; changes need X-CSRF-Token (403 csrf_failed without it, nothing changed); Basic needs none', async () => {
      const { t, receiver } = h;
      const me = await tenant(t, 'ses-csrf');
      const s = await signIn(t, me);
      const noToken = withCookie(t, s.cookie);
      const wrongToken = withCookie(t, s.cookie, 'not-the-token');
      const withToken = withCookie(t, s.cookie, s.body.csrf_token);
      const body = { title: 'by cookie', url: `${receiver.url}/ses` };

      const list = await noToken('GET', '/v1/callbacks');
      expect(list.status).toBe(200);
      expect(list.body.total).toBe(0);
      for (const call of [noToken, wrongToken]) {
        expectError(await call('POST', '/v1/callbacks', body), 403, 'csrf_failed');
        expectError(await call('POST', '/v1/events', { type: 'sms.delivered', data: {} }), 403, 'csrf_failed');
      }
      expect((await noToken('GET', '/v1/callbacks')).body.total).toBe(0);

      const made = await withToken('POST', '/v1/callbacks', body);
      expect(made.status).toBe(201);
      expectError(await noToken('DELETE', `/v1/callbacks/${made.body.id}`), 403, 'csrf_failed');
      expectError(await noToken('PATCH', `/v1/callbacks/${made.body.id}`, { title: 'x' }), 403, 'csrf_failed');
      expect((await noToken('GET', `/v1/callbacks/${made.body.id}`)).body.title).toBe('by cookie');

      // Basic credentials alone: no token needed, as before sessions existed.
      const basic = await t.api('PATCH', `/v1/callbacks/${made.body.id}`, { title: 'by basic' }, { auth: me.auth });
      expect(basic.status).toBe(200);
      expect(basic.body.title).toBe('by basic');
    });

    it('tenancy holds with the cookie: another account\'s ids are 404, its lists empty', async () => {
      const { t, receiver } = h;
      const a = await tenant(t, 'ses-ta');
      const b = await tenant(t, 'ses-tb');
      const theirs = await t.api('POST', '/v1/callbacks', { title: 'b', url: `${receiver.url}/b` }, { auth: b.auth });
      const ev = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: {} }, { auth: b.auth });
      const s = await signIn(t, a);
      const call = withCookie(t, s.cookie, s.body.csrf_token);
      expectError(await call('GET', `/v1/callbacks/${theirs.body.id}`), 404, 'not_found');
      expectError(await call('PATCH', `/v1/callbacks/${theirs.body.id}`, { title: 'mine' }), 404, 'not_found');
      expectError(await call('DELETE', `/v1/callbacks/${theirs.body.id}`), 404, 'not_found');
      expectError(await call('GET', `/v1/events/${ev.body.id}`), 404, 'not_found');
      expect((await call('GET', '/v1/callbacks')).body.total).toBe(0);
      expect((await t.api('GET', `/v1/callbacks/${theirs.body.id}`, undefined, { auth: b.auth })).body.title).toBe('b');
    });

    it('signing out ends the session and clears the cookie; it needs the CSRF token', async () => {
      const { t } = h;
      const me = await tenant(t, 'ses-out');
      const s = await signIn(t, me);
      const other = await signIn(t, me);
      expectError(await withCookie(t, s.cookie)('DELETE', '/v1/sessions/current'), 403, 'csrf_failed');
      expect((await withCookie(t, s.cookie)('GET', '/v1/callbacks')).status).toBe(200);

      const out = await withCookie(t, s.cookie, s.body.csrf_token)('DELETE', '/v1/sessions/current');
      expect(out.status).toBe(204);
      expect(String(out.headers['set-cookie'])).toMatch(/^relay_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
      const after = await withCookie(t, s.cookie)('GET', '/v1/callbacks');
      expectError(after, 401, 'unauthorized');
      expect(after.headers['www-authenticate']).toBeUndefined();
      expectError(await withCookie(t, s.cookie)('GET', '/v1/sessions/current'), 401, 'unauthorized');
      // Only that session: the same user's other one goes on.
      expect((await withCookie(t, other.cookie)('GET', '/v1/callbacks')).status).toBe(200);
    });

    it("revoking or rotating an api user's key ends its sessions", async () => {
      const { t } = h;
      const me: Tenant = await tenant(t, 'ses-rev');
      const second = await t.api('POST', '/v1/api-users', { name: `${me.apiUser}-2` }, { auth: me.auth });
      expect(second.status).toBe(201);
      const other = { apiUser: second.body.name as string, apiKey: second.body.api_key as string };

      const s1 = await signIn(t, other);
      expect((await withCookie(t, s1.cookie)('GET', '/v1/callbacks')).status).toBe(200);
      const rotated = await t.api('POST', `/v1/api-users/${other.apiUser}/rotate-key`, undefined, { auth: me.auth });
      expect(rotated.status).toBe(200);
      expectError(await withCookie(t, s1.cookie)('GET', '/v1/callbacks'), 401, 'unauthorized');
      expectError(await t.api('POST', '/v1/sessions', { api_user: other.apiUser, api_key: other.apiKey }, { auth: '' }), 401, 'unauthorized');

      const s2 = await signIn(t, { apiUser: other.apiUser, apiKey: rotated.body.api_key });
      expect((await withCookie(t, s2.cookie)('GET', '/v1/callbacks')).status).toBe(200);
      expect((await t.api('DELETE', `/v1/api-users/${other.apiUser}`, undefined, { auth: me.auth })).status).toBe(204);
      expectError(await withCookie(t, s2.cookie)('GET', '/v1/callbacks'), 401, 'unauthorized');
      expectError(await t.api('POST', '/v1/sessions', { api_user: other.apiUser, api_key: rotated.body.api_key }, { auth: '' }), 401, 'unauthorized');
    });

    it('a session expires after RELAY_SESSION_TTL (fake clock)', async () => {
      const db = await backend.create();
      const clock = new FakeClock(Date.now());
      const t = await startTestRelay(db.url, { env: { RELAY_SESSION_TTL: '30m' } }, { clock });
      try {
        const me = await t.newTenant(`ses-exp-${process.pid}`);
        const s = await signIn(t, me);
        expect(s.setCookie).toContain('Max-Age=1800');
        expect(Date.parse(s.body.expires_at)).toBe(clock.now() + 30 * 60_000);
        clock.advance(30 * 60_000 - 1);
        expect((await withCookie(t, s.cookie)('GET', '/v1/callbacks')).status).toBe(200);
        clock.advance(1);
        expectError(await withCookie(t, s.cookie)('GET', '/v1/callbacks'), 401, 'unauthorized');
        expectError(await withCookie(t, s.cookie)('GET', '/v1/sessions/current'), 401, 'unauthorized');
      } finally {
        await t.close();
        await db.drop();
      }
    });

    it('adds Secure to the cookie when the request came over TLS', async (ctx) => {
      const { t } = h;
      const dir = mkdtempSync(join(tmpdir(), 'relay-tls-'));
      try {
        try {
          execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
        } catch {
          console.warn('openssl is not available: the TLS cookie test is SKIPPED');
          ctx.skip();
        }
        const me = await tenant(t, 'ses-tls');
        const app = t.relay.app!;
        await app.ready();
        // The relay's own routes behind a real TLS socket (the relay itself listens over plain HTTP).
        const server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => app.routing(req, res));
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
        try {
          const port = (server.address() as { port: number }).port;
          const setCookie = await new Promise<string>((resolve, reject) => {
            const body = JSON.stringify({ api_user: me.apiUser, api_key: me.apiKey });
            const req = https.request(
              { host: '127.0.0.1', port, path: '/v1/sessions', method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
              (res) => {
                res.resume();
                res.on('end', () => (res.statusCode === 201 ? resolve(String(res.headers['set-cookie'])) : reject(new Error(`status ${res.statusCode}`))));
              },
            );
            req.on('error', reject);
            req.end(body);
          });
          expect(setCookie).toMatch(/^relay_session=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
        } finally {
          await new Promise((r) => server.close(r));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
