import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { BACKENDS } from '../helpers/backends.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

// Behind a TLS proxy the relay sees plain http from the proxy; RELAY_TRUST_PROXY says whose
// X-Forwarded-Proto / -Host to believe. Requests here come from 127.0.0.1 (inject).
const backend = BACKENDS.find((b) => b.name === 'sqlite')!;
const FORWARDED = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'relay.example.com' };
const TWILIO_TOKEN = 'trust-proxy-twilio-token';

function relayWith(trust: string | undefined) {
  const h: { t: TestRelay; drop: () => Promise<void> } = {} as never;
  beforeAll(async () => {
    const db = await backend.create();
    h.drop = db.drop;
    h.t = await startTestRelay(db.url, { env: trust === undefined ? {} : { RELAY_TRUST_PROXY: trust } });
  });
  afterAll(async () => {
    await h.t?.close();
    await h.drop?.();
  });
  return h;
}

/** Signs in with the forwarded headers; the Set-Cookie header. */
async function signInCookie(t: TestRelay): Promise<string> {
  const me = await t.newTenant(`proxy-${Math.random().toString(36).slice(2, 8)}`);
  const r = await t.api('POST', '/v1/sessions', { api_user: me.apiUser, api_key: me.apiKey }, { auth: '', headers: FORWARDED });
  expect(r.status).toBe(201);
  return String(r.headers['set-cookie']);
}

/** A Twilio source; a status callback signed for the public https URL, posted through the "proxy". */
async function twilioThroughProxy(t: TestRelay): Promise<{ ingestUrl: string; status: number }> {
  const src = await t.api('POST', '/v1/sources', { title: 'twilio', format: 'twilio', settings: { auth_token: TWILIO_TOKEN } }, { headers: FORWARDED });
  expect(src.status).toBe(201);
  const path = (src.body as { ingest_path: string }).ingest_path;
  const params = { MessageSid: 'SM00000000000000000000000000000001', MessageStatus: 'delivered', AccountSid: 'AC00000000000000000000000000000001', To: '+33600000003' };
  const signature = twilio.getExpectedTwilioSignature(TWILIO_TOKEN, `https://relay.example.com${path}`, params);
  const res = await t.relay.app!.inject({
    method: 'POST',
    url: path,
    headers: { ...FORWARDED, 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    payload: new URLSearchParams(params).toString(),
  });
  return { ingestUrl: (src.body as { ingest_url: string }).ingest_url, status: res.statusCode };
}

describe.skipIf(!backend.available)('RELAY_TRUST_PROXY', () => {
  describe('1 (every peer)', () => {
    const h = relayWith('1');
    it('the forwarded scheme makes the session cookie Secure', async () => {
      expect(await signInCookie(h.t)).toMatch(/; Secure$/);
    });
    it('ingest URLs carry the public scheme and host, and Twilio signatures of that URL verify', async () => {
      const r = await twilioThroughProxy(h.t);
      expect(r.ingestUrl).toMatch(/^https:\/\/relay\.example\.com\/inbound\//);
      expect(r.status).toBe(200);
    });
  });

  describe('a list without this peer', () => {
    const h = relayWith('10.0.0.0/8');
    it('forwarded headers from elsewhere are ignored: no Secure, the URL as received, the signature refused', async () => {
      expect(await signInCookie(h.t)).not.toContain('Secure');
      const r = await twilioThroughProxy(h.t);
      expect(r.ingestUrl).toMatch(/^http:\/\/localhost(:\d+)?\/inbound\//);
      expect(r.status).toBe(401);
    });
  });

  describe('a list with this peer', () => {
    const h = relayWith('10.0.0.0/8,127.0.0.1');
    it('is believed', async () => {
      expect(await signInCookie(h.t)).toMatch(/; Secure$/);
      expect((await twilioThroughProxy(h.t)).status).toBe(200);
    });
  });

  describe('unset (the default)', () => {
    const h = relayWith(undefined);
    it('believes no one', async () => {
      expect(await signInCookie(h.t)).not.toContain('Secure');
      expect((await twilioThroughProxy(h.t)).status).toBe(401);
    });
  });
});
