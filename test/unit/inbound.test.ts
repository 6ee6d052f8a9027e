import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { Webhook } from 'standardwebhooks';
import type { InboundRequest, StoredRequest } from '../../src/inbound/module.js';
import { fromWallClock } from '../../src/inbound/module.js';
import { SOURCE_FORMATS, sourceFormat } from '../../src/inbound/registry.js';
import { parseReceipt } from '../../src/inbound/smpp.js';
import { redactQuery } from '../../src/api/routes/inbound.js';
import { renderOctopush } from '../../src/formats/octopush.js';
import { renderEngagelab } from '../../src/formats/engagelab.js';
import { renderWhispir } from '../../src/formats/whispir.js';
import { renderTwilio } from '../../src/formats/twilio.js';
import { standardFormat } from '../../src/formats/standard.js';
import type { Callback } from '../../src/routing/callback.js';
import type { RenderEvent } from '../../src/formats/types.js';

/**
 * The inbound formats' parsers, verifiers and answers, on payloads written from the vendors' documents
 * (reference/wire-formats.md), and on what the relay's own outbound formats send (the parsers are
 * their inverse). Signatures are made with the vendors' packages where one exists (twilio, standardwebhooks).
 */

const req = (body: string, contentType: string, extra: Partial<StoredRequest> = {}): StoredRequest => ({
  method: 'POST',
  headers: { 'content-type': contentType, ...(extra.headers ?? {}) },
  query: extra.query ?? '',
  body,
  ...(extra.method ? { method: extra.method } : {}),
});
const map = (format: string, r: StoredRequest, settings: Record<string, unknown> = {}) => sourceFormat(format)!.map(r, settings);
const events = (format: string, r: StoredRequest, settings: Record<string, unknown> = {}) => {
  const out = map(format, r, settings);
  if ('error' in out) throw new Error(out.error);
  return out.events;
};

describe('octopush', () => {
  it('maps delivery receipts (JSON and form), replies and opt-outs; dates in the source time zone', () => {
    const dr = { channel: 'sms', message_id: 'oct-1', number: '+33600000001', status: 'DELIVERED', delivery_date: '2026-07-01 12:00:00', meta_data: { order: '42' } };
    expect(events('octopush', req(JSON.stringify(dr), 'application/json'))).toEqual([
      {
        type: 'sms.delivered',
        resource_id: 'oct-1',
        data: { message_id: 'oct-1', to: '+33600000001', channel: 'sms', raw_status: 'DELIVERED', event_time: '2026-07-01T12:00:00.000Z' },
        custom_args: { order: '42' },
      },
    ]);
    const form = new URLSearchParams({ ...dr, status: 'NOT_DELIVERED', meta_data: '{"order":"43"}' }).toString();
    const [undelivered] = events('octopush', req(form, 'application/x-www-form-urlencoded'), { timezone: 'Europe/Paris' });
    expect(undelivered).toMatchObject({ type: 'sms.undelivered', custom_args: { order: '43' }, data: { event_time: '2026-07-01T10:00:00.000Z' } });
    for (const [status, type] of [
      ['ACK', 'sms.sent'],
      ['NOT_ALLOWED', 'sms.rejected'],
      ['BLACKLISTED_NUMBER', 'sms.rejected'],
      ['UNKNOWN_DELIVERY', 'sms.unknown'],
      ['BAD_DESTINATION', 'sms.target_invalid'],
      ['UNDEFINED', 'sms.send_failed'],
    ]) {
      expect(events('octopush', req(JSON.stringify({ ...dr, status }), 'application/json'))[0]!.type).toBe(type);
    }
    const reply = { message_id: 'oct-2', number: '+33600000002', text: 'Oui', sim_card_number: '+33700000000', reception_date: '2026-07-01 12:01:00' };
    expect(events('octopush', req(JSON.stringify(reply), 'application/json'))[0]).toMatchObject({
      type: 'sms.inbound',
      data: { from: '+33600000002', to: '+33700000000', text: 'Oui', event_time: '2026-07-01T12:01:00.000Z' },
    });
    // The overview page's name for the reply date.
    expect(events('octopush', req(new URLSearchParams({ ...reply, reception_date: '', answer_date: '2026-07-01 12:01:00' }).toString(), 'application/x-www-form-urlencoded'))[0]!.type).toBe('sms.inbound');
    const stop = { message_id: 'oct-3', number: '+33600000003', text: 'STOP', stop_date: '2026-07-01 12:02:00' };
    expect(events('octopush', req(JSON.stringify(stop), 'application/json'))[0]).toMatchObject({ type: 'sms.opt_out', data: { from: '+33600000003', text: 'STOP' } });
    // A GET's query string.
    expect(events('octopush', req('', '', { method: 'GET', query: new URLSearchParams(dr as never).toString() }))[0]!.type).toBe('sms.delivered');
  });

  it('says why it cannot map: an unknown status, no date field, no fields', () => {
    expect(map('octopush', req(JSON.stringify({ message_id: 'x', status: 'WEIRD', delivery_date: '2026-07-01 12:00:00' }), 'application/json'))).toEqual({
      error: expect.stringContaining('unknown delivery status "WEIRD"'),
    });
    expect(map('octopush', req(JSON.stringify({ message_id: 'x' }), 'application/json'))).toEqual({ error: expect.stringContaining('no delivery_date') });
    expect(map('octopush', req('<xml/>', 'text/xml'))).toEqual({ error: expect.stringContaining('neither JSON nor form') });
  });
});

describe('engagelab', () => {
  const statusRow = {
    message_id: 'el-1',
    to: '+8613800000000',
    server: 'otp',
    channel: 'sms',
    itime: 1782907200,
    custom_args: { k: 'v' },
    status: {
      message_status: 'verified',
      status_data: { msg_time: 1782907100, message_id: 'el-1', current_send_channel: 'whatsapp', template_key: 'tpl', business_id: 'b1' },
      billing: { cost: 0.05, currency: 'USD' },
      error_code: 0,
      error_detail: { message: '' },
    },
  };

  it('maps every row kind of {total, rows}: status (otp and sms), notification, uplink, system event', () => {
    const body = {
      total: 5,
      rows: [
        statusRow,
        { ...statusRow, server: 'sms', status: { ...statusRow.status, message_status: 'delivered_failed', error_code: 4001, error_detail: { message: 'absent' } } },
        { server: 'otp', itime: 1782907200, notification: { event: 'insufficient_balance', notification_data: { business_id: 'b1', remain_balance: 3, balance_threshold: 10 } } },
        { server: 'sms', itime: 1782907200, message_id: 'mo-1', business_id: 'b1', response: { event: 'uplink_message', response_data: { message_sid: 'mo-1', account_sid: 'a1', from: '+1', to: '+2', body: 'hi' } } },
        { server: 'otp', itime: 1782907200, system_event: { event: 'account_login', data: { business_id: 'b1', org_id: 'o1', operator: { email: 'a@b.c', api_key: 'k', ip_address: '1.2.3.4' }, browser: 'x' } } },
      ],
    };
    const got = events('engagelab', req(JSON.stringify(body), 'application/json'));
    expect(got.map((e) => e.type)).toEqual(['otp.verified', 'sms.undelivered', 'alert.insufficient_balance', 'sms.inbound', 'system.account_login']);
    expect(got[0]).toEqual({
      type: 'otp.verified',
      resource_id: 'el-1',
      custom_args: { k: 'v' },
      data: {
        message_id: 'el-1',
        to: '+8613800000000',
        server: 'otp',
        channel: 'sms',
        channel_used: 'whatsapp',
        template_key: 'tpl',
        business_id: 'b1',
        cost: 0.05,
        currency: 'USD',
        raw_status: 'verified',
        error_code: 0,
        event_time: '2026-07-01T12:00:00.000Z',
        send_time: '2026-07-01T11:58:20.000Z',
      },
    });
    expect(got[1]!.data).toMatchObject({ error_code: 4001, error_message: 'absent' });
    expect(got[2]!.data).toMatchObject({ business_id: 'b1', remain_balance: 3, balance_threshold: 10 });
    expect(got[3]).toMatchObject({ resource_id: 'mo-1', data: { from: '+1', to: '+2', text: 'hi' } });
    expect(got[4]!.data).toMatchObject({ operator_email: 'a@b.c', operator_ip: '1.2.3.4', detail: { browser: 'x' } });
  });

  it('names the row it cannot map', () => {
    const body = { total: 2, rows: [statusRow, { ...statusRow, server: 'sms', status: { ...statusRow.status, message_status: 'verified' } }] };
    expect(map('engagelab', req(JSON.stringify(body), 'application/json'))).toEqual({ error: expect.stringMatching(/^rows\[1\]: unknown message_status "verified"/) });
    expect(map('engagelab', req('{"a":1}', 'application/json'))).toEqual({ error: expect.stringContaining('{"total": N, "rows": [...]}') });
  });

  it('verifies X-CALLBACK-ID (username, HMAC, timestamp) and the Authorization value; {} is its URL check', () => {
    const mod = sourceFormat('engagelab')!;
    const settings = mod.resolve({ username: 'shop', secret: 's3cret', authorization: 'Bearer abc' }, {});
    const now = 1_782_907_200_000;
    const header = (ts: number, user = 'shop', secret = 's3cret') =>
      `timestamp=${ts};nonce=n0nce;username=${user};signature=${createHmac('sha256', secret).update(`${ts}n0nce${user}`).digest('hex')}`;
    const r = (h: Record<string, string>): InboundRequest => ({ ...req('{"total":0,"rows":[]}', 'application/json', { headers: h }), url: 'http://x/inbound/t' });
    expect(mod.verify(r({ 'x-callback-id': header(now / 1000), authorization: 'Bearer abc' }), settings, now)).toBeNull();
    expect(mod.verify(r({ 'x-callback-id': header(now / 1000, 'shop', 'other'), authorization: 'Bearer abc' }), settings, now)).toMatch(/signature/);
    expect(mod.verify(r({ 'x-callback-id': header(now / 1000, 'other'), authorization: 'Bearer abc' }), settings, now)).toMatch(/username/);
    expect(mod.verify(r({ 'x-callback-id': header(now / 1000 - 301), authorization: 'Bearer abc' }), settings, now)).toMatch(/timestamp/);
    expect(mod.verify(r({ 'x-callback-id': header(now / 1000) }), settings, now)).toMatch(/Authorization/);
    expect(mod.isCheck!({ ...req('{}', 'application/json'), url: '' })).toBe(true);
    expect(() => mod.resolve({ username: 'shop' }, {})).toThrow(/secret/);
  });
});

describe('whispir', () => {
  const json = {
    messageid: 'wh-1',
    messagelocation: 'https://api.whispir.com/messages/wh-1',
    from: { name: 'Jo', mri: 'jo@mri', mobile: '+61400000000', email: 'jo@example.com', voice: '' },
    responseMessage: { channel: 'SMS', acknowledged: '01/07/26 22:00', content: 'Yes please' },
    customParameters: { order: '42' },
  };
  it('maps JSON and XML replies and undeliverable notices; dates dd/MM/yy HH:mm in the source time zone', () => {
    expect(events('whispir', req(JSON.stringify(json), 'application/json'), { timezone: 'Australia/Sydney' })[0]).toEqual({
      type: 'sms.inbound',
      resource_id: 'wh-1',
      custom_args: { order: '42' },
      data: {
        message_id: 'wh-1',
        message_location: 'https://api.whispir.com/messages/wh-1',
        contact_name: 'Jo',
        contact_mri: 'jo@mri',
        contact_email: 'jo@example.com',
        contact_mobile: '+61400000000',
        from: '+61400000000',
        text: 'Yes please',
        event_time: '2026-07-01T12:00:00.000Z',
      },
    });
    const xml =
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><ns2:deliveryResponse xmlns:ns2="http://schemas.api.whispir.com">' +
      '<messageid>wh-2</messageid><messagelocation/><from><name>Jo</name><mri/><mobile>+61400000000</mobile><email/><voice/></from>' +
      '<responseMessage><channel>SMS</channel><undeliverable>01/07/26 12:00</undeliverable><content>Fish &amp; chips</content></responseMessage>' +
      '<customParameters><entry><key>order</key><value>42</value></entry></customParameters></ns2:deliveryResponse>';
    expect(events('whispir', req(xml, 'application/xml'))[0]).toMatchObject({
      type: 'sms.undelivered',
      custom_args: { order: '42' },
      data: { message_id: 'wh-2', to: '+61400000000', text: 'Fish & chips', event_time: '2026-07-01T12:00:00.000Z' },
    });
    const email = { ...json, responseMessage: { channel: 'Email', undeliverable: '01/07/26 12:00', content: 'bounced' } };
    expect(events('whispir', req(JSON.stringify(email), 'application/json'))[0]).toMatchObject({ type: 'email.invalid', data: { to: 'jo@example.com' } });
    expect(map('whispir', req(JSON.stringify({ ...json, responseMessage: { channel: 'Email', acknowledged: 'x', content: '' } }), 'application/json'))).toEqual({
      error: expect.stringContaining('inbound SMS only'),
    });
  });

  it('verifies the key as ?auth= or X-Whispir-Callback-Key; its GET is the URL check', () => {
    const mod = sourceFormat('whispir')!;
    const r = (query: string, headers: Record<string, string> = {}): InboundRequest => ({ ...req('{}', 'application/json', { query, headers }), url: '' });
    expect(mod.verify(r('auth=k3y'), { key: 'k3y' }, 0)).toBeNull();
    expect(mod.verify(r('', { 'x-whispir-callback-key': 'k3y' }), { key: 'k3y' }, 0)).toBeNull();
    expect(mod.verify(r('auth=nope'), { key: 'k3y' }, 0)).not.toBeNull();
    expect(mod.verify(r(''), { key: 'k3y' }, 0)).not.toBeNull();
    expect(mod.isCheck!({ ...r('auth=k3y'), method: 'GET' })).toBe(true);
    expect(redactQuery('a=1&auth=k3y&b=2')).toBe('a=1&auth=%5Bredacted%5D&b=2');
  });
});

describe('twilio', () => {
  const token = 'twilio-token-unit';
  const url = 'https://relay.example.com/inbound/tok?x=1';
  const params = { MessageSid: 'SM1', SmsSid: 'SM1', MessageStatus: 'delivered', SmsStatus: 'delivered', AccountSid: 'AC1', From: '+1500', To: '+3360', ApiVersion: '2010-04-01' };
  const signed = (p: Record<string, string>, sig: string): InboundRequest => ({
    ...req(new URLSearchParams(p).toString(), 'application/x-www-form-urlencoded', { headers: { 'x-twilio-signature': sig }, query: 'x=1' }),
    url,
  });

  it("accepts what the twilio package signs, refuses another token or altered parameters", () => {
    const mod = sourceFormat('twilio')!;
    const sig = twilio.getExpectedTwilioSignature(token, url, params);
    expect(mod.verify(signed(params, sig), { auth_token: token }, 0)).toBeNull();
    expect(mod.verify(signed(params, twilio.getExpectedTwilioSignature('other', url, params)), { auth_token: token }, 0)).not.toBeNull();
    expect(mod.verify(signed({ ...params, MessageStatus: 'failed' }, sig), { auth_token: token }, 0)).not.toBeNull();
    expect(mod.verify(signed(params, ''), { auth_token: token }, 0)).toMatch(/no X-Twilio-Signature/);
    // Behind a proxy: the URL as configured at Twilio.
    const publicUrl = 'https://public.example.com/inbound/tok';
    const viaProxy = { ...signed(params, twilio.getExpectedTwilioSignature(token, `${publicUrl}?x=1`, params)), url: 'http://10.0.0.1:8080/inbound/tok?x=1' };
    expect(mod.verify(viaProxy, { auth_token: token }, 0)).not.toBeNull();
    expect(mod.verify(viaProxy, { auth_token: token, url: publicUrl }, 0)).toBeNull();
  });

  it('maps MessageStatus onto the catalogue; received is an inbound reply; answers empty TwiML', () => {
    const of = (p: Record<string, string>) => events('twilio', signed(p, ''))[0]!;
    expect(of(params)).toEqual({ type: 'sms.delivered', resource_id: 'SM1', data: { message_id: 'SM1', from: '+1500', to: '+3360', raw_status: 'delivered', account_sid: 'AC1' } });
    expect(of({ ...params, MessageStatus: 'undelivered', ErrorCode: '30003' })).toMatchObject({ type: 'sms.undelivered', data: { error_code: 30003 } });
    for (const [status, type] of [
      ['queued', 'sms.queued'],
      ['sent', 'sms.sent'],
      ['failed', 'sms.send_failed'],
    ]) {
      expect(of({ ...params, MessageStatus: status! }).type).toBe(type);
    }
    expect(of({ ...params, MessageStatus: 'received', Body: 'Hello' })).toMatchObject({ type: 'sms.inbound', data: { text: 'Hello', from: '+1500' } });
    expect(map('twilio', signed({ ...params, MessageStatus: 'read' }, ''))).toEqual({ error: expect.stringContaining('"read" is not mapped') });
    expect(sourceFormat('twilio')!.answer).toEqual({ status: 200, contentType: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response/>' });
  });
});

describe('smpp', () => {
  const text = 'id:0123456789 sub:001 dlvrd:001 submit date:2607011200 done date:2607011201 stat:DELIVRD err:000 text:Hello world';

  it('parses the receipt text (body, form field or query) and maps stat onto the catalogue', () => {
    expect(parseReceipt(text)).toEqual({ id: '0123456789', sub: '001', dlvrd: '001', 'submit date': '2607011200', 'done date': '2607011201', stat: 'DELIVRD', err: '000', text: 'Hello world' });
    expect(events('smpp', req(text, 'text/plain'))[0]).toEqual({
      type: 'sms.delivered',
      resource_id: '0123456789',
      data: { message_id: '0123456789', raw_status: 'DELIVRD', error_code: 0, sub: '001', dlvrd: '001', send_time: '2026-07-01T12:00:00.000Z', event_time: '2026-07-01T12:01:00.000Z', text: 'Hello world' },
    });
    const form = new URLSearchParams({ short_message: text.replace('DELIVRD', 'UNDELIV').replace('err:000', 'err:034'), source_addr: '+33600000001', destination_addr: 'SHOP' }).toString();
    expect(events('smpp', req(form, 'application/x-www-form-urlencoded'))[0]).toMatchObject({ type: 'sms.undelivered', data: { to: '+33600000001', from: 'SHOP', error_code: 34 } });
    for (const [stat, type] of [
      ['EXPIRED', 'sms.expired'],
      ['DELETED', 'sms.deleted'],
      ['ACCEPTD', 'sms.sent'],
      ['ENROUTE', 'sms.sent'],
      ['UNKNOWN', 'sms.unknown'],
      ['REJECTD', 'sms.rejected'],
      ['NOROUTE', 'sms.undelivered'],
    ]) {
      expect(events('smpp', req('', '', { method: 'GET', query: new URLSearchParams({ dlr: text.replace('DELIVRD', stat!) }).toString() }))[0]!.type).toBe(type);
    }
  });

  it("an unknown stat is unmapped until settings.statuses names it", () => {
    const odd = text.replace('DELIVRD', 'DELIVERD');
    expect(map('smpp', req(odd, 'text/plain'))).toEqual({ error: expect.stringContaining('unknown stat "DELIVERD"') });
    const settings = sourceFormat('smpp')!.resolve({ statuses: { deliverd: 'sms.delivered' } }, {});
    expect(events('smpp', req(odd, 'text/plain'), settings)[0]!.type).toBe('sms.delivered');
    expect(() => sourceFormat('smpp')!.resolve({ statuses: { X: 'email.open' } }, {})).toThrow(/sms\.\* event type/);
    expect(map('smpp', req('hello', 'text/plain'))).toEqual({ error: expect.stringContaining('not an SMPP delivery receipt') });
  });
});

describe('standard', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const body = JSON.stringify({ type: 'sms.delivered', timestamp: '2026-07-01T12:00:00.000Z', data: { message_id: 'm-1', to: '+1' } });
  const signedBy = (wh: Webhook, id: string, at: Date): InboundRequest => ({
    ...req(body, 'application/json', { headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': wh.sign(id, at, body) } }),
    url: '',
  });

  it('verifies what the standardwebhooks package signs, with its 5-minute tolerance both ways', () => {
    const mod = sourceFormat('standard')!;
    const now = Date.UTC(2026, 6, 1, 12);
    const wh = new Webhook(secret);
    expect(mod.verify(signedBy(wh, 'msg_1', new Date(now)), { secret }, now)).toBeNull();
    expect(mod.verify(signedBy(wh, 'msg_1', new Date(now - 299_000)), { secret }, now)).toBeNull();
    expect(mod.verify(signedBy(wh, 'msg_1', new Date(now - 301_000)), { secret }, now)).toMatch(/too old/);
    expect(mod.verify(signedBy(wh, 'msg_1', new Date(now + 301_000)), { secret }, now)).toMatch(/too new/);
    expect(mod.verify(signedBy(new Webhook('whsec_' + Buffer.from('another-secret-of-24-bytes!').toString('base64')), 'msg_1', new Date(now)), { secret }, now)).toMatch(/no webhook-signature/);
    const tampered = signedBy(wh, 'msg_1', new Date(now));
    expect(mod.verify({ ...tampered, body: body.replace('m-1', 'm-2') }, { secret }, now)).not.toBeNull();
    // Rotation: several signatures, one of which verifies.
    const two = signedBy(wh, 'msg_2', new Date(now));
    two.headers['webhook-signature'] = `v1,AAAA ${two.headers['webhook-signature']}`;
    expect(mod.verify(two, { secret }, now)).toBeNull();
  });

  it('passes catalogue types through, keyed by webhook-id; refuses other types', () => {
    const r = req(body, 'application/json', { headers: { 'webhook-id': 'msg_1' } });
    expect(events('standard', r)).toEqual([
      { type: 'sms.delivered', resource_id: 'm-1', dedupe: 'msg_1', data: { message_id: 'm-1', to: '+1', event_time: '2026-07-01T12:00:00.000Z' } },
    ]);
    expect(map('standard', req(JSON.stringify({ type: 'invoice.paid', data: {} }), 'application/json'))).toEqual({ error: expect.stringContaining('not in the catalogue') });
  });
});

describe('the parsers invert the outbound formats', () => {
  const event = (type: string, data: Record<string, unknown>): RenderEvent => ({ id: 'evt_1', type, createdAt: Date.UTC(2026, 6, 1, 12), data, resourceId: null, customArgs: { order: '42' } });
  const cb = (format: string, settings: Record<string, unknown> = {}, secret = ''): Callback =>
    ({ id: 'cb_1', url: 'https://r.example.com/in', format, method: 'POST', headers: {}, settings, secret, timeoutMs: 1000, previousSecret: null, previousSecretExpiresAt: null }) as unknown as Callback;
  const asRequest = (r: { headers: Record<string, string>; body: string; url: string }): StoredRequest => ({
    method: 'POST',
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v])),
    query: new URL(r.url).search.slice(1),
    body: r.body,
  });

  it('octopush (json, form), engagelab, whispir (json, xml), twilio and standard: the type and message id come back', () => {
    const cases: [string, (e: RenderEvent) => { headers: Record<string, string>; body: string; url: string }, string][] = [
      ['octopush', (e) => renderOctopush(e, cb('octopush'), 0), 'sms.delivered'],
      ['octopush', (e) => renderOctopush(e, cb('octopush', { encoding: 'form' }), 0), 'sms.undelivered'],
      ['octopush', (e) => renderOctopush(e, cb('octopush'), 0), 'sms.opt_out'],
      ['engagelab', (e) => renderEngagelab([e], cb('engagelab'), 0), 'sms.delivered'],
      ['engagelab', (e) => renderEngagelab([e], cb('engagelab'), 0), 'otp.verified'],
      ['whispir', (e) => renderWhispir(e, cb('whispir', { content_type: 'json' }, 'k'), 0), 'sms.inbound'],
      ['whispir', (e) => renderWhispir(e, cb('whispir', { content_type: 'xml' }, 'k'), 0), 'sms.undelivered'],
      ['twilio', (e) => renderTwilio(e, cb('twilio', { account_sid: 'AC1' }, 't'), 0), 'sms.delivered'],
      ['twilio', (e) => renderTwilio(e, cb('twilio', { account_sid: 'AC1' }, 't'), 0), 'sms.inbound'],
      ['standard', (e) => standardFormat.render(e, cb('standard', {}, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), 0), 'email.open'],
    ];
    for (const [format, render, type] of cases) {
      const sent = render(event(type, { message_id: 'm-7', to: '+33600000007', from: '+33600000008', text: 'hi' }));
      const got = events(format, asRequest(sent));
      expect(got, `${format} ${type}`).toHaveLength(1);
      expect(got[0]!.type, `${format} ${type}`).toBe(type);
      expect(got[0]!.data.message_id, `${format} ${type}`).toBe('m-7');
    }
  });
});

describe('registry', () => {
  it('every format describes its fields and answer; secrets are write-only fields', () => {
    for (const m of SOURCE_FORMATS) {
      expect(m.answer.status).toBeGreaterThanOrEqual(200);
      for (const k of m.secretSettings) expect(m.fields.find((f) => f.key === k)?.write_only, `${m.name}.${k}`).toBe(true);
    }
    expect(fromWallClock(2026, 7, 1, 14, 0, 0, 'Europe/Paris')).toBe(Date.UTC(2026, 6, 1, 12));
    expect(fromWallClock(2026, 1, 15, 14, 0, 0, 'Europe/Paris')).toBe(Date.UTC(2026, 0, 15, 13));
  });
});
