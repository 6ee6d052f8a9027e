import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { BACKENDS } from '../helpers/backends.js';
import type { TestRelay } from '../helpers/relay.js';
import { useRelaySuite } from '../helpers/suite.js';
import { createCallback, header, postEvent, receivedFor, waitForDelivery } from '../helpers/e2e.js';

/** Standard Webhooks on the wire: signatures, body, stable ids, rotation, static headers, redaction. */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`signatures and headers on ${backend.name}`, () => {
    let t!: TestRelay;
    const { newReceiver, tenant } = useRelaySuite(backend, {}, (relay) => {
      t = relay;
    });

    it('signs every request so that standardwebhooks verifies it; body is {type, timestamp, data}', async () => {
      const auth = await tenant('sig');
      const receiver = await newReceiver();
      const cb = await createCallback(t, { title: 'sig', url: `${receiver.url}/hook` }, auth);
      expect(cb.secret).toMatch(/^whsec_/);
      const data = { message_id: 'm-1', to: '+33600000001', text: 'héllo "quoted" \\ ✓' };
      const ids = [
        await postEvent(t, { type: 'sms.delivered', data }, auth),
        await postEvent(t, { type: 'email.open', data: { email: 'a@example.com' } }, auth),
      ];
      await receiver.waitForCount(2);
      const wh = new Webhook(cb.secret);
      for (const got of receiver.received) {
        expect(got.method).toBe('POST');
        expect(got.headers['content-type']).toMatch(/^application\/json/);
        expect(got.headers['webhook-timestamp']).toMatch(/^\d+$/);
        expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
        const payload = wh.verify(got.body, got.headers as Record<string, string>);
        expect(Object.keys(JSON.parse(got.body) as object)).toEqual(['type', 'timestamp', 'data']);
        expect(payload).toEqual(JSON.parse(got.body));
      }
      const first = receivedFor(receiver.received, ids[0]!)[0]!;
      const body = JSON.parse(first.body) as { type: string; timestamp: string; data: unknown };
      expect(body.type).toBe('sms.delivered');
      expect(body.data).toEqual(data);
      expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
      expect(receivedFor(receiver.received, ids[1]!)).toHaveLength(1);

      // A tampered body or another secret does not verify.
      expect(() => wh.verify(first.body.replace('m-1', 'm-2'), first.headers as Record<string, string>)).toThrow();
      const other = await createCallback(t, { title: 'other', url: `${receiver.url}/other`, events: ['otp.verified'] }, auth);
      expect(() => new Webhook(other.secret).verify(first.body, first.headers as Record<string, string>)).toThrow();
    });

    it('keeps the same webhook-id on every retry of an event, each retry signed afresh', async () => {
      const auth = await tenant('retry-id');
      const receiver = await newReceiver();
      const seen = new Map<string, number>();
      receiver.behaviour = (req, res) => {
        const id = String(req.headers['webhook-id']);
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        res.statusCode = n < 3 ? 500 : 200;
        res.end();
      };
      const cb = await createCallback(t, { title: 'retry-id', url: receiver.url }, auth);
      const id = await postEvent(t, { type: 'sms.undelivered', data: { n: 1 } }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.state).toBe('delivered');
      const got = receivedFor(receiver.received, id);
      expect(got).toHaveLength(3);
      expect(receiver.received).toHaveLength(3);
      const wh = new Webhook(cb.secret);
      for (const r of got) {
        expect(r.headers['webhook-id']).toBe(id);
        wh.verify(r.body, r.headers as Record<string, string>);
      }
      // The body is the same event each time.
      expect(new Set(got.map((r) => r.body)).size).toBe(1);
    });

    it('after rotate-secret sends both signatures; each secret verifies on its own', async () => {
      const auth = await tenant('rotate');
      const receiver = await newReceiver();
      const cb = await createCallback(t, { title: 'rotate', url: receiver.url }, auth);
      const oldSecret = cb.secret;
      const rotated = await t.api('POST', `/v1/callbacks/${cb.id}/rotate-secret`, {}, { auth });
      expect(rotated.status).toBe(200);
      const newSecret = rotated.body.secret as string;
      expect(newSecret).toMatch(/^whsec_/);
      expect(newSecret).not.toBe(oldSecret);

      const id = await postEvent(t, { type: 'sms.delivered', data: { rotated: true } }, auth);
      await receiver.waitForCount(1);
      const got = receiver.received[0]!;
      expect(got.headers['webhook-id']).toBe(id);
      const signature = String(got.headers['webhook-signature']);
      const parts = signature.split(' ');
      expect(parts).toHaveLength(2);
      for (const p of parts) expect(p).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);

      const headers = got.headers as Record<string, string>;
      // Both secrets verify the request as sent…
      new Webhook(newSecret).verify(got.body, headers);
      new Webhook(oldSecret).verify(got.body, headers);
      // …and each signature is the one of exactly one secret.
      const only = (sig: string) => ({ ...headers, 'webhook-signature': sig });
      const matches = (secret: string, sig: string) => {
        try {
          new Webhook(secret).verify(got.body, only(sig));
          return true;
        } catch {
          return false;
        }
      };
      expect(matches(newSecret, parts[0]!)).toBe(true);
      expect(matches(oldSecret, parts[0]!)).toBe(false);
      expect(matches(oldSecret, parts[1]!)).toBe(true);
      expect(matches(newSecret, parts[1]!)).toBe(false);
    });

    it('sends the static headers configured on the callback and redacts secrets in the recorded attempt', async () => {
      const auth = await tenant('headers');
      const receiver = await newReceiver();
      const cb = await createCallback(
        t,
        {
          title: 'headers',
          url: `${receiver.url}/in?source=relay`,
          headers: { 'X-Static': 'static-value', Authorization: 'Bearer top-secret-token', 'X-Tenant': 't-42' },
        },
        auth,
      );
      const id = await postEvent(t, { type: 'sms.delivered', data: { hdr: 1 } }, auth);
      const d = await waitForDelivery(t, id, { auth });
      expect(d.state).toBe('delivered');

      const got = receivedFor(receiver.received, id)[0]!;
      expect(got.path).toBe('/in?source=relay');
      expect(got.headers['x-static']).toBe('static-value');
      expect(got.headers['x-tenant']).toBe('t-42');
      expect(got.headers['authorization']).toBe('Bearer top-secret-token');
      new Webhook(cb.secret).verify(got.body, got.headers as Record<string, string>);

      expect(d.attempts_list).toHaveLength(1);
      const sent = d.attempts_list[0]!.request;
      expect(header(sent.headers, 'webhook-signature')).toBe('[redacted]');
      expect(header(sent.headers, 'authorization')).toBe('[redacted]');
      expect(header(sent.headers, 'x-static')).toBe('static-value');
      expect(header(sent.headers, 'webhook-id')).toBe(id);
      expect(sent.body).toBe(got.body);
      // Nothing secret anywhere in the record.
      const record = JSON.stringify(await t.api('GET', `/v1/deliveries/${d.id}`, undefined, { auth }).then((r) => r.body));
      expect(record).not.toContain('top-secret-token');
      expect(record).not.toContain(String(got.headers['webhook-signature']).slice(3));
      expect(record).not.toContain(cb.secret);
    });
  });
}
