import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { BACKENDS } from '../helpers/backends.js';
import type { TestRelay } from '../helpers/relay.js';
import type { Received, TestReceiver } from '../helpers/receiver.js';
import { useRelaySuite } from '../helpers/suite.js';
import { createCallback, postEvent, waitForDelivery } from '../helpers/e2e.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-auth-token-e2e-1';

/**
 * A receiver written from Twilio's documents, not from our code: it checks X-Twilio-Signature with the
 * official `twilio` package's validateRequest (the full URL it was called at, the POST parameters) and
 * answers 403 to a request that fails it, 200 otherwise.
 */
function twilioReceiver(receiver: TestReceiver, token: () => string) {
  const accepted: { req: Received; params: Record<string, string> }[] = [];
  const rejected: Received[] = [];
  receiver.behaviour = (req, res) => {
    const params = Object.fromEntries(new URLSearchParams(req.body));
    const signature = String(req.headers['x-twilio-signature'] ?? '');
    const ok =
      req.headers['content-type'] === 'application/x-www-form-urlencoded' &&
      twilio.validateRequest(token(), signature, `${receiver.url}${req.path}`, params);
    if (ok) accepted.push({ req, params });
    else rejected.push(req);
    res.statusCode = ok ? 200 : 403;
    res.end();
  };
  return { accepted, rejected };
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`twilio format on ${backend.name}`, () => {
    let t!: TestRelay;
    const { newReceiver, tenant } = useRelaySuite(backend, { env: { RELAY_MASTER_KEY: 'twilio-test-master-key-0123456789' } }, (relay) => {
      t = relay;
    });

    it('posts Twilio status callbacks the twilio package validates: statuses, SIDs, error code, replies', async () => {
      const auth = await tenant('tw');
      const receiver = await newReceiver();
      const vendor = twilioReceiver(receiver, () => TOKEN);
      const url = `${receiver.url}/twilio/status?site=eu`;
      const cb = await createCallback(t, { title: 'tw', url, format: 'twilio', account_sid: ACCOUNT, auth_token: TOKEN }, auth);
      expect(cb).toMatchObject({ format: 'twilio', timeout: 15, settings: { account_sid: ACCOUNT, auth_token_set: true } });
      expect(cb.secret).toBeUndefined();
      expect(JSON.stringify(cb)).not.toContain(TOKEN);

      const delivered = await postEvent(t, { type: 'sms.delivered', data: { message_id: 'SM11111111111111111111111111111111', from: '+15005550006', to: '+33600000001' } }, auth);
      const failed = await postEvent(t, { type: 'sms.undelivered', data: { message_id: 'SM2', from: 'Shop & Co', to: '+33600000002', error_code: 30003 } }, auth);
      const reply = await postEvent(t, { type: 'sms.inbound', data: { message_id: 'SM3', from: '+33600000003', to: '+15005550006', text: 'Oui, merci ! 👍' } }, auth);
      for (const id of [delivered, failed, reply]) expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
      expect(vendor.rejected).toHaveLength(0);
      expect(vendor.accepted).toHaveLength(3);

      const by = (sid: string) => vendor.accepted.find((a) => a.params.MessageSid === sid)!.params;
      expect(by('SM11111111111111111111111111111111')).toEqual({
        MessageSid: 'SM11111111111111111111111111111111',
        SmsSid: 'SM11111111111111111111111111111111',
        MessageStatus: 'delivered',
        SmsStatus: 'delivered',
        AccountSid: ACCOUNT,
        From: '+15005550006',
        To: '+33600000001',
        ApiVersion: '2010-04-01',
      });
      expect(by('SM2')).toMatchObject({ MessageStatus: 'undelivered', SmsStatus: 'undelivered', ErrorCode: '30003', From: 'Shop & Co' });
      expect(by('SM3')).toMatchObject({ MessageStatus: 'received', Body: 'Oui, merci ! 👍' });
      expect(vendor.accepted[0]!.req.path).toBe('/twilio/status?site=eu');

      // The check fails with another token: the signature is keyed by the auth token.
      const one = vendor.accepted[0]!;
      expect(twilio.validateRequest('another-token', String(one.req.headers['x-twilio-signature']), `${receiver.url}${one.req.path}`, one.params)).toBe(false);

      // Attempt records hold no token; the signature header is redacted.
      const d = await waitForDelivery(t, delivered, { auth });
      expect(JSON.stringify(d.attempts_list)).not.toContain(TOKEN);
      expect(d.attempts_list[0]!.request.headers['X-Twilio-Signature']).toBe('[redacted]');

      // The auth token is sealed at rest (RELAY_MASTER_KEY).
      const raw = await t.relay.store.db.selectFrom('callbacks').selectAll().where('id', '=', cb.id).executeTakeFirstOrThrow();
      expect(raw.secret).toMatch(/^sealed:/);
      expect(JSON.stringify(raw)).not.toContain(TOKEN);

      // A new token signs from then on.
      const patched = await t.api('PATCH', `/v1/callbacks/${cb.id}`, { auth_token: 'rotated-token-2' }, { auth });
      expect(patched.status).toBe(200);
      const later = twilioReceiver(receiver, () => 'rotated-token-2');
      const again = await postEvent(t, { type: 'sms.sent', data: { message_id: 'SM4', to: '+33600000004' } }, auth);
      expect((await waitForDelivery(t, again, { auth })).state).toBe('delivered');
      expect(later.accepted.map((a) => a.params.MessageStatus)).toEqual(['sent']);
    });

    it('refuses what Twilio cannot say: other event types, a missing or malformed account SID, a missing token; the token is write-only', async () => {
      const auth = await tenant('tw-refuse');
      const receiver = await newReceiver();
      const base = { title: 'tw', url: `${receiver.url}/tw`, format: 'twilio', account_sid: ACCOUNT, auth_token: TOKEN };
      const err = async (body: Record<string, unknown>, field: string | RegExp) => {
        const res = await t.api('POST', '/v1/callbacks', body, { auth });
        expect(res.status, JSON.stringify(res.body)).toBe(422);
        expect(res.body.field).toMatch(field);
      };
      await err({ ...base, events: ['sms.delivered', 'email.open'] }, 'events');
      await err({ ...base, events: ['sms.opt_out'] }, 'events');
      await err({ ...base, account_sid: undefined }, 'account_sid');
      await err({ ...base, account_sid: 'XX0123456789abcdef0123456789abcdef' }, 'account_sid');
      await err({ ...base, auth_token: undefined }, 'auth_token');
      // Its fields belong to it alone.
      await err({ ...base, format: 'standard' }, /^(account_sid|auth_token)$/);

      const cb = await createCallback(t, base, auth);
      expect(cb.events).toEqual(expect.arrayContaining(['sms.queued', 'sms.sent', 'sms.delivered', 'sms.undelivered', 'sms.send_failed', 'sms.inbound']));
      expect(cb.events).not.toContain('sms.opt_out');
      const secret = await t.api('GET', `/v1/callbacks/${cb.id}/secret`, undefined, { auth });
      expect(secret.status).toBe(409);
      const read = await t.api('GET', `/v1/callbacks/${cb.id}`, undefined, { auth });
      expect(read.body.settings).toEqual({ account_sid: ACCOUNT, auth_token_set: true });
    });
  });
}
