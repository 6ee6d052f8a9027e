import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver, type Received } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, postEvent, sleep, waitForDelivery } from '../helpers/e2e.js';
import { TokenAuthorizer } from '../../src/delivery/token-auth.js';
import { HttpSender } from '../../src/delivery/http.js';
import { toCallback } from '../../src/routing/callback.js';
import { FakeClock } from '../../src/lib/clock.js';

const SECRET = 'cl!ent-s3cret/with+odd=chars';

/** A token endpoint and a receiver that accepts only the tokens it issued and did not revoke. */
async function tokenWorld(opts: { expiresIn?: number; fail?: boolean } = {}) {
  const server = await new TestReceiver().start();
  let issued = 0;
  const revoked = new Set<string>();
  const tokenRequests: Received[] = [];
  server.behaviour = (req, res) => {
    if (req.path.startsWith('/token')) {
      tokenRequests.push(req);
      if (opts.fail) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client', echo: new URLSearchParams(req.body).get('client_secret') }));
        return;
      }
      issued += 1;
      // Slow enough that concurrent deliveries overlap with the fetch.
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token_type: 'Bearer', access_token: `tok-${issued}`, expires_in: opts.expiresIn ?? 3600 })), 50);
      return;
    }
    const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!/^tok-\d+$/.test(token) || revoked.has(token)) res.writeHead(401).end('who are you');
    else res.writeHead(200).end('ok');
  };
  const calls = () => server.received.filter((r) => !r.path.startsWith('/token'));
  return { server, revoke: (t: string) => revoked.add(t), tokenRequests, calls };
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`advanced authentication (token_auth) on ${backend.name}`, () => {
    let t: TestRelay;
    let drop: () => Promise<void>;
    const servers: TestReceiver[] = [];
    const tenant = async (name: string) => (await t.newTenant(`${name}-${backend.name}-${process.pid}`)).auth;
    beforeAll(async () => {
      const db = await backend.create();
      drop = db.drop;
      t = await startTestRelay(db.url);
    });
    afterAll(async () => {
      for (const s of servers) await s.close();
      await t?.close();
      await drop?.();
    });
    const world = async (opts: Parameters<typeof tokenWorld>[0] = {}) => {
      const w = await tokenWorld(opts);
      servers.push(w.server);
      return w;
    };
    const profile = (url: string, extra: Record<string, unknown> = {}) => ({
      format: 'template',
      title: 'token profile',
      channel: 'sms',
      url: `${url}/cb`,
      token_auth: { url: `${url}/token`, client_id: 'client-1', client_secret: SECRET, params: { grant_type: 'client_credentials', scope: 'callbacks' }, headers: { 'X-Tenant': 't1' } },
      ...extra,
    });

    it('fetches one token for many concurrent deliveries and sends it as Bearer', async () => {
      const auth = await tenant('tok-cache');
      const w = await world();
      const cb = await createCallback(t, profile(w.server.url), auth);
      expect(cb.settings).toMatchObject({ token_auth: { client_id: 'client-1', client_secret_set: true, method: 'POST', encoding: 'form' } });
      expect(JSON.stringify(cb)).not.toContain(SECRET);
      const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => postEvent(t, { type: 'sms.delivered', data: { to: String(i) }, callback_profile_id: cb.id }, auth)));
      for (const id of ids) expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
      expect(w.tokenRequests).toHaveLength(1);
      const form = new URLSearchParams(w.tokenRequests[0]!.body);
      expect(Object.fromEntries(form)).toEqual({ client_id: 'client-1', client_secret: SECRET, grant_type: 'client_credentials', scope: 'callbacks' });
      expect(w.tokenRequests[0]!.headers['x-tenant']).toBe('t1');
      expect(w.calls().every((c) => c.headers.authorization === 'Bearer tok-1')).toBe(true);
    });

    it('fetches a new token once after a 401, and when the cached one expires', async () => {
      const auth = await tenant('tok-401');
      const w = await world({ expiresIn: 1 });
      const cb = await createCallback(t, profile(w.server.url), auth);
      const first = await postEvent(t, { type: 'sms.delivered', data: {}, callback_profile_id: cb.id }, auth);
      expect((await waitForDelivery(t, first, { auth })).state).toBe('delivered');
      w.revoke('tok-1');
      const second = await postEvent(t, { type: 'sms.delivered', data: {}, callback_profile_id: cb.id }, auth);
      const d = await waitForDelivery(t, second, { auth });
      expect(d.state).toBe('delivered');
      expect(d.attempts).toBe(1);
      expect(w.tokenRequests).toHaveLength(2);
      expect(w.calls().at(-1)!.headers.authorization).toBe('Bearer tok-2');
      // expires_in 1 s: reused within it, fetched again after it.
      await sleep(1100);
      const third = await postEvent(t, { type: 'sms.delivered', data: {}, callback_profile_id: cb.id }, auth);
      expect((await waitForDelivery(t, third, { auth })).state).toBe('delivered');
      expect(w.tokenRequests).toHaveLength(3);
      expect(w.calls().at(-1)!.headers.authorization).toBe('Bearer tok-3');
    });

    it('records a failing token request as auth_failed without the client secret; the test endpoint uses the same path', async () => {
      const auth = await tenant('tok-fail');
      const w = await world({ fail: true });
      const cb = await createCallback(t, profile(w.server.url), auth);
      const id = await postEvent(t, { type: 'sms.delivered', data: {}, callback_profile_id: cb.id }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.state).toBe('failed');
      expect(w.calls()).toHaveLength(0);
      for (const a of d.attempts_list) {
        expect(a.error?.class).toBe('auth_failed');
        expect(a.error?.message).toMatch(/token request POST .* answered HTTP 400/);
      }
      expect(JSON.stringify(d)).not.toContain(SECRET);
      const rows = await t.relay.store.db.selectFrom('attempts').selectAll().where('callback_id', '=', cb.id).execute();
      expect(rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(rows)).not.toContain(SECRET);
      expect(JSON.stringify(rows)).not.toContain(encodeURIComponent(SECRET));

      const test = await t.api('POST', `/v1/callbacks/${cb.id}/test`, undefined, { auth });
      expect(test.body).toMatchObject({ outcome: 'retryable', reason: 'auth_failed', error: { class: 'auth_failed' } });
      expect(JSON.stringify(test.body)).not.toContain(SECRET);
    });
  });
}

describe('TokenAuthorizer', () => {
  it('expires tokens by the clock, shares one fetch, and logs failures without the secret', async () => {
    const w = await tokenWorld({ expiresIn: 100 });
    const sender = new HttpSender({ allowPrivate: true });
    const clock = new FakeClock(Date.now());
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const authz = new TokenAuthorizer({ sender, clock, log });
    const cb = toCallback({
      id: 'cb_x', account_id: 'a', api_user: null, title: 'tok', url: `${w.server.url}/cb`, format: 'template', method: 'POST', channel: 'none', events: '[]', headers: '{}',
      settings: JSON.stringify({ channel: 'none', token_auth: { url: `${w.server.url}/token`, method: 'POST', client_id: 'c', client_secret: SECRET, encoding: 'json', params: {}, headers: {} } }),
      secret: '', previous_secret: null, previous_secret_expires_at: null, timeout_ms: 1000, enabled: 1, disabled_reason: null, status: 'unknown', status_checked_at: null, status_reason: null, created_at: 0, updated_at: 0,
    });
    const req = { method: 'POST', url: `${w.server.url}/cb`, headers: {}, body: '' };
    const results = await Promise.all(Array.from({ length: 5 }, () => authz.authorize(cb, { ...req }, { refresh: false })));
    expect(results.every((r) => r.ok && r.request.headers.authorization === 'Bearer tok-1')).toBe(true);
    expect(authz.fetches).toBe(1);
    expect(JSON.parse(w.tokenRequests[0]!.body)).toEqual({ client_id: 'c', client_secret: SECRET });
    clock.advance(89_000);
    expect((await authz.authorize(cb, { ...req }, { refresh: false })).ok).toBe(true);
    expect(authz.fetches).toBe(1);
    // 100 s lifetime, renewed 10 s early.
    clock.advance(2_000);
    const renewed = await authz.authorize(cb, { ...req }, { refresh: false });
    expect(renewed.ok && renewed.request.headers.authorization).toBe('Bearer tok-2');

    const failing = await tokenWorld({ fail: true });
    const bad = toCallback({ ...cb.row, id: 'cb_y', settings: JSON.stringify({ channel: 'none', token_auth: { url: `${failing.server.url}/token`, method: 'POST', client_id: 'c', client_secret: SECRET, encoding: 'form', params: {}, headers: {} } }) });
    const r = await authz.authorize(bad, { ...req }, { refresh: false });
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain(SECRET);
    expect(lines.join('')).toContain('token request failed');
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).not.toContain(encodeURIComponent(SECRET));
    await sender.close();
    await w.server.close();
    await failing.server.close();
  });
});
