import { afterAll, describe, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { TestReceiver } from '../helpers/receiver.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';
import { createCallback, deliveriesOf, postEvent, sleep, waitForDelivery, waitUntil } from '../helpers/e2e.js';
import { FakeClock } from '../../src/lib/clock.js';

/**
 * The circuit breaker, timed with a fake clock: after a run of consecutive failures a callback gets
 * nothing for a cool-down (its waiting deliveries are not charged attempts), then one probe; a failed
 * probe doubles the cool-down, a successful one resumes everything.
 */
for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`circuit breaker on ${backend.name}`, () => {
    const relays: TestRelay[] = [];
    const receivers: TestReceiver[] = [];
    const drops: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const r of receivers) await r.close();
      for (const t of relays) await t.close().catch(() => {});
      for (const d of drops) await d();
    });

    it('opens after 3 failures, holds for 30 s, probes once, backs off to 60 s, closes on a successful probe', async ({ expect }) => {
      const db = await backend.create();
      drops.push(db.drop);
      const clock = new FakeClock(Date.UTC(2026, 2, 1, 12));
      // Ten immediate attempts: only the breaker stops them.
      const t = await startTestRelay(db.url, { retrySchedule: Array(10).fill(0), circuitFailures: 3, circuitCooldownMs: 30_000, circuitMaxCooldownMs: 600_000 }, { clock });
      relays.push(t);
      const receiver = await new TestReceiver().start();
      receivers.push(receiver);
      let healthy = false;
      receiver.behaviour = (_req, res) => {
        res.statusCode = healthy ? 200 : 500;
        res.end();
      };
      const cb = await createCallback(t, { title: 'breaker', url: receiver.url });
      const first = await postEvent(t, { type: 'sms.sent', data: { n: 1 } });
      await waitForDelivery(t, first, { pred: (d) => d.attempts === 3 && !d.in_flight, what: 'three failed attempts' });
      const openUntil = async () => (await t.api('GET', `/v1/callbacks/${cb.id}/notifications`)).body.health.circuit_open_until as string | null;
      expect(await openUntil()).toBe(new Date(clock.now() + 30_000).toISOString());

      // Open: nothing is sent, not even the owed retry, and it is not charged an attempt.
      await sleep(700);
      expect(receiver.received).toHaveLength(3);
      expect((await deliveriesOf(t, first))[0]).toMatchObject({ state: 'pending', attempts: 3 });

      // Cool-down over: half-open, one probe. It fails: open again, for twice as long (60 s).
      clock.advance(30_000);
      await receiver.waitForCount(4);
      await sleep(700);
      expect(receiver.received).toHaveLength(4);
      expect(await openUntil()).toBe(new Date(clock.now() + 60_000).toISOString());

      // New events wait too, uncharged, while the circuit is open.
      const later = [await postEvent(t, { type: 'sms.sent', data: { n: 2 } }), await postEvent(t, { type: 'sms.sent', data: { n: 3 } })];
      clock.advance(30_000);
      await sleep(700);
      expect(receiver.received).toHaveLength(4);
      for (const id of later) expect((await deliveriesOf(t, id))[0]).toMatchObject({ state: 'pending', attempts: 0 });

      // The next probe succeeds: the circuit closes and everything owed goes out.
      healthy = true;
      clock.advance(30_000);
      for (const id of [first, ...later]) expect((await waitForDelivery(t, id)).state).toBe('delivered');
      expect(receiver.received).toHaveLength(7);
      const attempts = await Promise.all([first, ...later].map(async (id) => (await deliveriesOf(t, id))[0]!.attempts));
      // 3 failures + 1 failed probe + the delivery = 5 for the first; the others were only charged their one success.
      expect(attempts).toEqual([5, 1, 1]);
      await waitUntil(async () => (await openUntil()) === null, { what: 'the circuit to close' });
    });
  });
}
