import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import type { TestRelay } from '../helpers/relay.js';
import { useRelaySuite } from '../helpers/suite.js';
import { createCallback, header, postEvent, waitForDelivery } from '../helpers/e2e.js';
import { engagelabEmailReceiver, engagelabReceiver, octopushReceiver, whispirReceiver } from '../helpers/vendor-receivers.js';

/** Vendor wire formats end to end: receivers written from the vendors' documents accept our requests. */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`vendor formats on ${backend.name}`, () => {
    let t!: TestRelay;
    const { newReceiver, tenant } = useRelaySuite(backend, {}, (relay) => {
      t = relay;
    });

    describe('engagelab-email', () => {
      it('signs with md5(timestamp + appkey + key); delivery events carry status, engagement events response; itime in ms', async () => {
        const auth = await tenant('ele');
        const receiver = await newReceiver();
        let key = '';
        const vendor = engagelabEmailReceiver(() => key, { status: 204 });
        receiver.behaviour = vendor.behaviour;
        const cb = await createCallback(t, { title: 'mail', url: `${receiver.url}/mail`, format: 'engagelab-email' }, auth);
        expect(cb).toMatchObject({ format: 'engagelab-email', timeout: 3, events: expect.arrayContaining(['email.delivered', 'email.open']) });
        key = (await t.api('GET', `/v1/callbacks/${cb.id}/secret`, undefined, { auth })).body.secret;
        expect(key).toBe(cb.secret);

        const delivered = await postEvent(
          t,
          {
            type: 'email.delivered',
            data: { message_id: 'em-1', from: 'shop@example.com', to: 'ann@example.com', subject: 'Hi', task_id: 7, api_user: 'mail-user', email_id: 'e-1', message: '250 ok', event_time: '2026-01-02T03:04:05.678Z' },
            custom_args: { order: 'A-1' },
          },
          auth,
        );
        const opened = await postEvent(t, { type: 'email.open', data: { message_id: 'em-1', to: 'ann@example.com', email_id: 'e-1', ip: '203.0.113.9' } }, auth);
        expect((await waitForDelivery(t, delivered, { auth })).state).toBe('delivered');
        const d2 = await waitForDelivery(t, opened, { auth });
        expect(d2.state).toBe('delivered');
        expect(d2.attempts_list[0]!.response!.status).toBe(204);
        expect(vendor.rejected).toHaveLength(0);
        expect(vendor.accepted).toHaveLength(2);

        const del = vendor.accepted.find((a) => a.body.status)!;
        expect(header(del.req.headers as Record<string, string>, 'X-WebHook-AppKey')).toBe('email');
        expect(del.body).toEqual({
          message_id: 'em-1',
          from: 'shop@example.com',
          subject: 'Hi',
          to: 'ann@example.com',
          server: 'email',
          itime: Date.parse('2026-01-02T03:04:05.678Z'),
          custom_args: { order: 'A-1' },
          status: {
            message_status: 'deliver',
            status_data: { message: '250 ok', task_id: 7, api_user: 'mail-user', from: 'shop@example.com', subject: 'Hi', tos: ['ann@example.com'], email_ids: ['e-1'], label_id: null },
          },
        });
        const open = vendor.accepted.find((a) => a.body.response)!;
        expect(open.body).toMatchObject({ message_id: 'em-1', server: 'email', response: { event: 'open', response_data: { email_id: 'e-1', ip: '203.0.113.9' } } });
        expect(open.body).not.toHaveProperty('status');
        expect(String(open.body.itime)).toMatch(/^\d{13}$/);

        // The signature is redacted in the recorded attempt.
        const sent = d2.attempts_list[0]!.request.headers;
        expect(header(sent, 'X-WebHook-Signature')).toBe('[redacted]');
        expect(JSON.stringify(d2)).not.toContain(key);
      });

      it('signs with HMAC-SHA256(key, timestamp) as a setting; anything but 200/204 is retried', async () => {
        const auth = await tenant('ele-hmac');
        const receiver = await newReceiver();
        const key = 'my-shared-email-key';
        const vendor = engagelabEmailReceiver(() => key, { scheme: 'hmac-sha256' });
        let n = 0;
        receiver.behaviour = (req, res, i) => (n++ === 0 ? ((res.statusCode = 202), res.end()) : vendor.behaviour(req, res, i));
        await createCallback(t, { title: 'mail', url: receiver.url, format: 'engagelab-email', signature: 'hmac-sha256', secret: key, events: [4] }, auth);
        const id = await postEvent(t, { type: 'email.invalid', data: { message_id: 'em-2', to: 'x@example.com', sub_status: 406 } }, auth);
        const d = await waitForDelivery(t, id, { auth });
        expect(d.state).toBe('delivered');
        expect(d.attempts_list.map((a) => a.outcome)).toEqual(['retryable', 'success']);
        expect(vendor.accepted[0]!.body.status).toMatchObject({ message_status: 'invalid', status_data: { sub_status: 406 } });
      });
    });

    describe('format fields in the callbacks API', () => {
      it('refuses fields of another format; a format change re-validates subscriptions, secrets and the timeout', async () => {
        const auth = await tenant('fields');
        const receiver = await newReceiver();
        expect422(await t.api('POST', '/v1/callbacks', { title: 's', url: receiver.url, username: 'u' }, { auth }), 'username');
        expect422(await t.api('POST', '/v1/callbacks', { title: 's', url: receiver.url, format: 'octopush', secret: 'x' }, { auth }), 'secret');
        expect422(await t.api('POST', '/v1/callbacks', { title: 's', url: receiver.url, format: 'octopush', timezone: 'Mars/Base' }, { auth }), 'timezone');
        expect422(await t.api('POST', '/v1/callbacks', { title: 's', url: receiver.url, retry_schedule: ['soon'] }, { auth }), 'retry_schedule[0]');
        const std = await createCallback(t, { title: 's', url: receiver.url, events: ['sms.delivered', 'otp.sent'], retry_schedule: ['0s', '1m'] }, auth);
        expect(std.settings).toEqual({ retry_schedule: ['0s', '1m'] });
        // otp.sent cannot go to octopush: the change is refused and nothing changes.
        expect422(await t.api('PATCH', `/v1/callbacks/${std.id}`, { format: 'octopush' }, { auth }), 'events');
        const oct = await t.api('PATCH', `/v1/callbacks/${std.id}`, { format: 'octopush', events: ['sms.delivered'] }, { auth });
        expect(oct.body).toMatchObject({ format: 'octopush', timeout: 1, events: ['sms.delivered'], settings: {} });
        expectConflict(await t.api('GET', `/v1/callbacks/${std.id}/secret`, undefined, { auth }));
        expectConflict(await t.api('POST', `/v1/callbacks/${std.id}/rotate-secret`, undefined, { auth }));
        const mail = await t.api('PATCH', `/v1/callbacks/${std.id}`, { format: 'engagelab-email', events: [] }, { auth });
        expect(mail.body.events).toHaveLength(9);
        expect((await t.api('GET', `/v1/callbacks/${std.id}/secret`, undefined, { auth })).body.secret).toMatch(/^[0-9a-f]{32}$/);
        const back = await t.api('PATCH', `/v1/callbacks/${std.id}`, { format: 'standard' }, { auth });
        expect(back.status).toBe(200);
        expect((await t.api('GET', `/v1/callbacks/${std.id}/secret`, undefined, { auth })).body.secret).toMatch(/^whsec_/);
      });
    });

    describe('engagelab', () => {
      it('sends {total, rows} with X-CALLBACK-ID and the Authorization value; one row kind per event family; itime in seconds', async () => {
        const auth = await tenant('el');
        const receiver = await newReceiver();
        const vendor = engagelabReceiver('acme', 's3cret-otp', 'Bearer tok-123');
        receiver.behaviour = vendor.behaviour;
        const cb = await createCallback(
          t,
          { title: 'otp', url: `${receiver.url}/otp`, format: 'engagelab', username: 'acme', secret: 's3cret-otp', authorization: 'Bearer tok-123' },
          auth,
        );
        expect(cb).not.toHaveProperty('secret');
        expect(cb).toMatchObject({ timeout: 3, settings: { username: 'acme', authorization: '[redacted]', secret_set: true } });
        expectConflict(await t.api('GET', `/v1/callbacks/${cb.id}/secret`, undefined, { auth }));

        const ids = [
          await postEvent(
            t,
            {
              type: 'otp.verified',
              data: { message_id: 'otp-1', to: '+6591234567', template_key: 'login', business_id: 'b-1', channel_used: 'whatsapp', cost: 0.01, currency: 'USD', event_time: 1767322245, send_time: 1767322240 },
              custom_args: { user: 42 },
            },
            auth,
          ),
          await postEvent(t, { type: 'alert.insufficient_balance', data: { business_id: 'b-1', remain_balance: 3.5, balance_threshold: 10 } }, auth),
          await postEvent(t, { type: 'sms.inbound', data: { message_id: 'mo-1', from: '+6590000000', to: '+6591111111', text: 'YES', business_id: 'b-1' } }, auth),
          await postEvent(t, { type: 'system.account_login', data: { business_id: 'b-1', org_id: 'o-1', operator_email: 'ops@example.com', operator_ip: '198.51.100.7' } }, auth),
        ];
        for (const id of ids) expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
        expect(vendor.rejected).toHaveLength(0);
        // Events due together may share a request (see the batching test); every row arrives once.
        for (const a of vendor.accepted) {
          expect(a.body.total).toBe(a.body.rows.length);
          for (const r of a.body.rows) expect(String(r.itime)).toMatch(/^\d{10}$/);
        }
        const rows = vendor.accepted.flatMap((a) => a.body.rows);
        expect(rows).toHaveLength(4);
        expect(rows.find((r) => r.status)).toEqual({
          message_id: 'otp-1',
          to: '+6591234567',
          server: 'otp',
          channel: 'whatsapp',
          itime: 1767322245,
          custom_args: { user: 42 },
          status: {
            message_status: 'verified',
            status_data: { msg_time: 1767322240, message_id: 'otp-1', current_send_channel: 'whatsapp', template_key: 'login', business_id: 'b-1' },
            billing: { cost: 0.01, currency: 'USD' },
            error_code: 0,
            error_detail: { message: '' },
          },
        });
        expect(rows.find((r) => r.notification).notification).toEqual({
          event: 'insufficient_balance',
          notification_data: { business_id: 'b-1', remain_balance: 3.5, balance_threshold: 10 },
        });
        expect(rows.find((r) => r.response)).toMatchObject({
          message_id: 'mo-1',
          business_id: 'b-1',
          response: { event: 'uplink_message', response_data: { message_sid: 'mo-1', from: '+6590000000', to: '+6591111111', body: 'YES' } },
        });
        expect(rows.find((r) => r.system_event).system_event).toMatchObject({
          event: 'account_login',
          data: { business_id: 'b-1', org_id: 'o-1', operator: { email: 'ops@example.com', api_key: null, ip_address: '198.51.100.7' } },
        });

        // Secrets never reach the attempt record.
        const d = await waitForDelivery(t, ids[0]!, { auth });
        const h = d.attempts_list[0]!.request.headers;
        expect(header(h, 'X-CALLBACK-ID')).toBe('[redacted]');
        expect(header(h, 'Authorization')).toBe('[redacted]');
        expect(JSON.stringify(d)).not.toContain('tok-123');
      });

      it('refresh: POST {} answered 200 within 3 s is available, anything else unavailable, shown on the callback', async () => {
        const auth = await tenant('el-refresh');
        const receiver = await newReceiver();
        const vendor = engagelabReceiver('u', 'k', null);
        receiver.behaviour = vendor.behaviour;
        const cb = await createCallback(t, { title: 'otp', url: receiver.url, format: 'engagelab', username: 'u', secret: 'k' }, auth);
        expect(cb.status).toBe('unknown');
        const ok = await t.api('POST', `/v1/callbacks/${cb.id}/refresh`, undefined, { auth });
        expect(ok.status).toBe(200);
        expect(ok.body).toMatchObject({ status: 'available', status_reason: null });
        expect(Date.parse(ok.body.status_checked_at)).toBeGreaterThan(Date.now() - 60_000);
        const check = receiver.received.at(-1)!;
        expect(check.method).toBe('POST');
        expect(check.body).toBe('{}');

        receiver.behaviour = (_req, res) => ((res.statusCode = 204), res.end());
        const bad = await t.api('POST', `/v1/callbacks/${cb.id}/refresh`, undefined, { auth });
        expect(bad.body.status).toBe('unavailable');
        expect(bad.body.status_reason).toContain('204');
        expect((await t.api('GET', `/v1/callbacks/${cb.id}`, undefined, { auth })).body.status).toBe('unavailable');
      });

      it('requires https except to loopback/private hosts; refuses events it cannot carry; a username needs a secret', async () => {
        const auth = await tenant('el-rules');
        const post = (body: Record<string, unknown>) => t.api('POST', '/v1/callbacks', { title: 'x', format: 'engagelab', ...body }, { auth });
        expect422(await post({ url: 'http://example.com/cb' }), 'url');
        expect((await post({ url: 'https://example.com/cb' })).status).toBe(201);
        expect((await post({ url: 'http://127.0.0.1:9/cb' })).status).toBe(201);
        expect422(await post({ url: 'https://example.com/cb', events: ['email.open'] }), 'events');
        expect422(await post({ url: 'https://example.com/cb', username: 'u' }), 'secret');
        expect422(await post({ url: 'https://example.com/cb', encoding: 'form' }), 'encoding');
        expect422(await post({ url: 'https://example.com/cb', username: 'a;b', secret: 'k' }), 'username');
      });
    });

    describe('octopush', () => {
      it('posts delivery receipts, replies and opt-outs to their own URLs with the documented fields; 1 s default timeout', async () => {
        const auth = await tenant('oct');
        const receiver = await newReceiver();
        const vendor = octopushReceiver();
        receiver.behaviour = vendor.behaviour;
        const cb = await createCallback(
          t,
          { title: 'sms', url: `${receiver.url}/dr`, format: 'octopush', urls: { reply: `${receiver.url}/mo`, opt_out: `${receiver.url}/stop` } },
          auth,
        );
        expect(cb.timeout).toBe(1);
        const at = '2026-03-04T05:06:07Z';
        const ids = [
          await postEvent(t, { type: 'sms.delivered', data: { message_id: 'sms-1', to: '+33600000001', event_time: at }, custom_args: { ref: 'x' } }, auth),
          await postEvent(t, { type: 'sms.undelivered', data: { message_id: 'sms-2', to: '+33600000002', raw_status: 'BLACKLISTED_NUMBER' } }, auth),
          await postEvent(t, { type: 'sms.inbound', data: { message_id: 'sms-1', from: '+33600000001', to: '+33700000000', text: 'Oui', event_time: at } }, auth),
          await postEvent(t, { type: 'sms.opt_out', data: { message_id: 'sms-1', from: '+33600000001', text: 'STOP', event_time: at } }, auth),
        ];
        for (const id of ids) expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
        const byPath = (p: string) => vendor.got.filter((g) => g.path === p);
        expect(byPath('/dr').map((g) => g.kind)).toEqual(['delivery', 'delivery']);
        expect(byPath('/dr')[0]!.fields).toEqual({
          channel: 'sms',
          message_id: 'sms-1',
          number: '+33600000001',
          status: 'DELIVERED',
          delivery_date: '2026-03-04 05:06:07',
          meta_data: { ref: 'x' },
        });
        expect(byPath('/dr')[1]!.fields.status).toBe('BLACKLISTED_NUMBER');
        expect(byPath('/mo')).toHaveLength(1);
        expect(byPath('/mo')[0]!.fields).toEqual({
          message_id: 'sms-1',
          number: '+33600000001',
          text: 'Oui',
          sim_card_number: '+33700000000',
          reception_date: '2026-03-04 05:06:07',
          answer_date: '2026-03-04 05:06:07',
        });
        expect(byPath('/stop')[0]!.fields).toEqual({ message_id: 'sms-1', number: '+33600000001', text: 'STOP', stop_date: '2026-03-04 05:06:07' });
      });

      it('form-encodes as a setting, in a chosen time zone; one shared URL tells the kinds apart by their date field', async () => {
        const auth = await tenant('oct-form');
        const receiver = await newReceiver();
        const vendor = octopushReceiver();
        receiver.behaviour = vendor.behaviour;
        await createCallback(t, { title: 'sms', url: receiver.url, format: 'octopush', encoding: 'form', timezone: 'Europe/Paris', timeout: 5 }, auth);
        const id = await postEvent(t, { type: 'sms.rejected', data: { message_id: 'sms-9', to: '+33600000009', event_time: '2026-07-01T10:00:00Z' } }, auth);
        await postEvent(t, { type: 'sms.opt_out', data: { message_id: 'sms-9', from: '+33600000009' } }, auth);
        await receiver.waitForCount(2);
        expect((await waitForDelivery(t, id, { auth })).state).toBe('delivered');
        const dr = vendor.got.find((g) => g.kind === 'delivery')!;
        expect(dr.contentType).toMatch(/^application\/x-www-form-urlencoded/);
        expect(dr.fields).toMatchObject({ status: 'NOT_ALLOWED', number: '+33600000009', delivery_date: '2026-07-01 12:00:00', meta_data: '{}' });
        expect(vendor.got.map((g) => g.kind).sort()).toEqual(['delivery', 'stop']);
      });
    });

    describe('whispir', () => {
      it('checks the URL with a GET on creation: refused (422) with the reason unless it answers 200', async () => {
        const auth = await tenant('wh-check');
        const receiver = await newReceiver();
        const vendor = whispirReceiver('k-123');
        receiver.behaviour = vendor.behaviour;
        const bad = await t.api('POST', '/v1/callbacks', { title: 'w', url: receiver.url, format: 'whispir', auth: { type: 'querystring', key: 'wrong' } }, { auth });
        expect422(bad, 'url');
        expect(bad.body.message).toContain('403');
        expect422(await t.api('POST', '/v1/callbacks', { title: 'w', url: receiver.url, format: 'whispir' }, { auth }), 'auth');
        const ok = await t.api('POST', '/v1/callbacks', { title: 'w', url: receiver.url, format: 'whispir', auth: { type: 'httpheader', key: 'k-123' } }, { auth });
        expect(ok.status).toBe(201);
        expect(ok.body).not.toHaveProperty('secret');
        expect(ok.body).toMatchObject({ status: 'available', settings: { auth: { type: 'httpheader', key_set: true }, content_type: 'json', retries_enabled: true } });
        expect(JSON.stringify(ok.body)).not.toContain('k-123');
        expect(vendor.checks).toHaveLength(1);
        expect((await t.api('GET', '/v1/callbacks?format=whispir', undefined, { auth })).body.total).toBe(1);
        // Refresh is the same GET.
        expect((await t.api('POST', `/v1/callbacks/${ok.body.id}/refresh`, undefined, { auth })).body.status).toBe('available');
        expect(vendor.checks).toHaveLength(2);
      });

      it('posts replies as documented with customParameters; key in the query string, redacted in attempts', async () => {
        const auth = await tenant('wh-json');
        const receiver = await newReceiver();
        const vendor = whispirReceiver('key-q');
        receiver.behaviour = vendor.behaviour;
        const cb = await createCallback(t, { title: 'replies', url: `${receiver.url}/cb.php`, format: 'whispir', auth: { type: 'querystring', key: 'key-q' } }, auth);
        const id = await postEvent(
          t,
          {
            type: 'sms.inbound',
            data: { message_id: 'ABC4857BCCF484575FCA', message_location: 'https://api.example.com/messages/ABC4857BCCF484575FCA', from: '0430984567', contact_name: 'Fred Waters', text: 'Yes, I accept.', event_time: '2013-01-09T13:22:00Z' },
            custom_args: { shift: 'night', site: 'B' },
          },
          auth,
        );
        const d = await waitForDelivery(t, id, { auth });
        expect(d.state).toBe('delivered');
        expect(vendor.callbacks).toHaveLength(1);
        expect(vendor.callbacks[0]!.req.path).toBe('/cb.php?auth=key-q');
        expect(vendor.callbacks[0]!.body).toEqual({
          messageid: 'ABC4857BCCF484575FCA',
          messagelocation: 'https://api.example.com/messages/ABC4857BCCF484575FCA',
          from: { name: 'Fred Waters', mri: '', mobile: '0430984567', email: '', voice: '' },
          responseMessage: { channel: 'SMS', acknowledged: '09/01/13 13:22', content: 'Yes, I accept.' },
          customParameters: { shift: 'night', site: 'B' },
        });
        expect(d.attempts_list[0]!.request.url).not.toContain('key-q');
        expect(JSON.stringify(d)).not.toContain('key-q');
        expect(cb.id).toMatch(/^cb_/);
      });

      it('sends XML (ns2:deliveryResponse) with the key in X-Whispir-Callback-Key, redacted in attempts', async () => {
        const auth = await tenant('wh-xml');
        const receiver = await newReceiver();
        const vendor = whispirReceiver('key-h');
        receiver.behaviour = vendor.behaviour;
        await createCallback(t, { title: 'x', url: receiver.url, format: 'whispir', content_type: 'xml', auth: { type: 'httpheader', key: 'key-h' }, callbacks: { reply: false } }, auth);
        const id = await postEvent(t, { type: 'sms.undelivered', data: { message_id: 'M1', to: '0400000000', text: 'Shift <B> & "C"' }, custom_args: { a: '1' } }, auth);
        const d = await waitForDelivery(t, id, { auth });
        expect(d.state).toBe('delivered');
        const xml = vendor.callbacks[0]!.body as string;
        expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8" standalone="yes"\?><ns2:deliveryResponse xmlns:ns2="http:\/\/schemas.api.whispir.com">/);
        expect(xml).toContain('<messageid>M1</messageid>');
        expect(xml).toContain('<mobile>0400000000</mobile>');
        expect(xml).toMatch(/<responseMessage><channel>SMS<\/channel><undeliverable>[^<]+<\/undeliverable><content>Shift &lt;B&gt; &amp; &quot;C&quot;<\/content><\/responseMessage>/);
        expect(xml).toContain('<customParameters><entry><key>a</key><value>1</value></entry></customParameters>');
        expect(header(d.attempts_list[0]!.request.headers, 'X-Whispir-Callback-Key')).toBe('[redacted]');
        // Replies were switched off: an inbound SMS does not go to it.
        const sub = await t.api('GET', '/v1/callbacks?format=whispir', undefined, { auth });
        expect(sub.body.data[0].events).not.toContain('sms.inbound');
      });

      it('lists calls by status in Whispir shape; failed calls can be marked handled', async () => {
        const auth = await tenant('wh-calls');
        const receiver = await newReceiver();
        let fail = true;
        const vendor = whispirReceiver('kk', { status: () => (fail ? 500 : 200) });
        receiver.behaviour = vendor.behaviour;
        const cb = await createCallback(t, { title: 'calls', url: receiver.url, format: 'whispir', auth: { type: 'querystring', key: 'kk' } }, auth);
        const failed = await postEvent(t, { type: 'sms.inbound', data: { message_id: 'F1', from: '0411111111', text: 'no' } }, auth);
        await waitForDelivery(t, failed, { auth, pred: (d) => d.attempts >= 1 && !d.in_flight, what: 'a failed attempt' });
        fail = false;
        const okId = await postEvent(t, { type: 'sms.inbound', data: { message_id: 'S1', from: '0422222222', text: 'yes' } }, auth);
        await waitForDelivery(t, okId, { auth, pred: (d) => d.state === 'delivered' });

        const failedCalls = await t.api('GET', `/v1/callbacks/${cb.id}/calls?status=FAILED`, undefined, { auth });
        expect(failedCalls.status).toBe(200);
        expect(failedCalls.body.calls.length).toBeGreaterThanOrEqual(1);
        const call = failedCalls.body.calls.at(-1);
        expect(call).toMatchObject({
          messageId: 'F1',
          status: 'FAILED',
          via: 'SMS',
          from: { mobile: '0411111111' },
          responseMessage: { channel: 'SMS', content: 'no' },
          callback: { id: cb.id, name: 'calls', statusCode: 500 },
        });
        expect(call.callback.url).not.toContain('kk');
        const success = await t.api('GET', `/v1/callbacks/${cb.id}/calls?status=SUCCESS`, undefined, { auth });
        expect(success.body.calls.some((c: any) => c.messageId === 'S1' && c.status === 'SUCCESS')).toBe(true);
        expect(success.body.calls.every((c: any) => c.status === 'SUCCESS')).toBe(true);

        const ids = failedCalls.body.calls.map((c: any) => Number(c.id));
        const put = await t.api('PUT', `/v1/callbacks/${cb.id}/calls?${ids.map((i: number) => `id=${i}`).join('&')}`, { status: 'HANDLED' }, { auth });
        expect(put.status).toBe(200);
        expect(put.body.count).toBe(ids.length);
        const remaining = (await t.api('GET', `/v1/callbacks/${cb.id}/calls?status=FAILED`, undefined, { auth })).body.calls.filter((c: any) => ids.includes(Number(c.id)));
        expect(remaining).toHaveLength(0);
        const handled = await t.api('GET', `/v1/callbacks/${cb.id}/calls?status=HANDLED`, undefined, { auth });
        expect(handled.body.calls.map((c: any) => c.status)).toEqual(ids.map(() => 'HANDLED'));
        expect((await t.api('PUT', `/v1/callbacks/${cb.id}/calls`, { status: 'HANDLED', ids }, { auth })).body.count).toBe(0);
        expect422(await t.api('PUT', `/v1/callbacks/${cb.id}/calls`, { status: 'HANDLED' }, { auth }), 'ids');
        expect422(await t.api('GET', `/v1/callbacks/${cb.id}/calls?status=MAYBE`, undefined, { auth }), 'querystring.status');
      });

      it('stores the retry schedule: every 5 min for 24 h, or one attempt with retries disabled', async () => {
        const auth = await tenant('wh-retry');
        const receiver = await newReceiver();
        receiver.behaviour = whispirReceiver('r').behaviour;
        const on = await createCallback(t, { title: 'on', url: receiver.url, format: 'whispir', auth: { type: 'querystring', key: 'r' } }, auth);
        // Shown as durations, like a schedule sent; the worker gets the delays in ms.
        const sched = on.settings as { retry_schedule: string[] };
        expect(sched.retry_schedule).toHaveLength(289);
        expect(sched.retry_schedule[0]).toBe('0s');
        // 288 × 5 min = 24 h.
        expect(new Set(sched.retry_schedule.slice(1))).toEqual(new Set(['5m']));
        await t.relay.registry!.reload();
        const stored = t.relay.registry!.get(on.id)!.settings.retry_schedule as number[];
        expect([stored.length, stored[0], stored.slice(1).reduce((a, b) => a + b, 0)]).toEqual([289, 0, 24 * 3_600_000]);
        const off = await t.api('PATCH', `/v1/callbacks/${on.id}`, { retries_enabled: false }, { auth });
        expect(off.body.settings).toMatchObject({ retries_enabled: false, retry_schedule: ['0s'] });
        const custom = await t.api('PATCH', `/v1/callbacks/${on.id}`, { retries_enabled: true, retry_schedule: ['0s', '1m', '10m'] }, { auth });
        expect(custom.body.settings).toMatchObject({ retries_enabled: true, retry_schedule: ['0s', '1m', '10m'] });
      });
    });
  });
}

function expect422(res: { status: number; body: any }, field: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  expect(res.body).toMatchObject({ code: 'invalid', field });
}

function expectConflict(res: { status: number; body: any }) {
  expect(res.status, JSON.stringify(res.body)).toBe(409);
  expect(res.body.code).toBe('conflict');
}
