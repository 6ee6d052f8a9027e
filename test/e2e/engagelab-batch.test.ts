import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { engagelabReceiver } from '../helpers/vendor-receivers.js';
import { createCallback, postEvent, waitForDelivery } from '../helpers/e2e.js';

/**
 * EngageLab's envelope carries several rows: deliveries of one engagelab callback that are due
 * together share a request, at most `max_rows` rows each, and each delivery records the attempt.
 */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`engagelab batching on ${backend.name}`, () => {
    let url: string;
    let drop: () => Promise<void>;
    let receiver: TestReceiver;
    const relays: TestRelay[] = [];
    beforeAll(async () => {
      const db = await backend.create();
      url = db.url;
      drop = db.drop;
      receiver = await new TestReceiver().start();
    });
    afterAll(async () => {
      for (const r of relays) await r.close();
      await receiver.close();
      await drop?.();
    });

    it('sends 7 due deliveries as requests of 3, 3 and 1 rows, each row once, each delivery recorded', async () => {
      const vendor = engagelabReceiver('acme', 'k-secret', null);
      receiver.behaviour = vendor.behaviour;
      // The API alone stores the events; the worker starts later and finds all seven due at once.
      const api = await startTestRelay(url, { roles: ['api'] });
      relays.push(api);
      const cb = await createCallback(api, { title: 'otp', url: `${receiver.url}/otp`, format: 'engagelab', username: 'acme', secret: 'k-secret', max_rows: 3 });
      expect(cb.settings).toMatchObject({ max_rows: 3 });
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push(await postEvent(api, { type: 'otp.delivered', data: { message_id: `m-${i}`, to: '+6590000000' } }));
      await api.close();
      relays.pop();

      const full = await startTestRelay(url);
      relays.push(full);
      for (const id of ids) expect((await waitForDelivery(full, id)).state).toBe('delivered');
      expect(vendor.rejected).toHaveLength(0);
      expect(vendor.accepted.map((a) => a.body.total).sort()).toEqual([1, 3, 3]);
      for (const a of vendor.accepted) expect(a.body.rows).toHaveLength(a.body.total);
      const messageIds = vendor.accepted.flatMap((a) => a.body.rows.map((r: { message_id: string }) => r.message_id)).sort();
      expect(messageIds).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4', 'm-5', 'm-6']);
      const attempts = await full.relay.store.db.selectFrom('attempts').select(['delivery_id', 'response_status']).where('callback_id', '=', cb.id).execute();
      expect(attempts).toHaveLength(7);
      expect(new Set(attempts.map((a) => a.delivery_id)).size).toBe(7);
      expect(attempts.every((a) => a.response_status === 200)).toBe(true);
    });

    it('refuses max_rows on other formats and outside 1-500', async () => {
      const t = await startTestRelay(url);
      relays.push(t);
      const std = await t.api('POST', '/v1/callbacks', { title: 's', url: receiver.url, max_rows: 3 });
      expect(std.status).toBe(422);
      expect(std.body.field).toBe('max_rows');
      const big = await t.api('POST', '/v1/callbacks', { title: 'e', url: receiver.url, format: 'engagelab', max_rows: 501 });
      expect(big.status).toBe(422);
    });
  });
}
