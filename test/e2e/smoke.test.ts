import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`smoke on ${backend.name}`, () => {
    let t: TestRelay;
    let receiver: TestReceiver;
    let drop: () => Promise<void>;
    beforeAll(async () => {
      const db = await backend.create();
      drop = db.drop;
      t = await startTestRelay(db.url);
      receiver = await new TestReceiver().start();
    });
    afterAll(async () => {
      await t?.close();
      await receiver?.close();
      await drop?.();
    });

    it('delivers a posted event, signed per Standard Webhooks', async () => {
      const cb = await t.api('POST', '/v1/callbacks', { title: 'smoke', url: `${receiver.url}/hook` });
      expect(cb.status).toBe(201);
      const ev = await t.api('POST', '/v1/events', { type: 'sms.delivered', data: { to: '+33600000000' } });
      expect(ev.status).toBe(202);
      await receiver.waitForCount(1);
      const got = receiver.received[0]!;
      const wh = new Webhook(cb.body.secret);
      const payload = wh.verify(got.body, got.headers as Record<string, string>) as { type: string; data: unknown };
      expect(payload.type).toBe('sms.delivered');
      expect(payload.data).toEqual({ to: '+33600000000' });
      expect(got.headers['webhook-id']).toBe(ev.body.id);
    });
  });
}
