import { beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import twilio from 'twilio';
import { Webhook } from 'standardwebhooks';
import { BACKENDS, type Backend } from '../helpers/backends.js';
import type { TestRelay } from '../helpers/relay.js';
import { startTestRelay } from '../helpers/relay.js';
import type { TestReceiver } from '../helpers/receiver.js';
import { useRelaySuite } from '../helpers/suite.js';
import { createCallback, waitUntil } from '../helpers/e2e.js';
import { engagelabReceiver } from '../helpers/vendor-receivers.js';
import { RetentionPurger } from '../../src/retention.js';
import { FakeClock } from '../../src/lib/clock.js';
import { pino } from 'pino';

/**
 * The inbound gateway end to end: vendors' callbacks posted over real HTTP to a source's ingest URL
 * (the relay listening on 127.0.0.1), answered as each vendor expects, stored, mapped and delivered to
 * the account's callbacks by real receivers that verify them (standardwebhooks package, EngageLab's
 * X-CALLBACK-ID written from its document, twilio package for the Twilio signatures).
 */

const DAY = 86_400_000;

/** A POST (or GET) to the relay over a socket; the body as text. */
async function send(url: string, opts: { method?: 'POST' | 'GET'; body?: string; type?: string; headers?: Record<string, string> } = {}) {
  const res = await request(url, {
    method: opts.method ?? 'POST',
    headers: { ...(opts.type ? { 'content-type': opts.type } : {}), ...(opts.headers ?? {}) },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** A receiver that accepts only what the standardwebhooks package verifies with `secret`. */
function standardReceiver(receiver: TestReceiver, secret: string) {
  const wh = new Webhook(secret);
  const verified: { type: string; data: Record<string, unknown>; id: string }[] = [];
  receiver.behaviour = (req, res) => {
    try {
      const body = wh.verify(req.body, req.headers as Record<string, string>) as { type: string; data: Record<string, unknown> };
      verified.push({ ...body, id: String(req.headers['webhook-id']) });
      res.statusCode = 200;
    } catch {
      res.statusCode = 401;
    }
    res.end();
  };
  return verified;
}

const octopushDr = (messageId: string) =>
  JSON.stringify({ channel: 'sms', message_id: messageId, number: '+33600000001', status: 'DELIVERED', delivery_date: '2026-07-01 12:00:00', meta_data: { order: '42' } });

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`inbound gateway on ${backend.name}`, () => {
    let t!: TestRelay;
    let base = '';
    const { newReceiver, tenant } = useRelaySuite(backend, { env: { RELAY_MASTER_KEY: 'inbound-test-master-key-0123456789' } }, (relay) => {
      t = relay;
    });
    beforeAll(async () => {
      base = await t.relay.app!.listen({ port: 0, host: '127.0.0.1' });
    });
    const createSource = async (body: Record<string, unknown>, auth: string) => {
      const res = await t.api('POST', '/v1/sources', body, { auth });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as { id: string; ingest_path: string; ingest_url: string; settings: Record<string, unknown> };
    };
    const requestsOf = async (id: string, auth: string) => {
      const res = await t.api('GET', `/v1/sources/${id}/requests`, undefined, { auth });
      expect(res.status).toBe(200);
      return res.body as { data: any[]; total: number };
    };

    it('an Octopush DLR reaches the Standard Webhooks callback as sms.delivered and the EngageLab callback as a {total, rows} status row', async () => {
      const auth = await tenant('done');
      const std = await newReceiver();
      const el = await newReceiver();
      const stdCb = await createCallback(t, { title: 'std', url: `${std.url}/hook` }, auth);
      const verified = standardReceiver(std, stdCb.secret);
      const elv = engagelabReceiver('shop', 'el-secret', null);
      el.behaviour = elv.behaviour;
      await createCallback(t, { title: 'el', url: `${el.url}/cb`, format: 'engagelab', username: 'shop', secret: 'el-secret', events: ['sms.delivered'] }, auth);
      const src = await createSource({ title: 'Octopush DLRs', format: 'octopush' }, auth);
      expect(src.ingest_path).toMatch(/^\/inbound\/[A-Za-z0-9_-]{32}$/);
      expect(src.ingest_url).toMatch(new RegExp(`^http://[^/]+${src.ingest_path}$`));

      const answer = await send(`${base}${src.ingest_path}`, { body: octopushDr('oct-100'), type: 'application/json' });
      expect(answer).toMatchObject({ status: 200, body: '' });

      const got = await waitUntil(() => verified.find((v) => v.data.message_id === 'oct-100'), { what: 'the standard callback' });
      expect(got).toMatchObject({ type: 'sms.delivered', data: { message_id: 'oct-100', to: '+33600000001', raw_status: 'DELIVERED', event_time: '2026-07-01T12:00:00.000Z' } });
      const row = await waitUntil(() => elv.accepted.flatMap((a) => a.body.rows).find((r) => r.message_id === 'oct-100'), { what: 'the engagelab callback' });
      expect(row).toMatchObject({ message_id: 'oct-100', to: '+33600000001', server: 'sms', custom_args: { order: '42' }, status: { message_status: 'delivered', error_code: 0 } });
      expect(elv.rejected).toHaveLength(0);

      const list = await waitUntil(async () => {
        const l = await requestsOf(src.id, auth);
        return l.data[0]?.state === 'mapped' ? l : undefined;
      });
      expect(list.total).toBe(1);
      expect(list.data[0]).toMatchObject({ method: 'POST', state: 'mapped', error: null, event_ids: [got.id], body: octopushDr('oct-100') });
    });

    it('a Twilio status callback signed by the twilio package is accepted (empty TwiML); a bad signature is a 401 and stores nothing', async () => {
      const auth = await tenant('twilio');
      const token = 'twilio-inbound-token-1';
      const src = await createSource({ title: 'Twilio', format: 'twilio', settings: { auth_token: token } }, auth);
      expect(src.settings).toEqual({ auth_token_set: true });
      const url = `${base}${src.ingest_path}?site=eu`;
      const params = { MessageSid: 'SM0123456789abcdef0123456789abcdef', SmsSid: 'SM0123456789abcdef0123456789abcdef', MessageStatus: 'delivered', SmsStatus: 'delivered', AccountSid: 'AC0123456789abcdef0123456789abcdef', From: '+15005550006', To: '+33600000002', ApiVersion: '2010-04-01' };
      const form = new URLSearchParams(params).toString();
      const good = twilio.getExpectedTwilioSignature(token, url, params);
      expect(twilio.validateRequest(token, good, url, params)).toBe(true);

      const ok = await send(url, { body: form, type: 'application/x-www-form-urlencoded', headers: { 'x-twilio-signature': good } });
      expect(ok.status).toBe(200);
      expect(ok.headers['content-type']).toMatch(/^text\/xml/);
      expect(ok.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');

      const bad = await send(url, { body: form, type: 'application/x-www-form-urlencoded', headers: { 'x-twilio-signature': twilio.getExpectedTwilioSignature('wrong-token', url, params) } });
      expect(bad.status).toBe(401);
      expect(JSON.parse(bad.body)).toMatchObject({ code: 'unauthorized' });
      const tampered = await send(url, { body: form.replace('delivered', 'failed'), type: 'application/x-www-form-urlencoded', headers: { 'x-twilio-signature': good } });
      expect(tampered.status).toBe(401);
      const unsigned = await send(url, { body: form, type: 'application/x-www-form-urlencoded' });
      expect(unsigned.status).toBe(401);

      const list = await waitUntil(async () => {
        const l = await requestsOf(src.id, auth);
        return l.data[0]?.state === 'mapped' ? l : undefined;
      });
      expect(list.total).toBe(1);
      const raw = await t.relay.store.db.selectFrom('inbound_requests').select('id').where('source_id', '=', src.id).execute();
      expect(raw).toHaveLength(1);
      expect(list.data[0].headers['x-twilio-signature']).toBe('[redacted]');
      const ev = await t.api('GET', `/v1/events/${list.data[0].event_ids[0]}`, undefined, { auth });
      expect(ev.body).toMatchObject({ type: 'sms.delivered', resource_id: params.MessageSid, data: { message_id: params.MessageSid, raw_status: 'delivered' } });

      // The auth token and the URL token are sealed at rest, never shown back.
      const stored = await t.relay.store.db.selectFrom('sources').selectAll().where('id', '=', src.id).executeTakeFirstOrThrow();
      expect(stored.token).toMatch(/^sealed:/);
      expect(stored.settings).not.toContain(token);
      expect(JSON.stringify((await t.api('GET', `/v1/sources/${src.id}`, undefined, { auth })).body)).not.toContain(token);
      // Twilio posts; a GET is refused with the methods it takes.
      const get = await send(url, { method: 'GET' });
      expect(get.status).toBe(405);
      const metrics = String((await t.api('GET', '/metrics')).body);
      expect(metrics).toContain('relay_inbound_requests_total{format="twilio",outcome="stored"} 1');
      expect(metrics).toContain('relay_inbound_requests_total{format="twilio",outcome="refused"} 3');
      expect(metrics).toMatch(/relay_inbound_mapped_total\{state="mapped"\} [1-9]/);
    });

    it('an unmapped request is listed with its reason, and mapped by a replay after the settings are fixed', async () => {
      const auth = await tenant('replay');
      const std = await newReceiver();
      const stdCb = await createCallback(t, { title: 'std', url: `${std.url}/hook` }, auth);
      const verified = standardReceiver(std, stdCb.secret);
      const src = await createSource({ title: 'SMPP gateway', format: 'smpp' }, auth);
      const receipt = 'id:77001 sub:001 dlvrd:001 submit date:2607011200 done date:2607011201 stat:DELIVERD err:000 text:Hi';
      const answer = await send(`${base}${src.ingest_path}`, { body: receipt, type: 'text/plain' });
      expect(answer).toMatchObject({ status: 200, body: 'OK' });
      const unmapped = await waitUntil(async () => (await requestsOf(src.id, auth)).data.find((r) => r.state !== 'stored'));
      expect(unmapped).toMatchObject({ state: 'unmapped', event_ids: null, error: expect.stringContaining('unknown stat "DELIVERD"') });

      // Replayed with the same settings: still unmapped.
      const again = await t.api('POST', `/v1/sources/${src.id}/requests/${unmapped.id}/replay`, undefined, { auth });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ state: 'unmapped' });
      const fixed = await t.api('PATCH', `/v1/sources/${src.id}`, { settings: { statuses: { DELIVERD: 'sms.delivered' } } }, { auth });
      expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
      const replayed = await t.api('POST', `/v1/sources/${src.id}/requests/${unmapped.id}/replay`, undefined, { auth });
      expect(replayed.status).toBe(200);
      expect(replayed.body).toMatchObject({ id: unmapped.id, state: 'mapped', error: null, event_ids: [expect.any(String)] });
      const got = await waitUntil(() => verified.find((v) => v.data.message_id === '77001'));
      expect(got).toMatchObject({ type: 'sms.delivered', id: replayed.body.event_ids[0] });
      // Mapped: a replay would send its events again; refused.
      const twice = await t.api('POST', `/v1/sources/${src.id}/requests/${unmapped.id}/replay`, undefined, { auth });
      expect(twice.status).toBe(409);
    });

    it("Whispir: its GET check is answered and not kept; XML with the key is mapped; a wrong key is a 401; the key is redacted in what is kept", async () => {
      const auth = await tenant('whispir');
      const src = await createSource({ title: 'Whispir', format: 'whispir', settings: { key: 'wh-key-1' } }, auth);
      const url = `${base}${src.ingest_path}`;
      const check = await send(`${url}?auth=wh-key-1`, { method: 'GET' });
      expect(check).toMatchObject({ status: 200, body: 'OK' });
      const xml =
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><ns2:deliveryResponse xmlns:ns2="http://schemas.api.whispir.com">' +
        '<messageid>wh-9</messageid><messagelocation/><from><name>Jo</name><mri/><mobile>+61400000009</mobile><email/><voice/></from>' +
        '<responseMessage><channel>SMS</channel><acknowledged>01/07/26 12:00</acknowledged><content>Yes</content></responseMessage><customParameters/></ns2:deliveryResponse>';
      expect((await send(`${url}?auth=nope`, { body: xml, type: 'application/xml' })).status).toBe(401);
      expect((await send(url, { body: xml, type: 'application/xml', headers: { 'x-whispir-callback-key': 'nope' } })).status).toBe(401);
      expect((await send(`${url}?auth=wh-key-1`, { body: xml, type: 'application/xml' })).status).toBe(200);
      expect((await send(url, { body: xml.replace('wh-9', 'wh-10'), type: 'text/xml', headers: { 'x-whispir-callback-key': 'wh-key-1' } })).status).toBe(200);
      const list = await waitUntil(async () => {
        const l = await requestsOf(src.id, auth);
        return l.data.length === 2 && l.data.every((r) => r.state === 'mapped') ? l : undefined;
      });
      expect(list.total).toBe(2);
      // Newest first.
      expect(list.data[0].headers['x-whispir-callback-key']).toBe('[redacted]');
      expect(list.data[1].query).toBe('auth=%5Bredacted%5D');
      expect(JSON.stringify(list)).not.toContain('wh-key-1');
      const ev = await t.api('GET', `/v1/events/${list.data[1].event_ids[0]}`, undefined, { auth });
      expect(ev.body).toMatchObject({ type: 'sms.inbound', resource_id: 'wh-9', data: { from: '+61400000009', text: 'Yes' } });
    });

    it("tenancy: another account's source is a 404 on every route; an unknown or deleted token is a 404", async () => {
      const mine = await tenant('owner');
      const other = await tenant('other');
      const src = await createSource({ title: 'mine', format: 'octopush' }, mine);
      expect((await send(`${base}${src.ingest_path}`, { body: octopushDr('oct-t'), type: 'application/json' })).status).toBe(200);
      const rid = (await waitUntil(async () => (await requestsOf(src.id, mine)).data[0])).id;
      for (const [method, url, body] of [
        ['GET', `/v1/sources/${src.id}`, undefined],
        ['PATCH', `/v1/sources/${src.id}`, { title: 'theirs' }],
        ['DELETE', `/v1/sources/${src.id}`, undefined],
        ['GET', `/v1/sources/${src.id}/requests`, undefined],
        ['POST', `/v1/sources/${src.id}/requests/${rid}/replay`, undefined],
      ] as const) {
        const res = await t.api(method, url, body, { auth: other });
        expect(res.status, `${method} ${url}`).toBe(404);
        expect(res.body.code).toBe('not_found');
      }
      expect((await t.api('GET', '/v1/sources', undefined, { auth: other })).body.total).toBe(0);
      expect((await t.api('GET', `/v1/sources/${src.id}`, undefined, { auth: mine })).body.title).toBe('mine');
      expect((await send(`${base}/inbound/not-a-token`, { body: '{}', type: 'application/json' })).status).toBe(404);
      // A new token: the old URL is a 404 at once, the new one works.
      const rotated = await t.api('POST', `/v1/sources/${src.id}/rotate-token`, undefined, { auth: mine });
      expect(rotated.status).toBe(200);
      expect(rotated.body.ingest_path).not.toBe(src.ingest_path);
      expect((await send(`${base}${src.ingest_path}`, { body: octopushDr('oct-old'), type: 'application/json' })).status).toBe(404);
      expect((await send(`${base}${rotated.body.ingest_path}`, { body: octopushDr('oct-new'), type: 'application/json' })).status).toBe(200);
      expect((await t.api('POST', `/v1/sources/${src.id}/rotate-token`, undefined, { auth: other })).status).toBe(404);
      src.ingest_path = rotated.body.ingest_path;
      expect((await t.api('DELETE', `/v1/sources/${src.id}`, undefined, { auth: mine })).status).toBe(204);
      expect((await send(`${base}${src.ingest_path}`, { body: octopushDr('oct-u'), type: 'application/json' })).status).toBe(404);
      expect(await t.relay.store.db.selectFrom('inbound_requests').select('id').where('source_id', '=', src.id).execute()).toHaveLength(0);
    });

    it('a body of another type is a 415, one over the API body limit a 413; neither is stored', async () => {
      const auth = await tenant('bodies');
      const src = await createSource({ title: 'bodies', format: 'octopush' }, auth);
      const other = await send(`${base}${src.ingest_path}`, { body: 'x', type: 'application/octet-stream' });
      expect(other.status).toBe(415);
      expect(JSON.parse(other.body)).toMatchObject({ code: 'unsupported_media_type', message: expect.stringContaining('application/x-www-form-urlencoded') });
      const big = await send(`${base}${src.ingest_path}`, { body: JSON.stringify({ message_id: 'x', status: 'DELIVERED', delivery_date: '2026-07-01 12:00:00', pad: 'x'.repeat(1024 * 1024) }), type: 'application/json' });
      expect(big.status).toBe(413);
      expect((await requestsOf(src.id, auth)).total).toBe(0);
    });

    it('bad input on /v1/sources is a 422 naming the field and changes nothing', async () => {
      const auth = await tenant('bad');
      const src = await createSource({ title: 'ok', format: 'engagelab', settings: { username: 'shop', secret: 's' } }, auth);
      const err = async (method: 'POST' | 'PATCH', url: string, body: unknown, field: string) => {
        const res = await t.api(method, url, body, { auth });
        expect(res.status, JSON.stringify(res.body)).toBe(422);
        expect(res.body).toMatchObject({ code: 'invalid', field });
      };
      await err('POST', '/v1/sources', { title: 'x', format: 'nope' }, 'format');
      await err('POST', '/v1/sources', { title: '', format: 'octopush' }, 'title');
      await err('POST', '/v1/sources', { title: 'x', format: 'octopush', extra: 1 }, 'extra');
      await err('POST', '/v1/sources', { title: 'x', format: 'octopush', settings: { auth_token: 't' } }, 'settings.auth_token');
      await err('POST', '/v1/sources', { title: 'x', format: 'twilio' }, 'settings.auth_token');
      await err('POST', '/v1/sources', { title: 'x', format: 'standard', settings: { secret: 'not-whsec' } }, 'settings.secret');
      await err('POST', '/v1/sources', { title: 'x', format: 'octopush', settings: { timezone: 'Mars/Base' } }, 'settings.timezone');
      await err('POST', '/v1/sources', { title: 'x', format: 'engagelab', settings: { username: 'shop' } }, 'settings.secret');
      await err('PATCH', `/v1/sources/${src.id}`, { format: 'octopush' }, 'format');
      await err('PATCH', `/v1/sources/${src.id}`, { settings: { username: 'a;b' } }, 'settings.username');
      const list = await t.api('GET', '/v1/sources', undefined, { auth });
      expect(list.body.total).toBe(1);
      expect(list.body.data[0]).toMatchObject({ title: 'ok', settings: { username: 'shop', secret_set: true, authorization_set: false } });
      expect((await t.api('GET', '/v1/sources?limit=0', undefined, { auth })).status).toBe(422);
    });

    it('the routes are in the OpenAPI document; the formats are listed with their fields', async () => {
      const doc = await t.api('GET', '/docs/json');
      for (const p of ['/v1/sources', '/v1/sources/{id}', '/v1/sources/{id}/rotate-token', '/v1/sources/{id}/requests', '/v1/sources/{id}/requests/{rid}/replay', '/inbound/{token}', '/v1/sources/formats']) {
        expect(doc.body.paths[p], p).toBeDefined();
      }
      const formats = await t.api('GET', '/v1/sources/formats');
      expect(formats.body.data.map((f: { name: string }) => f.name)).toEqual(['octopush', 'engagelab', 'whispir', 'twilio', 'smpp', 'standard']);
      expect(formats.body.data.find((f: { name: string }) => f.name === 'twilio').fields[0]).toMatchObject({ key: 'auth_token', type: 'secret', write_only: true, required: true });
    });

    it("retention: requests older than the account's retention are purged, except those not mapped yet", async () => {
      const auth = await tenant('retention');
      const src = await createSource({ title: 'old', format: 'octopush' }, auth);
      expect((await send(`${base}${src.ingest_path}`, { body: octopushDr('oct-r'), type: 'application/json' })).status).toBe(200);
      await waitUntil(async () => (await requestsOf(src.id, auth)).data[0]?.state === 'mapped');
      const stored = await t.relay.store.db.selectFrom('inbound_requests').selectAll().where('source_id', '=', src.id).executeTakeFirstOrThrow();
      await t.relay.store.db.insertInto('inbound_requests').values({ ...stored, id: `${stored.id}x`, state: 'failed', event_ids: null, error: 'refused', mapped_at: null }).execute();
      // Not mapped yet (the periodic sweep takes stored requests older than 30 s: this one is not).
      await t.relay.store.db.insertInto('inbound_requests').values({ ...stored, id: `${stored.id}y`, state: 'stored', event_ids: null, mapped_at: null }).execute();
      const later = new FakeClock(Date.now() + 31 * DAY);
      const purger = new RetentionPurger({ store: t.relay.store, clock: later, log: pino({ level: 'silent' }) }, { defaultMs: 30 * DAY });
      const counts = await purger.purge();
      expect(counts.inbound).toBeGreaterThanOrEqual(2);
      const left = await t.relay.store.db.selectFrom('inbound_requests').select(['id', 'state']).where('source_id', '=', src.id).execute();
      expect(left).toEqual([{ id: `${stored.id}y`, state: 'stored' }]);
      await t.relay.store.db.deleteFrom('inbound_requests').where('id', '=', `${stored.id}y`).execute();
    });
  });

  // Several processes share PostgreSQL; an SQLite file has one process by design.
  describe.skipIf(!backend.available || backend.name !== 'postgres')(`inbound gateway with two relays on one database (${backend.name})`, () => {
    it('two processes mapping the same stored request at once store its event once and record one outcome', async () => {
      const db = await (backend as Backend).create();
      const { TestReceiver } = await import('../helpers/receiver.js');
      const receiver = await new TestReceiver().start();
      const a = await startTestRelay(db.url);
      const b = await startTestRelay(db.url);
      try {
        const base = await a.relay.app!.listen({ port: 0, host: '127.0.0.1' });
        const cb = await createCallback(a, { title: 'std', url: `${receiver.url}/hook` });
        await waitUntil(() => b.relay.registry.get(cb.id), { what: 'the callback in the second relay' });
        const verified = standardReceiver(receiver, cb.secret);
        const src = (await a.api('POST', '/v1/sources', { title: 'oct', format: 'octopush' })).body as { id: string; ingest_path: string };
        a.relay.inboundMapper!.pause();
        expect((await send(`${base}${src.ingest_path}`, { body: octopushDr('oct-twice'), type: 'application/json' })).status).toBe(200);
        const [stored] = (await b.api('GET', `/v1/sources/${src.id}/requests`)).body.data as { id: string; state: string }[];
        expect(stored!.state).toBe('stored');

        const outcomes = await Promise.allSettled([a.relay.inboundMapper!.mapById(stored!.id, ['stored']), b.relay.inboundMapper!.mapById(stored!.id, ['stored'])]);
        // One may lose the race on the idempotency key's unique index (a storage error): the request stays stored for it, not failed.
        expect(outcomes.some((o) => o.status === 'fulfilled' && o.value?.state === 'mapped')).toBe(true);
        const events = await a.relay.store.db.selectFrom('events').select(['id', 'idempotency_key']).where('idempotency_key', '=', `inbound:${stored!.id}:0`).execute();
        expect(events).toHaveLength(1);
        const row = await a.relay.store.db.selectFrom('inbound_requests').selectAll().where('id', '=', stored!.id).executeTakeFirstOrThrow();
        expect(row.state).toBe('mapped');
        expect(JSON.parse(row.event_ids!)).toEqual([events[0]!.id]);
        // Mapping it again (a sweep, a replay) finds it mapped and does nothing.
        expect(await b.relay.inboundMapper!.mapById(stored!.id, ['stored'])).toBeUndefined();
        await waitUntil(() => verified.find((v) => v.data.message_id === 'oct-twice'));
        expect(verified.filter((v) => v.data.message_id === 'oct-twice')).toHaveLength(1);
      } finally {
        await a.close();
        await b.close();
        await receiver.close();
        await db.drop();
      }
    });
  });

  describe.skipIf(!backend.available)(`inbound gateway across a restart on ${backend.name}`, () => {
    it('a request stored and answered, then the relay stopped before mapping it, is mapped and delivered after the restart', async () => {
      const db = await (backend as Backend).create();
      const { TestReceiver } = await import('../helpers/receiver.js');
      const receiver = await new TestReceiver().start();
      try {
        const first = await startTestRelay(db.url);
        const base = await first.relay.app!.listen({ port: 0, host: '127.0.0.1' });
        const cb = await createCallback(first, { title: 'std', url: `${receiver.url}/hook` });
        const verified = standardReceiver(receiver, cb.secret);
        const src = (await first.api('POST', '/v1/sources', { title: 'oct', format: 'octopush' })).body as { id: string; ingest_path: string };
        // The crash window: stored and answered, not mapped.
        first.relay.inboundMapper!.pause();
        expect(await send(`${base}${src.ingest_path}`, { body: octopushDr('oct-crash'), type: 'application/json' })).toMatchObject({ status: 200, body: '' });
        expect(first.relay.inboundMapper!.queued).toBe(1);
        const before = await first.api('GET', `/v1/sources/${src.id}/requests`);
        expect(before.body.data.map((r: { state: string }) => r.state)).toEqual(['stored']);
        await first.close();
        expect(verified).toHaveLength(0);

        const second = await startTestRelay(db.url);
        try {
          const got = await waitUntil(() => verified.find((v) => v.data.message_id === 'oct-crash'), { what: 'the delivery after the restart' });
          expect(got.type).toBe('sms.delivered');
          const after = await waitUntil(async () => {
            const l = await second.api('GET', `/v1/sources/${src.id}/requests`);
            return l.body.data[0]?.state === 'mapped' ? l.body : undefined;
          });
          expect(after.data[0].event_ids).toEqual([got.id]);
          expect(after.total).toBe(1);
        } finally {
          await second.close();
        }
      } finally {
        await receiver.close();
        await db.drop();
      }
    });
  });
}
