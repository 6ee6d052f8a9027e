import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, postEvent, sleep, waitForDelivery } from '../helpers/e2e.js';

/**
 * The SSRF guard at send time. Saving a loopback callback is refused when private networks are not
 * allowed (the sender itself is covered by test/delivery/http.test.ts), so the callback here was
 * saved by a relay that allowed them, and is then delivered by one restarted without.
 */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`SSRF guard at send time on ${backend.name}`, () => {
    const relays: TestRelay[] = [];
    const cleanups: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const r of relays) await r.close().catch(() => {});
      for (const c of cleanups) await c();
    });

    it('a loopback callback saved earlier is not called once private networks are not allowed: blocked_destination, permanent', async () => {
      const db = await backend.create();
      cleanups.push(db.drop);
      const receiver = await new TestReceiver().start();
      cleanups.unshift(() => receiver.close());

      const before = await startTestRelay(db.url);
      relays.push(before);
      const cb = await createCallback(before, { title: 'loopback', url: `${receiver.url}/hook` });
      await before.close();

      const after = await startTestRelay(db.url, { allowPrivateNetworks: false });
      relays.push(after);
      expect(after.relay.config.allowPrivateNetworks).toBe(false);
      // Saving it now would be refused…
      const again = await after.api('POST', '/v1/callbacks', { title: 'loopback again', url: `${receiver.url}/hook` });
      expect(again.status).toBe(422);
      // …but the saved one still receives events, and the sender refuses to call it.
      const id = await postEvent(after, { type: 'sms.delivered', data: { ssrf: true } });
      const d = await waitForDelivery(after, id);
      expect(d.callback_id).toBe(cb.id);
      expect(d.state).toBe('failed');
      expect(d.attempts).toBe(1);
      expect(d.last_error).toBe('blocked_destination');
      expect(d.last_status).toBeNull();
      const attempt = d.attempts_list[0]!;
      expect(attempt.outcome).toBe('permanent');
      expect(attempt.error?.class).toBe('blocked_destination');
      expect(attempt.response).toBeNull();
      // No retry follows, and nothing ever reached the receiver.
      await sleep(500);
      expect((await waitForDelivery(after, id)).attempts).toBe(1);
      expect(receiver.received).toHaveLength(0);
      // A blocked destination fails the delivery; it does not disable the callback.
      const read = await after.api('GET', `/v1/callbacks/${cb.id}`);
      expect(read.body.enabled).toBe(true);
    });
  });
}
